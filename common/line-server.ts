/**
 * A long-lived helper process of runtime-native that answers requests a line each (`tersane-net
 * serve`, `tersane-spawner`): a request is `ID<TAB>FIELD<TAB>…`, its answer `ID<TAB>FIELD<TAB>…`,
 * in any order. It spares a Node service forking itself for each piece of kernel work, which costs
 * milliseconds of its event loop (the page tables of tens of MiB are copied). The helper is started
 * on first use and again after it died; the requests it held when it died fail.
 *
 * @example
 *   const net = new LineServer('/usr/lib/tersane/tersane-net', ['serve'], { name: 'tersane-net', timeoutMs: 30_000 });
 *   const [verdict, text] = await net.request(['netns-create', 'path=/run/tersane/netns/abc']);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { internal, invalidArgument } from './errors.js';

interface Pending {
  resolve: (fields: string[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One helper process and the requests it has been sent. */
interface Helper {
  child: ChildProcess;
  pending: Map<number, Pending>;
  gone: boolean;
}

export class LineServer {
  private helper?: Helper;
  private nextId = 1;

  constructor(
    private readonly command: string,
    private readonly args: string[],
    private readonly opts: { name: string; timeoutMs: number },
  ) {}

  /** Sends one request; resolves with the answer's fields (the id left out). */
  request(fields: string[]): Promise<string[]> {
    for (const f of fields) {
      if (/[\t\n\r]/.test(f)) return Promise.reject(invalidArgument(`${this.opts.name}: argument ${JSON.stringify(f)} holds a control character`));
    }
    const helper = this.running();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Stuck: this helper is done for; the next request starts another.
        fail(helper, `${this.opts.name}: no answer within ${this.opts.timeoutMs} ms`);
        helper.child.kill('SIGKILL');
      }, this.opts.timeoutMs);
      helper.pending.set(id, { resolve, reject, timer });
      helper.child.stdin!.write(`${id}\t${fields.join('\t')}\n`);
    });
  }

  /** Ends the helper (its end of input); requests under way may still be answered. */
  close(): void {
    this.helper?.child.stdin!.end();
    this.helper = undefined;
  }

  private running(): Helper {
    if (this.helper && !this.helper.gone) return this.helper;
    const child = spawn(this.command, this.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const helper: Helper = { child, pending: new Map(), gone: false };
    this.helper = helper;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => fail(helper, `${this.opts.name}: ${err.message}`));
    child.on('exit', (code, signal) => fail(helper, `${this.opts.name} exited (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim()));
    createInterface({ input: child.stdout! }).on('line', (line) => answer(helper, line));
    return helper;
  }
}

function answer(helper: Helper, line: string): void {
  const [id, ...fields] = line.split('\t');
  const p = helper.pending.get(Number(id));
  if (!p) return;
  helper.pending.delete(Number(id));
  clearTimeout(p.timer);
  p.resolve(fields);
}

/** The helper went away: every request it held fails. */
function fail(helper: Helper, why: string): void {
  helper.gone = true;
  for (const p of helper.pending.values()) {
    clearTimeout(p.timer);
    p.reject(internal(why));
  }
  helper.pending.clear();
}

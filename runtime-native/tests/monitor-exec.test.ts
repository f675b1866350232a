/**
 * tersane-monitor's EXEC, PAUSE and RESUME (PROTOCOL.md), for every available runtime: a process run
 * in the running container through a connection of its own (output, stdin, terminal and resize,
 * signals, exit codes, a failing exec), exec output kept out of the container's log, an exec that
 * outlives its container's init, and freezing the container.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACH_STDOUT, monitorRuntimes, MonitorTask, sleep, type MonitorClient, type TaskOptions } from './monitor-client.js';

const runtimes = await monitorRuntimes();
const REQ_EXEC = 0x08;
const REQ_PAUSE = 0x09;
const REQ_RESUME = 0x0a;
const EXEC_STDIN = 1;
const EXEC_TERMINAL = 2;

/** The EXEC payload: flags, then the container's own process with other args (and terminal). */
function execPayload(t: MonitorTask, args: string[], flags = 0, extra: Record<string, unknown> = {}): Buffer {
  const process = { ...t.bundle.config.process, args, terminal: Boolean(flags & EXEC_TERMINAL), ...extra };
  return Buffer.concat([Buffer.from([flags]), Buffer.from(JSON.stringify(process))]);
}

async function exec(t: MonitorTask, args: string[], flags = 0, extra: Record<string, unknown> = {}): Promise<{ c: MonitorClient; pid: number }> {
  const c = await t.connect();
  const r = await c.request(REQ_EXEC, execPayload(t, args, flags, extra));
  if (!r.ok) throw new Error(`EXEC: ${r.text}`);
  return { c, pid: JSON.parse(r.text).pid };
}

describe.each(runtimes)('tersane-monitor exec with $name', ({ path: runtime }) => {
  const tasks: MonitorTask[] = [];
  afterEach(async () => {
    for (const t of tasks.splice(0)) await t.cleanup();
  });
  async function running(opts: Partial<TaskOptions> = {}): Promise<{ t: MonitorTask; main: MonitorClient }> {
    const t = await MonitorTask.prepare(runtime, { args: ['sh', '-c', 'echo main-out; while :; do sleep 0.1; done'], ...opts });
    tasks.push(t);
    await t.launchOk();
    const main = await t.connect();
    await main.attach(ATTACH_STDOUT);
    await main.start();
    await main.waitOutput((o) => o.includes('main-out'));
    return { t, main };
  }

  it('runs a process with its own output and exit code, outside the log', async () => {
    const { t, main } = await running();
    const { c, pid } = await exec(t, ['sh', '-c', 'echo exec-out; echo exec-err >&2; exit 5']);
    expect(pid).toBeGreaterThan(0);
    const exit = await c.exited;
    expect(exit.exit_code).toBe(5);
    expect(exit.signal).toBe(0);
    expect(exit.pid).toBe(pid);
    expect(c.stdout).toBe('exec-out\n');
    expect(c.stderr).toBe('exec-err\n');
    // The container's attached client and its log see none of it; the container runs on.
    expect(main.stdout).not.toContain('exec-out');
    expect(t.logEntries().map((e) => e.log).join('')).not.toContain('exec-');
    expect((await main.status()).status).toBe('running');
    c.close();
  });

  it('takes stdin and ends it on CLOSE_STDIN', async () => {
    const { t } = await running();
    const { c } = await exec(t, ['sh', '-c', 'cat; echo eof'], EXEC_STDIN);
    c.stdin('one\ntwo\n');
    await c.waitOutput((o) => o.includes('two\n'));
    c.closeStdin();
    const exit = await c.exited;
    expect(exit.exit_code).toBe(0);
    expect(c.stdout).toBe('one\ntwo\neof\n');
  });

  it('gives a process a terminal of the asked size, and resizes it', async () => {
    const { t } = await running();
    const { c } = await exec(t, ['sh', '-c', 'stty size; read x; stty size; echo got-$x'], EXEC_TERMINAL | EXEC_STDIN, {
      consoleSize: { height: 30, width: 100 },
    });
    await c.waitOutput((o) => o.includes('30 100'));
    expect((await c.resize(40, 120)).ok).toBe(true);
    c.stdin('yes\r');
    const exit = await c.exited;
    expect(exit.exit_code).toBe(0);
    expect(c.stdout).toContain('40 120');
    expect(c.stdout).toContain('got-yes');
  });

  it('signals only the exec process', async () => {
    const { t, main } = await running();
    const { c } = await exec(t, ['sleep', '100']);
    expect((await c.signal(9)).ok).toBe(true);
    const exit = await c.exited;
    expect(exit.exit_code).toBe(137);
    expect(exit.signal).toBe(9);
    expect((await main.status()).status).toBe('running');
    // The connection ran an exec: later requests never reach the init.
    expect((await c.signal(15)).ok).toBe(false);
    expect((await main.status()).status).toBe('running');
  });

  it("fails with the runtime's words for a command that does not exist, and leaves no files", async () => {
    const { t } = await running();
    const c = await t.connect();
    const r = await c.request(REQ_EXEC, execPayload(t, ['/no/such/command']));
    expect(r.ok).toBe(false);
    expect(r.text).toMatch(/no\/such\/command|no such file/i);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(t.stateDir).filter((f) => /^exec-|^e\d+\.tty$/.test(f))).toEqual([]);
    // The connection is still usable.
    expect((await c.status()).status).toBe('running');
  });

  it('ends an exec when the container ends, and the container still reports its own exit', async () => {
    const { t, main } = await running();
    const { c } = await exec(t, ['sleep', '100']);
    expect((await main.signal(9)).ok).toBe(true);
    const [execExit, ctrExit] = await Promise.all([c.exited, main.exited]);
    expect(ctrExit.exit_code).toBe(137);
    expect(execExit.exit_code).toBe(137);
    await t.waitMonitorGone();
  });

  it('refuses EXEC once the container has exited', async () => {
    const t = await MonitorTask.prepare(runtime, { args: ['true'] });
    tasks.push(t);
    await t.launchOk();
    const c = await t.connect();
    const r = await c.request(REQ_EXEC, execPayload(t, ['true']));
    expect(r).toEqual({ ok: false, text: 'the container is not running' });
  });

  it('pauses and resumes the container', async () => {
    // The count is renamed into place: a reader never sees the file between truncation and write.
    const { t, main } = await running({ args: ['sh', '-c', 'echo main-out; i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'] });
    const counter = join(t.bundle.rootfs, 'tmp/n');
    for (let i = 0; i < 200 && !existsSync(counter); i++) await sleep(50);
    expect((await main.request(REQ_PAUSE)).ok).toBe(true);
    expect((await main.status()).status).toBe('paused');
    const frozenAt = readFileSync(counter, 'utf8');
    await sleep(500);
    expect(readFileSync(counter, 'utf8')).toBe(frozenAt);
    expect((await main.request(REQ_RESUME)).ok).toBe(true);
    expect((await main.status()).status).toBe('running');
    const { c } = await exec(t, ['cat', '/tmp/n']);
    await c.exited;
    const first = Number(c.stdout.trim());
    await sleep(300);
    const { c: c2 } = await exec(t, ['cat', '/tmp/n']);
    await c2.exited;
    expect(Number(c2.stdout.trim())).toBeGreaterThan(first);
  });

  it('kills a paused container', async () => {
    const { main } = await running();
    expect((await main.request(REQ_PAUSE)).ok).toBe(true);
    expect((await main.signal(9)).ok).toBe(true);
    const exit = await main.exited;
    expect(exit.exit_code).toBe(137);
  });
});

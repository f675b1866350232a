/**
 * Test side of tersane-monitor: a client for its control socket (PROTOCOL.md: frames of
 * `type u8 | length u32 BE | payload`), a launcher that runs a monitor for a busybox bundle in
 * temporary directories of its own, and the list of runtimes to run the monitor's tests against.
 *
 * @example
 *   const t = await MonitorTask.prepare(RUNC, { args: ['sh', '-c', 'echo hi'] });
 *   await t.launch();
 *   const c = await t.connect();
 *   await c.attach(ATTACH_STDOUT); await c.start();
 *   const exit = await c.exited;   // { exit_code: 0, … }
 *   await t.cleanup();
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxBundle, removeCgroupTree, TERSANE_MONITOR as BUNDLE_MONITOR, TERSANE_RUNTIME as BUNDLE_RUNTIME, type Bundle } from './bundle.js';

export const RUNC = '/usr/sbin/runc';

/** runtime-native/build/<name>, found from this module whether it runs from source or from dist/. */
function nativeBinary(name: string, fallback: string): string {
  if (existsSync(fallback)) return fallback;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'runtime-native', 'build', name);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return fallback;
}

export const TERSANE_MONITOR = nativeBinary('tersane-monitor', BUNDLE_MONITOR);
export const TERSANE_RUNTIME = nativeBinary('tersane-runtime', BUNDLE_RUNTIME);

export const REQ = { START: 0x01, ATTACH: 0x02, STDIN: 0x03, CLOSE_STDIN: 0x04, RESIZE: 0x05, SIGNAL: 0x06, STATUS: 0x07 } as const;
export const MSG = { RESULT: 0x81, STDOUT: 0x82, STDERR: 0x83, EXIT: 0x84 } as const;
export const ATTACH_STDIN = 1;
export const ATTACH_STDOUT = 2;
export const ATTACH_STDERR = 4;

export interface ExitRecord {
  exit_code: number;
  signal: number;
  exited_at: string;
  pid: number;
  oom_killed: boolean;
}

export interface Result {
  ok: boolean;
  text: string;
}

/** One connection to a monitor's control socket. */
export class MonitorClient {
  stdout = '';
  stderr = '';
  /** Resolves with the EXIT frame's record; rejects if the connection closes first. */
  readonly exited: Promise<ExitRecord>;
  private buf = Buffer.alloc(0);
  private pending: Array<(r: Result) => void> = [];
  private outputWaiters: Array<() => void> = [];
  private resolveExit!: (e: ExitRecord) => void;
  private rejectExit!: (e: Error) => void;
  closed = false;

  private constructor(private sock: Socket) {
    this.exited = new Promise((res, rej) => {
      this.resolveExit = res;
      this.rejectExit = rej;
    });
    this.exited.catch(() => {});
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      this.rejectExit(new Error('monitor connection closed before EXIT'));
      for (const p of this.pending.splice(0)) p({ ok: false, text: 'connection closed' });
      this.wake();
    });
    sock.on('error', () => {});
  }

  static connect(path: string): Promise<MonitorClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new MonitorClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.outputWaiters.splice(0)) w();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 5) {
      const type = this.buf[0];
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      const payload = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      if (type === MSG.RESULT) {
        const p = this.pending.shift();
        p?.({ ok: payload[0] === 0, text: payload.subarray(1).toString('utf8') });
      } else if (type === MSG.STDOUT) {
        this.stdout += payload.toString('utf8');
      } else if (type === MSG.STDERR) {
        this.stderr += payload.toString('utf8');
      } else if (type === MSG.EXIT) {
        this.resolveExit(JSON.parse(payload.toString('utf8')));
      }
      this.wake();
    }
  }

  /** Sends a frame that has no answer. */
  send(type: number, payload: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(5);
    h[0] = type;
    h.writeUInt32BE(payload.length, 1);
    this.sock.write(Buffer.concat([h, payload]));
  }

  /** Sends a request and waits for its RESULT. */
  request(type: number, payload: Buffer = Buffer.alloc(0)): Promise<Result> {
    const p = new Promise<Result>((res) => this.pending.push(res));
    this.send(type, payload);
    return p;
  }

  async start(): Promise<{ pid: number; start_begin_ns: number; start_end_ns: number }> {
    const r = await this.request(REQ.START);
    if (!r.ok) throw new Error(`START: ${r.text}`);
    return JSON.parse(r.text);
  }

  async status(): Promise<{ pid: number; status: string }> {
    const r = await this.request(REQ.STATUS);
    if (!r.ok) throw new Error(`STATUS: ${r.text}`);
    return JSON.parse(r.text);
  }

  attach(flags: number): Promise<Result> {
    return this.request(REQ.ATTACH, Buffer.from([flags]));
  }

  stdin(data: string | Buffer): void {
    this.send(REQ.STDIN, Buffer.from(data));
  }

  closeStdin(): void {
    this.send(REQ.CLOSE_STDIN);
  }

  resize(rows: number, cols: number): Promise<Result> {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(rows, 0);
    b.writeUInt16BE(cols, 2);
    return this.request(REQ.RESIZE, b);
  }

  signal(sig: number, all = false): Promise<Result> {
    return this.request(REQ.SIGNAL, Buffer.from([sig, all ? 1 : 0]));
  }

  /** Waits until stdout (+ stderr) satisfies pred. */
  async waitOutput(pred: (out: string) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.stdout + this.stderr)) {
      if (this.closed) throw new Error(`connection closed; output so far: ${JSON.stringify(this.stdout + this.stderr)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; output so far: ${JSON.stringify(this.stdout + this.stderr)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.outputWaiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

export interface TaskOptions {
  args: string[];
  terminal?: boolean;
  stdin?: boolean;
  logMaxSize?: number;
  logMaxFiles?: number;
  /** Mount an overlay of a fresh busybox rootfs (lower) on the bundle's emptied rootfs. */
  overlay?: boolean;
  /** Changes to config.json before the launch. */
  configure?: (config: any) => void;
}

export interface LaunchResult {
  code: number | null;
  stdout: string;
  stderr: string;
  info?: { pid: number; monitor_pid: number; create_begin_ns: number; create_end_ns: number };
}

let counter = 0;

/** A monitor over a busybox bundle, every path of it in one temporary directory. */
export class MonitorTask {
  readonly id: string;
  readonly stateDir: string;
  readonly runtimeRoot: string;
  readonly logPath: string;
  overlay?: { lower: string; upper: string; work: string };
  info?: LaunchResult['info'];

  private constructor(readonly runtime: string, readonly tmp: string, readonly bundle: Bundle, readonly opts: TaskOptions) {
    this.id = `tnm-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;
    this.stateDir = join(tmp, 's');
    this.runtimeRoot = join(tmp, 'r');
    this.logPath = join(tmp, 'ctr.log');
  }

  static async prepare(runtime: string, opts: TaskOptions): Promise<MonitorTask> {
    const tmp = mkdtempSync('/tmp/tnm-');
    const bundle = await makeBusyboxBundle({ args: opts.args, parent: tmp });
    if (opts.terminal) bundle.config.process.terminal = true;
    opts.configure?.(bundle.config);
    bundle.save();
    const t = new MonitorTask(runtime, tmp, bundle, opts);
    if (opts.overlay) {
      const lower = join(tmp, 'lower');
      const { makeBusyboxRootfs } = await import('./bundle.js');
      makeBusyboxRootfs(lower);
      rmSync(bundle.rootfs, { recursive: true, force: true });
      mkdirSync(bundle.rootfs);
      t.overlay = { lower, upper: join(tmp, 'upper'), work: join(tmp, 'work') };
      mkdirSync(t.overlay.upper);
      mkdirSync(t.overlay.work);
    }
    return t;
  }

  /** The monitor's command line. */
  argv(): string[] {
    const a = ['--id', this.id, '--bundle', this.bundle.dir, '--state-dir', this.stateDir, '--runtime', this.runtime,
      '--runtime-root', this.runtimeRoot, '--log-path', this.logPath];
    if (this.opts.terminal) a.push('--terminal');
    if (this.opts.stdin) a.push('--stdin');
    if (this.opts.logMaxSize) a.push('--log-max-size', String(this.opts.logMaxSize));
    if (this.opts.logMaxFiles) a.push('--log-max-files', String(this.opts.logMaxFiles));
    if (this.overlay) {
      a.push('--rootfs-type', 'overlay', '--rootfs-source', 'overlay', '--rootfs-options',
        `lowerdir=${this.overlay.lower},upperdir=${this.overlay.upper},workdir=${this.overlay.work}`);
    }
    return a;
  }

  /** Runs the monitor's caller to completion: it prints one line and exits. */
  launch(extraArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<LaunchResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(TERSANE_MONITOR, [...this.argv(), ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', reject);
      p.on('close', (code) => {
        const r: LaunchResult = { code, stdout, stderr };
        if (code === 0) {
          r.info = JSON.parse(stdout);
          this.info = r.info;
        }
        resolve(r);
      });
    });
  }

  /** launch() that must succeed. */
  async launchOk(): Promise<NonNullable<LaunchResult['info']>> {
    const r = await this.launch();
    if (r.code !== 0 || !r.info) throw new Error(`monitor failed (${r.code}): ${r.stderr}`);
    return r.info;
  }

  connect(): Promise<MonitorClient> {
    return MonitorClient.connect(join(this.stateDir, 'sock'));
  }

  exitFile(): ExitRecord | undefined {
    const p = join(this.stateDir, 'exit');
    return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : undefined;
  }

  async waitExitFile(timeoutMs = 15_000): Promise<ExitRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.exitFile();
      if (e) return e;
      if (Date.now() > deadline) throw new Error('no exit file');
      await sleep(50);
    }
  }

  /** Waits for the monitor process to be gone (or a zombie). */
  /** Waits for the monitor's mark that the clean-up after the exit is done (PROTOCOL.md). */
  async waitCleaned(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(join(this.stateDir, 'cleaned'))) {
      if (Date.now() > deadline) throw new Error(`no ${join(this.stateDir, 'cleaned')} after ${timeoutMs} ms`);
      await sleep(5);
    }
  }

  async waitMonitorGone(timeoutMs = 5_000): Promise<void> {
    const pid = this.info?.monitor_pid;
    if (!pid) return;
    const deadline = Date.now() + timeoutMs;
    while (processAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`monitor ${pid} still running`);
      await sleep(20);
    }
  }

  logEntries(file = this.logPath): Array<{ log: string; stream: string; time: string }> {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  /** The runtime's state dir of this container. */
  runtimeStateDir(): string {
    return join(this.runtimeRoot, this.id);
  }

  /** The container's cgroup directories that still exist, in every hierarchy. */
  leftoverCgroups(): string[] {
    const rel = this.bundle.cgroupsPath.replace(/^\//, '');
    const found: string[] = [];
    const roots = ['/sys/fs/cgroup'];
    try {
      for (const d of execFileSync('ls', ['/sys/fs/cgroup'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
        roots.push(join('/sys/fs/cgroup', d));
      }
    } catch {
      /* no cgroup fs */
    }
    for (const r of roots) if (existsSync(join(r, rel))) found.push(join(r, rel));
    return found;
  }

  /** Mount points under this task's temporary directory. */
  leftoverMounts(): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && m.startsWith(this.tmp));
  }

  /** Removes everything, whatever state the test left it in. */
  async cleanup(): Promise<void> {
    const pid = this.info?.monitor_pid;
    if (pid && processAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync(this.runtime, ['--root', this.runtimeRoot, 'delete', '--force', this.id], { stdio: 'ignore' });
    for (const m of this.leftoverMounts().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    await this.bundle.cleanup();
    removeCgroupTree(this.bundle.cgroupsPath.split('/').filter(Boolean)[0]);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True while pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** VmRSS of pid in KiB. */
export function vmRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/**
 * The runtimes to test the monitor against: runc always, tersane-runtime when it is built and can
 * run a trivial container (checked once with `run` of a busybox `true`), and any named in
 * TN_MONITOR_RUNTIMES (colon-separated paths).
 */
export async function monitorRuntimes(): Promise<Array<{ name: string; path: string }>> {
  const list = [{ name: 'runc', path: RUNC }];
  // More runc-compatible runtimes on demand, e.g. TN_MONITOR_RUNTIMES=/usr/bin/crun.
  for (const p of (process.env.TN_MONITOR_RUNTIMES ?? '').split(':').filter(Boolean)) {
    if (existsSync(p)) list.push({ name: p.split('/').pop()!, path: p });
  }
  if (existsSync(TERSANE_RUNTIME) && existsSync(TERSANE_MONITOR)) {
    const tmp = mkdtempSync('/tmp/tnm-probe-');
    const b = await makeBusyboxBundle({ args: ['true'], parent: tmp });
    const root = join(tmp, 'r');
    const id = `tnm-probe-${process.pid}`;
    try {
      const r = spawnSync(TERSANE_RUNTIME, ['--root', root, 'run', '--bundle', b.dir, id], { stdio: 'ignore', timeout: 10_000 });
      if (r.status === 0) list.push({ name: 'tersane-runtime', path: TERSANE_RUNTIME });
    } finally {
      spawnSync(TERSANE_RUNTIME, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
      await b.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return list;
}

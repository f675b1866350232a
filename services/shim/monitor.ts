/**
 * Talking to one container's monitor (runtime-native/monitor): starting it, and a connection to
 * its socket. The monitor is the container's parent; the shim is only its client, so the shim can
 * die and come back while containers run.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { failedPrecondition, internal, unavailable } from '../../common/errors.js';
import { LineServer } from '../../common/line-server.js';
import type { ExitStatus } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import { encodeFrame, FrameDecoder, parseResult, Reply, Request, type Frame } from './protocol.js';

/** How long the monitor may take to run the runtime's `create` (image-independent: no pulls). */
const CREATE_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** How long a closing connection may take to hand the monitor what it still holds. */
const CLOSE_FLUSH_MS = 1_000;

export interface MonitorSpawn {
  id: string;
  bundle: string;
  stateDir: string;
  runtimePath: string;
  runtimeRoot: string;
  rootfs?: { type: string; source: string; options: string[] };
  logPath?: string;
  logMaxSize?: number;
  logMaxFiles?: number;
  terminal: boolean;
  stdin: boolean;
  traceparent?: string;
}

export interface MonitorCreated {
  pid: number;
  monitorPid: number;
  createBeginNs: number;
  createEndNs: number;
}

export function monitorArgs(s: MonitorSpawn): string[] {
  const args = ['--id', s.id, '--bundle', s.bundle, '--state-dir', s.stateDir, '--runtime', s.runtimePath, '--runtime-root', s.runtimeRoot];
  if (s.rootfs) {
    args.push('--rootfs-type', s.rootfs.type, '--rootfs-source', s.rootfs.source, '--rootfs-options', s.rootfs.options.join(','));
  }
  if (s.logPath) {
    args.push('--log-path', s.logPath);
    if (s.logMaxSize) args.push('--log-max-size', String(s.logMaxSize));
    if (s.logMaxFiles) args.push('--log-max-files', String(s.logMaxFiles));
  }
  if (s.terminal) args.push('--terminal');
  if (s.stdin) args.push('--stdin');
  return args;
}

/**
 * Starts monitors through one long-lived tersane-spawner (runtime-native/spawner): forking the shim
 * itself for every container would cost milliseconds of its event loop each time. A start resolves
 * once the container is created, or fails with the cause when creating it failed (the monitor has
 * then undone everything itself).
 */
export class MonitorLauncher {
  private readonly spawner: LineServer;

  constructor(spawnerPath: string, monitorPath: string) {
    // The spawner kills a monitor that has not created its container in time; the shim's own
    // deadline is a backstop behind it.
    this.spawner = new LineServer(spawnerPath, ['--timeout', String(CREATE_TIMEOUT_MS / 1000), monitorPath], {
      name: 'tersane-spawner',
      timeoutMs: CREATE_TIMEOUT_MS + 5_000,
    });
  }

  async start(s: MonitorSpawn): Promise<MonitorCreated> {
    const env = [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`];
    if (s.traceparent) env.push(`TRACEPARENT=${s.traceparent}`);
    const [status = '', out = '', err = ''] = await this.spawner.request([String(env.length), ...env, ...monitorArgs(s)]);
    if (status !== '0') {
      const reason = unescapeLine(err) || `monitor exited ${status}`;
      throw failedPrecondition(`OCI runtime create failed: ${reason}`);
    }
    try {
      const r = JSON.parse(unescapeLine(out));
      return { pid: r.pid, monitorPid: r.monitor_pid, createBeginNs: r.create_begin_ns ?? 0, createEndNs: r.create_end_ns ?? 0 };
    } catch {
      throw internal(`the monitor answered something that is not its JSON line: ${JSON.stringify(out.slice(0, 200))}`);
    }
  }
}

/** A line as tersane-spawner escapes it (\t, \n, \\). */
function unescapeLine(text: string): string {
  return text.replace(/\\([tn\\])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : '\\'));
}

/** The exit record as the monitor writes it (PROTOCOL.md), in the contract's shape. */
export function parseExitRecord(text: string): ExitStatus {
  const r = JSON.parse(text);
  return {
    exit_code: Number(r.exit_code ?? 255),
    signal: Number(r.signal ?? 0),
    exited_at: String(r.exited_at ?? ''),
    oom_killed: Boolean(r.oom_killed),
    pid: Number(r.pid ?? 0),
  };
}

export interface ConnectionEvents {
  onStdout?(data: Buffer): void;
  onStderr?(data: Buffer): void;
  onExit?(status: ExitStatus): void;
  /** The socket closed (the monitor exited, or was killed). */
  onClose?(): void;
}

/**
 * One connection to a monitor's socket. Requests are answered in order, so replies are matched to
 * a FIFO of pending requests; output and EXIT frames go to the handlers.
 */
export class MonitorConnection {
  private readonly decoder = new FrameDecoder();
  private readonly pending: Array<{ resolve: (text: string) => void; reject: (err: Error) => void }> = [];
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly handlers: ConnectionEvents,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      for (const f of frames) this.dispatch(f);
    });
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.splice(0)) p.reject(unavailable('the container monitor went away'));
      this.handlers.onClose?.();
    });
    socket.on('error', () => undefined);
  }

  static open(socketPath: string, handlers: ConnectionEvents = {}): Promise<MonitorConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(unavailable(`no answer from the monitor at ${socketPath}`));
      }, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new MonitorConnection(socket, handlers));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(unavailable(`cannot reach the monitor at ${socketPath}: ${err.message}`));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a request that the monitor answers with RESULT; resolves with its text. */
  request(type: number, payload?: Buffer): Promise<string> {
    if (this.closed) return Promise.reject(unavailable('the container monitor went away'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(encodeFrame(type, payload));
    });
  }

  /** Sends a frame the monitor does not answer (STDIN, CLOSE_STDIN). */
  send(type: number, payload?: Buffer): void {
    if (!this.closed) this.socket.write(encodeFrame(type, payload));
  }

  start(): Promise<string> {
    return this.request(Request.START);
  }

  signal(signal: number, all: boolean): Promise<string> {
    return this.request(Request.SIGNAL, Buffer.from([signal, all ? 1 : 0]));
  }

  resize(rows: number, cols: number): Promise<string> {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(Math.min(rows, 0xffff), 0);
    b.writeUInt16BE(Math.min(cols, 0xffff), 2);
    return this.request(Request.RESIZE, b);
  }

  async status(): Promise<{ pid: number; status: string }> {
    return JSON.parse(await this.request(Request.STATUS));
  }

  /** Closes the connection; frames already sent (stdin) still reach the monitor first. */
  close(): void {
    if (this.socket.writableLength === 0) return void this.socket.destroy();
    this.socket.end(() => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), CLOSE_FLUSH_MS).unref();
  }

  private dispatch(f: Frame): void {
    switch (f.type) {
      case Reply.RESULT: {
        const p = this.pending.shift();
        if (!p) return;
        const r = parseResult(f.payload);
        if (r.ok) p.resolve(r.text);
        else p.reject(failedPrecondition(r.text));
        return;
      }
      case Reply.STDOUT:
        this.handlers.onStdout?.(f.payload);
        return;
      case Reply.STDERR:
        this.handlers.onStderr?.(f.payload);
        return;
      case Reply.EXIT:
        try {
          this.handlers.onExit?.(parseExitRecord(f.payload.toString('utf8')));
        } catch {
          /* a malformed record: the exit file is read instead when the socket closes */
        }
        return;
    }
  }
}

/**
 * Docker's exec model: an exec is created (POST /containers/{id}/exec: its config kept under a
 * 64-hex id), started once (POST /exec/{id}/start: attached through a hijacked connection, or
 * detached), inspected (GET /exec/{id}/json) and resized. The process runs through containerd's
 * Tasks.Exec stream, which the daemon holds until the process exits whatever the client does (a
 * detached start, the detach keys, a client that went away), so its exit code is always known.
 *
 * Exec records live in memory, as Docker's do: a restarted daemon knows none (its running execs go
 * on in their containers). An exited exec stays inspectable for EXEC_KEEP_MS.
 *
 * Events, as Docker's: `exec_create: <cmd>` and `exec_start: <cmd>` (attribute execID), `exec_die`
 * (execID, exitCode), `exec_detach`.
 *
 * @example
 *   const { id } = execs.create('ctr1', body);
 *   const run = await execs.start(id, { detach: false }, sink);
 */
import { randomBytes } from 'node:crypto';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { conflict, EngineError, invalidArgument, notFound } from '../../common/errors.js';
import { streamError } from '../../common/grpc.js';
import type { AttachOutput__Output } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExecInput } from '../../common/proto-types/tersane/common/v1/ExecInput.js';
import { recordContainerEvent } from './dockerEvents.js';
import { parsedConfig, type LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';
import { processEnv } from './createConfig.js';
import { parseDetachKeys } from './detachKeys.js';
import type { ContainerRow } from './store.js';

/** How long an exited exec stays inspectable (Docker's exec GC runs every 5 minutes). */
export const EXEC_KEEP_MS = 5 * 60_000;
/** How long a resize waits for an exec that is being started (Docker's 10 s). */
const EXEC_RESIZE_WAIT_MS = 10_000;
/** How long the daemon waits for containerd to say whether an exec's process runs. */
const EXEC_START_TIMEOUT_MS = 60_000;
/** Docker's exit codes for an exec that could not start: not found, and anything else. */
const EXIT_NOT_FOUND = 127;
const EXIT_CANNOT_INVOKE = 126;

export interface ExecRecord {
  id: string;
  containerId: string;
  entrypoint: string;
  args: string[];
  tty: boolean;
  privileged: boolean;
  /** As given at create (empty: the container's). */
  user: string;
  workingDir: string;
  /** The whole environment of the process. */
  env: string[];
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  /** The detach keys the exec was created with (bytes), empty for the default. */
  detachKeys: Buffer;
  consoleSize?: [number, number];
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** The process's stream through containerd, while it runs. */
  upstream?: ClientDuplexStream<ExecInput, AttachOutput__Output>;
  /** Settles once the process runs (true) or could not start (false). */
  started?: Promise<boolean>;
  /** Who gets the output now (undefined: nobody, it is dropped). */
  sink?: ExecSink;
  exited?: Promise<number>;
}

export interface ExecSink {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** The process ended (or could not start): nothing follows. */
  exit(exitCode: number): void;
  /** The process could not start: Docker's message. Without it, the message goes to stdout. */
  failed?(message: string): void;
}

export interface StartOptions {
  detach: boolean;
  consoleHeight?: number;
  consoleWidth?: number;
}

export interface ExecSession {
  tty: boolean;
  stdin(data: Buffer): void;
  /** The client's input ended: the process's stdin closes (without a terminal), else the client leaves. */
  closeStdin(): void;
  /** The client leaves (detach keys, or gone): the process runs on. */
  detach(byKeys: boolean): void;
}

/** Docker's ExecConfig as the create body carries it. */
interface ExecConfigBody {
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Env?: string[] | null;
  WorkingDir?: string;
  Cmd?: string[] | string | null;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(private readonly d: LifecycleDeps) {}

  // ---- create ---------------------------------------------------------------------------------------

  create(ref: string, configJson: Buffer | string, apiVersion = ''): { id: string } {
    let body: ExecConfigBody;
    try {
      body = JSON.parse(typeof configJson === 'string' ? configJson : configJson.toString('utf8')) as ExecConfigBody;
    } catch (err) {
      throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
    }
    if (!body || typeof body !== 'object') throw invalidArgument('invalid JSON: the exec config must be an object');
    const cmd = typeof body.Cmd === 'string' ? [body.Cmd] : (body.Cmd ?? []);
    if (!Array.isArray(cmd) || cmd.length === 0) throw invalidArgument('No exec command specified');
    const row = this.activeContainer(ref);
    let detachKeys: Buffer = Buffer.alloc(0);
    if (body.DetachKeys) {
      try {
        detachKeys = parseDetachKeys(body.DetachKeys);
      } catch {
        throw invalidArgument(`Invalid escape keys (${body.DetachKeys}) provided`);
      }
    }
    const config = parsedConfig(row);
    const tty = body.Tty === true;
    const rec: ExecRecord = {
      id: randomBytes(32).toString('hex'),
      containerId: row.id,
      entrypoint: cmd[0],
      args: cmd.slice(1),
      tty,
      privileged: body.Privileged === true,
      user: body.User ?? '',
      workingDir: body.WorkingDir ?? '',
      // The container's environment (PATH, HOSTNAME, TERM with a tty, its Env), then the exec's.
      env: processEnv({ ...config, Tty: tty, Env: [...(config.Env ?? []), ...(body.Env ?? [])] }),
      openStdin: body.AttachStdin === true,
      openStdout: body.AttachStdout === true,
      openStderr: body.AttachStderr === true,
      detachKeys,
      // ConsoleSize exists from API 1.42 on.
      consoleSize: apiVersion && versionBelow(apiVersion, '1.42') ? undefined : (body.ConsoleSize ?? undefined),
      running: false,
      exitCode: null,
      pid: 0,
    };
    this.execs.set(rec.id, rec);
    this.d.store.tx(() => recordContainerEvent(this.d.bus, `exec_create: ${commandOf(rec)}`, row, { execID: rec.id }));
    return { id: rec.id };
  }

  // ---- start ----------------------------------------------------------------------------------------

  /**
   * Starts an exec. Errors that Docker answers before hijacking the connection (no such exec, the
   * container not running, the exec started before) are thrown. Attached: resolves at once with the
   * session; a process that cannot start writes Docker's error line to the sink's stdout and ends
   * with exit code 126 or 127, as Docker does after the hijack. Detached: resolves once the process
   * runs, or throws why it could not.
   */
  async start(execId: string, opts: StartOptions, sink?: ExecSink): Promise<ExecSession> {
    const rec = this.get(execId);
    this.activeContainer(rec.containerId);
    if (rec.exitCode !== null) throw conflict(`Error: Exec command ${rec.id} has already run`);
    if (rec.running) throw conflict(`Error: Exec command ${rec.id} is already running`);
    rec.running = true;
    rec.sink = opts.detach ? undefined : sink;
    const row = this.d.store.get(rec.containerId)!;
    this.d.store.tx(() => recordContainerEvent(this.d.bus, `exec_start: ${commandOf(rec)}`, row, { execID: rec.id }));
    const consoleSize = opts.consoleHeight && opts.consoleWidth ? ([opts.consoleHeight, opts.consoleWidth] as [number, number]) : rec.consoleSize;
    const started = this.launch(rec, row, consoleSize);
    rec.started = started.then(
      () => true,
      () => false,
    );
    const session: ExecSession = {
      tty: rec.tty,
      stdin: (data) => {
        if (rec.openStdin && rec.upstream && !rec.upstream.writableEnded) rec.upstream.write({ stdin: data });
      },
      closeStdin: () => {
        // Docker closes an exec's stdin at the end of the client's input only without a terminal;
        // with one, the client's attachment ends and the process goes on.
        if (!rec.tty) {
          if (rec.openStdin && rec.upstream && !rec.upstream.writableEnded) rec.upstream.write({ close_stdin: true });
        } else if (rec.sink === sink) rec.sink = undefined;
      },
      detach: (byKeys) => {
        if (rec.sink !== sink) return;
        rec.sink = undefined;
        if (byKeys) this.d.store.tx(() => recordContainerEvent(this.d.bus, 'exec_detach', row, { execID: rec.id }));
      },
    };
    if (opts.detach) {
      await started;
      return session;
    }
    started.catch(() => undefined);
    return session;
  }

  /**
   * Opens the Tasks.Exec stream; resolves once the process runs. A failure to start is recorded
   * (exit code 126/127, exec_die) and, for an attached client, told on its stdout.
   */
  private launch(rec: ExecRecord, row: ContainerRow, consoleSize: [number, number] | undefined): Promise<void> {
    const config = parsedConfig(row);
    const tasks = this.d.containerd.tasks;
    let resolveExit!: (code: number) => void;
    rec.exited = new Promise<number>((r) => (resolveExit = r));
    return new Promise<void>((resolve, reject) => {
      let ran = false;
      let ended = false;
      const end = (exitCode: number, failure?: EngineError) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        rec.running = false;
        rec.exitCode = exitCode;
        rec.upstream = undefined;
        const sink = rec.sink;
        rec.sink = undefined;
        const current = this.d.store.get(rec.containerId);
        if (current) this.d.store.tx(() => recordContainerEvent(this.d.bus, 'exec_die', current, { execID: rec.id, exitCode: String(exitCode) }));
        setTimeout(() => this.execs.delete(rec.id), EXEC_KEEP_MS).unref();
        if (failure && sink?.failed) sink.failed(failure.message);
        else if (failure && sink) sink.stdout(Buffer.from(`${failure.message}\r\n`));
        sink?.exit(exitCode);
        resolveExit(exitCode);
        if (failure) reject(failure);
        else resolve();
      };
      const fail = (err: unknown) => {
        const e = err instanceof EngineError ? err : streamError('containerd', err);
        if (ran) {
          // The stream broke after the process started (a layer below restarted): its end is
          // unknown to us now.
          this.d.log.warn('lost the stream of a running exec', { exec: rec.id, err: (e as Error).message });
          return end(EXIT_CANNOT_INVOKE);
        }
        const failure = execStartFailure(rec.entrypoint, e as EngineError);
        end(failure.exitCode, failure.error);
      };
      const timer = setTimeout(() => {
        if (!ran) {
          call.cancel();
          fail(new EngineError('deadline_exceeded', `the exec did not start within ${EXEC_START_TIMEOUT_MS} ms`));
        }
      }, EXEC_START_TIMEOUT_MS);
      const call = tasks.raw.Exec(tasks.metadata());
      rec.upstream = call;
      call.on('data', (out: AttachOutput__Output) => {
        if (out.ready) {
          ran = true;
          rec.pid = out.pid;
          clearTimeout(timer);
          resolve();
        } else if (out.stdout) {
          if (rec.openStdout) rec.sink?.stdout(out.stdout);
        } else if (out.stderr) {
          if (rec.openStderr) rec.sink?.stderr(out.stderr);
        } else if (out.exit) end(out.exit.exit_code);
      });
      call.on('error', fail);
      call.on('end', () => {
        if (!ended) fail(new EngineError('unavailable', 'containerd ended the exec stream before its exit'));
      });
      call.write({
        open: {
          id: rec.containerId,
          exec_id: rec.id,
          stdin: rec.openStdin,
          process: {
            args: [rec.entrypoint, ...rec.args],
            env: rec.env,
            cwd: rec.workingDir || config.WorkingDir || '/',
            user: rec.user || config.User || '',
            terminal: rec.tty,
            privileged: rec.privileged,
            console_height: consoleSize?.[0] ?? 0,
            console_width: consoleSize?.[1] ?? 0,
          },
        },
      });
      if (!rec.openStdin) call.end();
    });
  }

  /**
   * Runs a command to its end with output captured (health probes): resolves with the exit code
   * and up to maxOutput bytes of stdout+stderr; after timeoutMs the process is killed and `timedOut`
   * is set.
   */
  async run(
    containerId: string,
    cmd: string[],
    opts: { timeoutMs: number; maxOutput: number },
  ): Promise<{ exitCode: number; output: string; timedOut: boolean; startError?: string }> {
    const { id } = this.create(containerId, JSON.stringify({ Cmd: cmd, AttachStdout: true, AttachStderr: true }));
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (d: Buffer) => {
      if (size >= opts.maxOutput) return;
      const part = d.subarray(0, opts.maxOutput - size);
      chunks.push(part);
      size += part.length;
    };
    let exitCode = -1;
    let startError: string | undefined;
    const done = new Promise<void>((resolve) => {
      const sink: ExecSink = { stdout: keep, stderr: keep, exit: (code) => ((exitCode = code), resolve()), failed: (m) => (startError = m) };
      void this.start(id, { detach: false }, sink).catch((err: Error) => {
        startError = err.message;
        resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), opts.timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const rec = this.execs.get(id);
      await this.d.containerd.tasks.call('KillExec', { id: containerId, exec_id: id, signal: 9 }).catch(() => undefined);
      // Wait for the killed probe to be gone, so dying probes never pile up (bounded: a probe
      // whose stream broke is not waited for).
      if (rec?.exited) await Promise.race([rec.exited, new Promise((r) => setTimeout(r, opts.timeoutMs).unref())]);
    }
    return { exitCode, output: Buffer.concat(chunks).toString('utf8'), timedOut, startError };
  }

  // ---- inspect, resize, lists -------------------------------------------------------------------------

  get(execId: string): ExecRecord {
    const rec = this.execs.get(execId);
    if (!rec) throw notFound(`No such exec instance: ${execId}`);
    return rec;
  }

  /** Docker's ExecInspect document. */
  inspect(execId: string): Record<string, unknown> {
    const rec = this.get(execId);
    const processConfig: Record<string, unknown> = { tty: rec.tty, entrypoint: rec.entrypoint, arguments: rec.args };
    if (rec.privileged) processConfig.privileged = true;
    if (rec.user) processConfig.user = rec.user;
    return {
      ID: rec.id,
      Running: rec.running,
      ExitCode: rec.exitCode,
      ProcessConfig: processConfig,
      OpenStdin: rec.openStdin,
      OpenStderr: rec.openStderr,
      OpenStdout: rec.openStdout,
      CanRemove: false,
      ContainerID: rec.containerId,
      // []byte in Docker's document: base64.
      DetachKeys: rec.detachKeys.toString('base64'),
      Pid: rec.pid,
    };
  }

  /** As Docker's: a resize that comes while the exec is starting waits for it (a bounded while). */
  async resize(execId: string, rows: number, cols: number): Promise<void> {
    const rec = this.get(execId);
    this.activeContainer(rec.containerId);
    let timer: NodeJS.Timeout | undefined;
    const ran = await Promise.race([
      rec.started ?? Promise.resolve(false),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), EXEC_RESIZE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (ran === 'timeout') throw new EngineError('internal', 'timeout waiting for exec session ready');
    if (!ran) throw invalidArgument('exec process is not started');
    if (!rec.running) throw conflict(`Exec ${execId} is not running, so it can not be resized.`);
    await this.d.containerd.tasks.call('ResizeExec', { id: rec.containerId, exec_id: rec.id, rows, cols });
  }

  /** Docker's ExecIDs of a container: the execs not ended yet (null when none). */
  idsOf(containerId: string): string[] | null {
    const ids = [...this.execs.values()].filter((r) => r.containerId === containerId && r.exitCode === null).map((r) => r.id);
    return ids.length ? ids : null;
  }

  /** The container is gone: its execs with it. */
  forget(containerId: string): void {
    for (const [id, rec] of this.execs) if (rec.containerId === containerId) this.execs.delete(id);
  }

  /** Docker's getActiveContainer: running, not paused, not restarting. */
  private activeContainer(ref: string): ContainerRow {
    const row = findContainer(this.d.store, ref);
    if (row.status === 'paused') throw conflict(`Container ${row.id} is paused, unpause the container before exec`);
    if (row.status === 'restarting') throw conflict(`Container ${row.id} is restarting, wait until the container is running`);
    if (row.status !== 'running') throw conflict(`container ${row.id} is not running`);
    return row;
  }
}

/** "1.41" < "1.42", "1.9" < "1.10". */
function versionBelow(v: string, than: string): boolean {
  const [a1, a2] = v.split('.').map(Number);
  const [b1, b2] = than.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

function commandOf(rec: ExecRecord): string {
  return `${rec.entrypoint} ${rec.args.join(' ')}`;
}

/**
 * Docker's translation of an exec that could not start (translateContainerdStartErr): 127 when the
 * command is not there, 126 otherwise; containerd's message ends with its gRPC code ("unknown").
 */
export function execStartFailure(cmd: string, e: EngineError): { exitCode: number; error: EngineError } {
  if (e.kind === 'unavailable' || e.kind === 'deadline_exceeded' || e.kind === 'not_found' || e.kind === 'conflict') {
    return { exitCode: EXIT_CANNOT_INVOKE, error: e };
  }
  const fromRuntime = e.message.startsWith('OCI runtime exec failed');
  const message = fromRuntime && !/: unknown$/.test(e.message) ? `${e.message}: unknown` : e.message;
  const lower = message.toLowerCase();
  if (lower.includes(cmd.toLowerCase()) && (lower.includes('executable file not found') || lower.includes('no such file or directory'))) {
    return { exitCode: EXIT_NOT_FOUND, error: new EngineError('invalid_argument', message) };
  }
  return { exitCode: EXIT_CANNOT_INVOKE, error: new EngineError(e.kind === 'invalid_argument' ? 'invalid_argument' : 'internal', message) };
}

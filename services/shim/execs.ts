/**
 * Exec processes: a process run in a running task through a connection of its own to the task's
 * monitor (PROTOCOL.md, EXEC). The shim holds that connection for the process's whole life, so a
 * client that goes away (a detached `docker exec -d`, or a layer above restarting) leaves the
 * process running; its output then goes nowhere and its exit is dropped with the connection.
 *
 * @example
 *   const handle = await execs.open(open, { ready, stdout, stderr, exit, fail });
 *   handle.stdin(Buffer.from('ls\n'));
 */
import { conflict, EngineError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { ExecOpen__Output } from '../../common/proto-types/tersane/common/v1/ExecOpen.js';
import type { ExitStatus } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import { MonitorConnection } from './monitor.js';
import { ExecFlag, Request } from './protocol.js';
import type { TaskManager } from './tasks.js';

/** Docker's exec ids are 64 hex; anything that names a file safely is accepted. */
const EXEC_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ExecSink {
  /** The process runs. */
  ready(pid: number): void;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** The process exited; nothing follows. */
  exit(status: ExitStatus): void;
  /** The monitor went away before the process's exit was known. */
  fail(err: Error): void;
}

export interface ExecHandle {
  stdin(data: Buffer): void;
  closeStdin(): void;
  /** The client goes away: the process runs on, its output is dropped. */
  detach(): void;
}

type Out = { kind: 'stdout' | 'stderr'; data: Buffer } | { kind: 'exit'; status: ExitStatus } | { kind: 'fail'; err: Error };

interface LiveExec {
  conn?: MonitorConnection;
  pid: number;
  sink?: ExecSink;
  /** Output that came before `ready` was delivered (it can share a read with the RESULT). */
  early: Out[];
  readySent: boolean;
  done: boolean;
}

export class ExecManager {
  private readonly live = new Map<string, LiveExec>();

  constructor(private readonly tasks: TaskManager) {}

  async open(open: ExecOpen__Output, sink: ExecSink): Promise<ExecHandle> {
    if (!EXEC_ID.test(open.exec_id)) throw invalidArgument(`invalid exec id ${JSON.stringify(open.exec_id)}`);
    if (!open.process_json?.length) throw invalidArgument('an exec needs its process');
    const key = keyOf(open.id, open.exec_id);
    if (this.live.has(key)) throw conflict(`exec ${open.exec_id} already exists in task ${open.id}`);
    const socket = this.tasks.runningSocket(open.id);
    const exec: LiveExec = { pid: 0, sink, early: [], readySent: false, done: false };
    this.live.set(key, exec);
    const deliver = (out: Out) => {
      if (out.kind === 'exit' || out.kind === 'fail') {
        if (exec.done) return;
        exec.done = true;
        this.live.delete(key);
        exec.conn?.close();
      }
      if (!exec.readySent) {
        exec.early.push(out);
        return;
      }
      const s = exec.sink;
      if (!s) return;
      if (out.kind === 'exit') s.exit(out.status);
      else if (out.kind === 'fail') s.fail(out.err);
      else s[out.kind](out.data);
    };
    let conn: MonitorConnection;
    try {
      conn = await MonitorConnection.open(socket, {
        onStdout: (data) => deliver({ kind: 'stdout', data }),
        onStderr: (data) => deliver({ kind: 'stderr', data }),
        onExit: (status) => deliver({ kind: 'exit', status }),
        onClose: () => deliver({ kind: 'fail', err: failedPrecondition('the container monitor went away before the exec ended') }),
      });
    } catch (err) {
      this.live.delete(key);
      throw err;
    }
    exec.conn = conn;
    const flags = (open.stdin ? ExecFlag.STDIN : 0) | (open.terminal ? ExecFlag.TERMINAL : 0);
    let answer: string;
    try {
      answer = await conn.request(Request.EXEC, Buffer.concat([Buffer.from([flags]), open.process_json]));
    } catch (err) {
      exec.done = true;
      this.live.delete(key);
      conn.close();
      if (err instanceof EngineError && err.kind !== 'failed_precondition') throw err;
      // containerd's wording for a runtime that could not start the process.
      throw failedPrecondition(`OCI runtime exec failed: ${(err as Error).message}`);
    }
    exec.pid = Number(JSON.parse(answer).pid) || 0;
    sink.ready(exec.pid);
    exec.readySent = true;
    for (const out of exec.early.splice(0)) {
      const s = exec.sink;
      if (!s) break;
      if (out.kind === 'exit') s.exit(out.status);
      else if (out.kind === 'fail') s.fail(out.err);
      else s[out.kind](out.data);
    }
    return {
      stdin: (data) => conn.send(Request.STDIN, data),
      closeStdin: () => conn.send(Request.CLOSE_STDIN),
      detach: () => {
        exec.sink = undefined;
      },
    };
  }

  async resize(id: string, execId: string, rows: number, cols: number): Promise<void> {
    await this.connOf(id, execId).resize(rows, cols);
  }

  async kill(id: string, execId: string, signal: number): Promise<void> {
    if (signal <= 0 || signal > 64) throw invalidArgument(`invalid signal ${signal}`);
    await this.connOf(id, execId).signal(signal, false);
  }

  private connOf(id: string, execId: string): MonitorConnection {
    const exec = this.live.get(keyOf(id, execId));
    if (!exec?.conn || exec.done) throw notFound(`exec ${execId} not found in task ${id}`);
    return exec.conn;
  }
}

function keyOf(id: string, execId: string): string {
  return `${id}/${execId}`;
}

/**
 * A stdio stream over gRPC (AttachTask, ExecProcess): the first input opens a session, later
 * inputs are stdin (or its end); output is `ready`, the process's output, and `exit` last. The
 * client going away releases the session; the process runs on.
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExitStatus } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';

export interface StdioSink {
  ready(pid?: number): void;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  exit(status: ExitStatus): void;
  fail(err: Error): void;
}

export interface StdioSession {
  stdin(data: Buffer): void;
  closeStdin(): void;
  /** The client is gone: stop sending it output. */
  release(): void;
}

type StdioInput<O> = { input?: string; open?: O | null; stdin?: Buffer };

export function serveStdio<O, I extends StdioInput<O>>(
  call: grpc.ServerDuplexStream<I, AttachOutput>,
  what: string,
  open: (msg: O, sink: StdioSink) => Promise<StdioSession>,
  opts: { endOfInputLeaves: boolean },
): Promise<void> {
  return new Promise((resolve, reject) => {
    let session: StdioSession | undefined;
    let opening = false;
    let leaving = false;
    let finished = false;
    const pending: I[] = [];
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      session?.release();
      if (err) reject(err);
      else resolve();
    };
    const input = (msg: I) => {
      if (!session) return void pending.push(msg);
      if (msg.input === 'stdin' && msg.stdin) session.stdin(msg.stdin);
      else if (msg.input === 'close_stdin') session.closeStdin();
    };
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
    call.on('data', (msg: I) => {
      if (opening) return input(msg);
      if (msg.input !== 'open' || !msg.open) return finish(invalidArgument(`the first ${what} message must be "open"`));
      opening = true;
      open(msg.open, {
        ready: (pid) => call.write(pid ? { ready: true, pid } : { ready: true }),
        stdout: (d) => call.write({ stdout: d }),
        stderr: (d) => call.write({ stderr: d }),
        exit: (status) => {
          call.write({ exit: status });
          finish();
        },
        fail: (err) => finish(err),
      }).then((s) => {
        session = s;
        if (finished) return s.release();
        for (const m of pending.splice(0)) input(m);
        if (leaving) finish();
      }, finish);
    });
    // Only an explicit `close_stdin` ends the process's stdin: grpc-js reports a cancelled call as
    // an end of input first (then 'cancelled'), so a client detaching (Ctrl-P Ctrl-Q, `docker
    // attach` leaving) would otherwise send the shell in a terminal its EOF and end it. Where the
    // end of input means leaving (an attach), the session is released once what came before it
    // has been handed on, and the call ends.
    if (opts.endOfInputLeaves) {
      call.on('end', () => {
        leaving = true;
        if (session || !opening) finish();
      });
    }
  });
}

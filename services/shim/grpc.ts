/**
 * The shim's gRPC adapter: translates the Shim contract (proto/shim.proto) to TaskManager calls.
 */
import type * as grpc from '@grpc/grpc-js';
import { duplex, unary } from '../../common/grpc.js';
import { invalidArgument } from '../../common/errors.js';
import type { AttachInput__Output } from '../../common/proto-types/tersane/common/v1/AttachInput.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ShimHandlers } from '../../common/proto-types/tersane/shim/v1/Shim.js';
import type { AttachHandle, TaskManager } from './tasks.js';
import type { ExecManager } from './execs.js';
import { execStream } from './execStream.js';

export function shimHandlers(tasks: TaskManager, execs: ExecManager): ShimHandlers {
  return {
    CreateTask: unary(async (req) => tasks.create(req)),
    StartTask: unary(async (req) => tasks.start(req.id)),
    KillTask: unary(async (req) => {
      await tasks.kill(req.id, req.signal, req.all);
      return {};
    }),
    DeleteTask: unary(async (req) => tasks.delete(req.id, req.force)),
    WaitTask: unary(async (req) => tasks.wait(req.id)),
    GetTask: unary(async (req) => tasks.get(req.id)),
    ListTasks: unary(async () => ({ tasks: tasks.list() })),
    ResizeTask: unary(async (req) => {
      await tasks.resize(req.id, req.rows, req.cols);
      return {};
    }),
    AttachTask: duplex((call) => attach(tasks, call)),
    ExecProcess: duplex((call) => execStream(execs, call)),
    ResizeExec: unary(async (req) => {
      await execs.resize(req.id, req.exec_id, req.rows, req.cols);
      return {};
    }),
    KillExec: unary(async (req) => {
      await execs.kill(req.id, req.exec_id, req.signal);
      return {};
    }),
    PauseTask: unary(async (req) => {
      await tasks.pause(req.id, true);
      return {};
    }),
    ResumeTask: unary(async (req) => {
      await tasks.pause(req.id, false);
      return {};
    }),
  };
}

/** One attach: the first input opens it, later inputs are stdin; ends after the exit message. */
function attach(tasks: TaskManager, call: grpc.ServerDuplexStream<AttachInput__Output, AttachOutput>): Promise<void> {
  return new Promise((resolve, reject) => {
    let handle: AttachHandle | undefined;
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      handle?.close();
      if (err) reject(err);
      else resolve();
    };
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
    call.on('data', (msg: AttachInput__Output) => {
      if (!handle) {
        if (msg.input !== 'open' || !msg.open) return finish(invalidArgument('the first attach message must be "open"'));
        const { id, stdin, stdout, stderr } = msg.open;
        call.pause();
        tasks
          .attach(id, { stdin, stdout, stderr }, {
            ready: () => call.write({ ready: true }),
            stdout: (d) => call.write({ stdout: d }),
            stderr: (d) => call.write({ stderr: d }),
            exit: (status) => {
              call.write({ exit: status });
              finish();
            },
            fail: (err) => finish(err),
          })
          .then((h) => {
            handle = h;
            if (finished) h.close();
            call.resume();
          }, finish);
        return;
      }
      if (msg.input === 'stdin' && msg.stdin) handle.stdin(msg.stdin);
      else if (msg.input === 'close_stdin') handle.closeStdin();
    });
    // Only an explicit `close_stdin` ends the container's stdin: grpc-js reports a cancelled call
    // as an end of input first (then 'cancelled'), so a client detaching (Ctrl-P Ctrl-Q, `docker
    // attach` leaving) would otherwise send the shell in a terminal its EOF and end it.
  });
}

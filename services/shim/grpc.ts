/**
 * The shim's gRPC adapter: translates the Shim contract (proto/shim.proto) to TaskManager calls.
 */
import type * as grpc from '@grpc/grpc-js';
import { duplex, unary } from '../../common/grpc.js';
import type { AttachInput__Output } from '../../common/proto-types/tersane/common/v1/AttachInput.js';
import type { AttachOpen__Output } from '../../common/proto-types/tersane/common/v1/AttachOpen.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ShimHandlers } from '../../common/proto-types/tersane/shim/v1/Shim.js';
import type { TaskManager } from './tasks.js';
import { serveStdio } from './stdio-stream.js';
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
  return serveStdio(call, 'attach', async ({ id, stdin, stdout, stderr, wait_for_create }: AttachOpen__Output, sink) => {
    const h = await tasks.attach(id, { stdin, stdout, stderr, waitForCreate: wait_for_create }, sink);
    return { stdin: h.stdin, closeStdin: h.closeStdin, release: h.close };
  }, { endOfInputLeaves: true });
}

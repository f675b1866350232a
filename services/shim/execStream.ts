/**
 * The ExecProcess stream (proto/shim.proto): the first input opens the exec, later inputs are its
 * stdin; output is `ready` (with the pid), the process's output, and `exit` last. The client going
 * away detaches from the process, which runs on.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExecInput__Output } from '../../common/proto-types/tersane/common/v1/ExecInput.js';
import type { ExecOpen__Output } from '../../common/proto-types/tersane/common/v1/ExecOpen.js';
import type { ExecManager } from './execs.js';
import { serveStdio } from './stdio-stream.js';

export function execStream(execs: ExecManager, call: grpc.ServerDuplexStream<ExecInput__Output, AttachOutput>): Promise<void> {
  return serveStdio(call, 'exec', async (open: ExecOpen__Output, sink) => {
    const h = await execs.open(open, sink);
    return { stdin: h.stdin, closeStdin: h.closeStdin, release: h.detach };
    // An exec without stdin has its input ended at once: that is no leaving.
  }, { endOfInputLeaves: false });
}

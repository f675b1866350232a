/**
 * The ExecProcess stream (proto/shim.proto): the first input opens the exec, later inputs are its
 * stdin; output is `ready` (with the pid), the process's output, and `exit` last. The client going
 * away detaches from the process, which runs on.
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../common/errors.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExecInput__Output } from '../../common/proto-types/tersane/common/v1/ExecInput.js';
import type { ExecHandle, ExecManager } from './execs.js';

export function execStream(execs: ExecManager, call: grpc.ServerDuplexStream<ExecInput__Output, AttachOutput>): Promise<void> {
  return new Promise((resolve, reject) => {
    let handle: ExecHandle | undefined;
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      handle?.detach();
      if (err) reject(err);
      else resolve();
    };
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
    let opening = false;
    const pending: ExecInput__Output[] = [];
    const input = (msg: ExecInput__Output) => {
      if (!handle) return void pending.push(msg);
      if (msg.input === 'stdin' && msg.stdin) handle.stdin(msg.stdin);
      else if (msg.input === 'close_stdin') handle.closeStdin();
    };
    call.on('data', (msg: ExecInput__Output) => {
      if (opening) return input(msg);
      if (msg.input !== 'open' || !msg.open) return finish(invalidArgument('the first exec message must be "open"'));
      opening = true;
      execs
        .open(msg.open, {
          ready: (pid) => call.write({ ready: true, pid }),
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
          if (finished) return h.detach();
          for (const m of pending.splice(0)) input(m);
        }, finish);
    });
    // Only an explicit `close_stdin` ends the process's stdin: a cancelled call shows as an end
    // of input first (grpc-js), and a client that goes away must not send the process an EOF.
  });
}

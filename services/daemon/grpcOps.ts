/**
 * The daemon's gRPC adapter for what a running container is asked beyond its lifecycle (proto/
 * daemon.proto): pause and unpause, update, stats, top and exec. Thin: each calls its module
 * (pause.ts, update.ts, stats.ts, top.ts, execs.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { EngineError } from '../../common/errors.js';
import { duplex, firstMessage, serverStream, unary } from '../../common/grpc.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ContainersHandlers } from '../../common/proto-types/tersane/daemon/v1/Containers.js';
import type { ExecStartInput__Output } from '../../common/proto-types/tersane/daemon/v1/ExecStartInput.js';
import { recordContainerEvent } from './dockerEvents.js';
import type { ExecService, ExecSession } from './execs.js';
import type { Lifecycle, LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';
import { pauseContainer } from './pause.js';
import { statsDocuments } from './stats.js';
import { containerTop } from './top.js';
import { updateContainer } from './update.js';
import { jsonDocument, whenCallGone, writeMessage } from '../../common/grpc-streams.js';

export type ContainerOpsMethod = 'Pause' | 'Unpause' | 'Update' | 'Stats' | 'Top' | 'ExecCreate' | 'ExecStart' | 'ExecInspect' | 'ExecResize';

export function containerOpsHandlers(deps: LifecycleDeps, lifecycle: Lifecycle, execs: ExecService): Pick<ContainersHandlers, ContainerOpsMethod> {
  const { store } = deps;
  return {
    Pause: unary(async (req) => {
      await pauseContainer(deps, lifecycle, req.id, true);
      return {};
    }),
    Unpause: unary(async (req) => {
      await pauseContainer(deps, lifecycle, req.id, false);
      return {};
    }),
    Update: unary(async (req) => {
      const warnings = await updateContainer(deps, lifecycle, req.id, req.config_json);
      return jsonDocument({ Warnings: warnings.length ? warnings : null });
    }),
    Stats: serverStream(async (req, call) => {
      const row = findContainer(store, req.id);
      const abort = new AbortController();
      void whenCallGone(call).then(() => abort.abort());
      for await (const doc of statsDocuments(deps, row, { stream: req.stream, oneShot: req.one_shot }, abort.signal)) {
        if (abort.signal.aborted) return;
        await writeMessage(call, jsonDocument(doc));
      }
    }),
    Top: unary(async (req) => {
      const row = findContainer(store, req.id);
      const doc = await containerTop(deps, row, req.ps_args);
      store.tx(() => recordContainerEvent(deps.bus, 'top', row));
      return jsonDocument(doc);
    }),
    ExecCreate: unary(async (req) => execs.create(req.id, req.config_json, req.api_version)),
    ExecInspect: unary(async (req) => jsonDocument(execs.inspect(req.id))),
    ExecResize: unary(async (req) => {
      await execs.resize(req.id, req.rows, req.cols);
      return {};
    }),
    ExecStart: duplex((call) => execStart(execs, call)),
  };
}

/**
 * One exec start: `open`, then (attached) stdin in and output out until the process exits or the
 * client leaves; detached, `ready` once the process runs and nothing more.
 */
async function execStart(execs: ExecService, call: grpc.ServerDuplexStream<ExecStartInput__Output, AttachOutput>): Promise<void> {
  const first = await firstMessage(call);
  if (!first?.open) {
    if (call.cancelled) return;
    throw new EngineError('invalid_argument', 'the first exec start message must be `open`');
  }
  const open = first.open;
  const opts = { detach: open.detach, consoleHeight: open.console_height, consoleWidth: open.console_width };
  if (open.detach) {
    const session = await execs.start(open.exec_id, opts);
    call.write({ ready: true, tty: session.tty });
    return;
  }
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let ended = false;
  const session: ExecSession = await execs.start(open.exec_id, opts, {
    stdout: (d) => !ended && call.write({ stdout: d }),
    stderr: (d) => !ended && call.write({ stderr: d }),
    exit: (exitCode) => {
      if (ended) return;
      ended = true;
      call.write({ exit: { exit_code: exitCode, signal: 0, exited_at: '', oom_killed: false, pid: 0 } });
      finished();
    },
  });
  call.write({ ready: true, tty: session.tty });
  let inputEnded = false;
  // The end of the client's input closes the process's stdin; with a terminal it ends the
  // client's attachment instead (the process goes on), as Docker's exec does.
  const endInput = () => {
    inputEnded = true;
    session.closeStdin();
    if (session.tty && !ended) {
      ended = true;
      finished();
    }
  };
  call.on('data', (m: ExecStartInput__Output) => {
    if (m.input === 'stdin' && m.stdin) session.stdin(m.stdin);
    else if (m.input === 'close_stdin' && !inputEnded) endInput();
    else if (m.input === 'detached') {
      session.detach(true);
      ended = true;
      finished();
    }
  });
  call.on('end', () => {
    if (!inputEnded) endInput();
  });
  await Promise.race([done, whenCallGone(call)]);
  if (!ended) {
    ended = true;
    session.detach(false);
  }
}

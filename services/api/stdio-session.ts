/**
 * A stdio stream with the daemon (Containers.Attach, Containers.ExecStart) as the api's
 * AttachSession: the `open` message, its `ready`, then output in and stdin out, tied to the HTTP
 * client's lifetime (its going away before `ready` cancels the daemon call; after, the session
 * leaves: the call ends once the daemon has passed on the stdin sent before).
 */
import type * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { internal } from '../../common/errors.js';
import { streamError } from '../../common/grpc.js';
import { endThenCancel } from '../../common/grpc-streams.js';
import type { Logger } from '../../common/log.js';
import type { AttachEvent, AttachSession } from './containers/backend.js';

const LAYER = 'daemon';
/** How long a client leaving waits for the daemon to end the call before cutting it. */
const LEAVE_GRACE_MS = 2_000;

export type AnyStream = grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>;

/** Cancels `call` when the HTTP client goes away; returns the function that stops watching. */
export function guard(call: { on(event: 'error', fn: () => void): unknown; cancel(): void }, abort: AbortSignal, method: string, log?: Logger): () => void {
  call.on('error', () => undefined);
  const onAbort = () => {
    log?.debug('cancelled a daemon call: its client went away', { method });
    call.cancel();
  };
  if (abort.aborted) call.cancel();
  else abort.addEventListener('abort', onAbort, { once: true });
  return () => abort.removeEventListener('abort', onAbort);
}

/** The messages of a stream; ends quietly when the caller aborted, throws EngineErrors otherwise. */
export async function* messages<T>(call: AnyStream, abort: AbortSignal): AsyncGenerator<T> {
  try {
    for await (const msg of call as AsyncIterable<T>) yield msg;
  } catch (err) {
    if (abort.aborted) return;
    throw streamError(LAYER, err);
  }
}

type StdioOut = { ready?: boolean; stdout?: Buffer; stderr?: Buffer; exit?: { exit_code: number } | null; tty: boolean };

/**
 * Sends `open` on a fresh stdio call and waits for the daemon's `ready`. `method` is the daemon's
 * (logged when the client's leaving cancels it); `what` names the operation in errors.
 */
export async function openStdioSession<I>(
  call: grpc.ClientDuplexStream<I, unknown>,
  open: unknown,
  abort: AbortSignal,
  names: { method: 'Attach' | 'ExecStart'; what: string },
  log?: Logger,
): Promise<AttachSession> {
  const { method, what } = names;
  // Ended by the client going away (guarded) or by a detach from this side: either way quietly.
  const detached = new AbortController();
  const quiet = AbortSignal.any([abort, detached.signal]);
  const release = guard(call as AnyStream, abort, method, log);
  call.write({ open } as I);
  const it = messages<StdioOut>(call as AnyStream, quiet);
  let first: IteratorResult<StdioOut>;
  try {
    first = await it.next();
  } catch (err) {
    release();
    throw err;
  }
  if (first.done || !first.value.ready) {
    release();
    call.cancel();
    if (abort.aborted) throw internal('the client went away');
    throw internal(`the daemon did not confirm the ${what}`);
  }
  // From here a client going away leaves rather than cuts: what it sent before still counts.
  release();
  const writable = () => !call.destroyed && !call.writableEnded;
  let left = false;
  const leave = () => {
    // The daemon ends the call once it has passed on the stdin that came before.
    if (left) return;
    left = true;
    detached.abort();
    endThenCancel(call as grpc.ClientDuplexStream<unknown, unknown>, LEAVE_GRACE_MS);
  };
  const onClientGone = () => {
    log?.debug('ended a daemon call: its client went away', { method });
    leave();
  };
  abort.addEventListener('abort', onClientGone, { once: true });
  const output = (async function* (): AsyncGenerator<AttachEvent> {
    try {
      for await (const m of it) {
        if (m.stdout) yield { kind: 'stdout', data: m.stdout };
        else if (m.stderr) yield { kind: 'stderr', data: m.stderr };
        else if (m.exit) {
          yield { kind: 'exit', exitCode: m.exit.exit_code };
          return;
        }
      }
    } finally {
      abort.removeEventListener('abort', onClientGone);
      call.cancel();
    }
  })();
  return {
    tty: first.value.tty,
    output,
    async writeStdin(data) {
      if (!writable()) return;
      if (!call.write({ stdin: data } as I)) await once(call, 'drain').catch(() => undefined);
    },
    closeStdin() {
      if (writable()) call.write({ close_stdin: true } as I);
    },
    detach() {
      detached.abort();
      call.cancel();
    },
    leave,
  };
}

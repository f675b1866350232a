/**
 * Helpers for the body of gRPC stream handlers: cancellation as an AbortSignal, writing with
 * back-pressure, coalescing bytes into messages, and reading a stream of `open` then data.
 */
import type * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { invalidArgument } from './errors.js';

/** Byte streams (tars, logs) go out in messages of about this size. */
export const STREAM_CHUNK_BYTES = 256 * 1024;

type Cancellable = { on(event: 'cancelled', fn: () => void): unknown; cancelled: boolean };
type WritableCall<T> = grpc.ServerWritableStream<unknown, T> | grpc.ServerDuplexStream<unknown, T>;

/** Aborted once the caller cancels the call (its client went away). */
export function callSignal(call: Cancellable, reason = 'the call was cancelled'): AbortSignal {
  const ac = new AbortController();
  if (call.cancelled) ac.abort(new Error(reason));
  else call.on('cancelled', () => ac.abort(new Error(reason)));
  return ac.signal;
}

/** A Docker Engine API document as the contracts carry it (JsonDocument). */
export function jsonDocument(value: unknown): { json: Buffer } {
  return { json: Buffer.from(JSON.stringify(value)) };
}

/** Resolves once the caller cancels the call or it closes. */
export function whenCallGone(call: { cancelled: boolean; on(event: 'cancelled' | 'close', fn: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => {
    if (call.cancelled) return resolve();
    call.on('cancelled', () => resolve());
    call.on('close', () => resolve());
  });
}

/** Writes one message, waiting while the transport's buffer is full; a no-op once cancelled. */
export async function writeMessage<T>(call: WritableCall<T>, msg: T): Promise<void> {
  if (call.cancelled) return;
  if (!call.write(msg)) await Promise.race([once(call, 'drain'), once(call, 'cancelled')]);
}

/** Writes pieces of a byte stream coalesced into STREAM_CHUNK_BYTES messages, with back-pressure. */
export function chunkWriter<T>(call: WritableCall<T>, wrap: (data: Buffer) => T) {
  let pending: Buffer[] = [];
  let size = 0;
  return {
    async write(piece: Buffer): Promise<void> {
      pending.push(piece);
      size += piece.length;
      if (size >= STREAM_CHUNK_BYTES) await this.flush();
    },
    async flush(): Promise<void> {
      if (size === 0) return;
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      size = 0;
      await writeMessage(call, wrap(data));
    },
  };
}

/**
 * The messages of a client stream as an async iterable. destroyOnReturn is off: a plain for-await
 * over a duplex call destroys it when the input ends, which would cut the response side too.
 */
export function messagesOf<T>(call: grpc.ServerReadableStream<T, unknown> | grpc.ServerDuplexStream<T, unknown>): AsyncIterable<T> {
  return call.iterator({ destroyOnReturn: false }) as AsyncIterable<T>;
}

/** The data of a stream of `{ data }` messages. */
export async function* dataOf(messages: AsyncIterable<{ data?: Buffer }>): AsyncGenerator<Buffer> {
  for await (const msg of messages) if (msg.data?.length) yield msg.data;
}

/**
 * A client stream whose first message is `open` and the rest `{ data }`: the open message, and an
 * iterator over the data that follows. `what` names the call in the error for a missing `open`.
 */
export async function openThenData<M extends { open?: unknown; data?: Buffer }>(
  messages: AsyncIterable<M>,
  what: string,
): Promise<{ open: NonNullable<M['open']>; data: AsyncGenerator<Buffer> }> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  const open = first.done ? undefined : (first.value.open as M['open'] | undefined);
  if (!open) throw invalidArgument(`the first ${what} message must be \`open\``);
  const rest: AsyncIterable<M> = { [Symbol.asyncIterator]: () => it };
  return { open, data: dataOf(rest) };
}

/**
 * Leaves a client stream gracefully: ends its sending side, so the server passes on what was sent
 * and ends the call in turn, and cancels the call if the server has not done so within graceMs. A
 * cancel alone may drop messages still in the transport's buffers.
 */
export function endThenCancel(call: grpc.ClientDuplexStream<unknown, unknown>, graceMs: number): void {
  if (!call.destroyed && !call.writableEnded) call.end();
  const cut = setTimeout(() => call.cancel(), graceMs);
  cut.unref();
  call.once('status', () => clearTimeout(cut));
}

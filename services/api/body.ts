/**
 * Request bodies. The api parses no body before a handler asks for it: JSON bodies are read here,
 * bounded and checked the way moby's httputils.CheckForJSON and its decoders check them (Docker's
 * 400 wording); tar bodies are streamed by their handlers and never buffered.
 *
 * @example
 *   const body = await readBody(req.raw, MAX_JSON_BODY_BYTES);
 *   const config = parseJsonObject(body, { empty: 'invalid JSON: got EOF while reading request body' });
 */
import type { Readable } from 'node:stream';
import { invalidArgument } from '../../common/errors.js';

/** A JSON request body (a container config) never needs more than this. */
export const MAX_JSON_BODY_BYTES = 10 * 1024 * 1024;

/** moby's CheckForJSON: no Content-Type is fine without a body; otherwise it must be JSON. */
export function checkJsonContentType(contentType: string | undefined, hasBody: boolean): void {
  if (contentType === undefined || contentType === '') {
    if (!hasBody) return;
    throw invalidArgument(`unsupported Content-Type header (): must be 'application/json'`);
  }
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mediaType)) {
    throw invalidArgument(`malformed Content-Type header (${contentType}): mime: expected slash after first token`);
  }
  if (mediaType !== 'application/json') {
    throw invalidArgument(`unsupported Content-Type header (${contentType}): must be 'application/json'`);
  }
}

/**
 * How long a JSON body may stall between two chunks before the request is refused (a client that
 * trickles a body forever holds nothing longer than this).
 */
export const BODY_IDLE_TIMEOUT_MS = Number(process.env.TERSANE_API_BODY_IDLE_TIMEOUT_MS) > 0 ? Number(process.env.TERSANE_API_BODY_IDLE_TIMEOUT_MS) : 30_000;

/** The whole body, refusing one larger than `limit` bytes as soon as it is, or one that stalls. */
export async function readBody(stream: Readable, limit: number, idleMs = BODY_IDLE_TIMEOUT_MS): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      stream.destroy();
    }, idleMs);
  };
  arm();
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > limit) {
        stream.destroy();
        throw invalidArgument(`request body is too large: more than ${limit} bytes`);
      }
      chunks.push(buf);
      arm();
    }
  } catch (err) {
    if (stalled) throw Object.assign(new Error(`request body timed out: nothing received for ${idleMs} ms`), { statusCode: 408 });
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (stalled) throw Object.assign(new Error(`request body timed out: nothing received for ${idleMs} ms`), { statusCode: 408 });
  return Buffer.concat(chunks, size);
}

/**
 * A body that must be one JSON object (a container create body). `messages.empty` is the error for
 * an empty body, `messages.null` for a JSON null (Docker decodes it to no config at all); the error
 * for malformed JSON starts with Docker's "invalid JSON: ".
 */
export function parseJsonObject(body: Buffer | string, messages: { empty: string; null?: string }): Record<string, unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw invalidArgument(messages.empty);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
  if (value === null && messages.null) throw invalidArgument(messages.null);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`invalid JSON: the request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

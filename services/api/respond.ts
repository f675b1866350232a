/**
 * How handlers answer: the headers every Docker answer carries, JSON documents passed through as
 * bytes, and streamed answers (logs, wait, load, save) written at the pace the client reads, with
 * the client's going away turned into an abort of whatever the stream holds below.
 *
 * @example
 *   sendJson(reply, 201, { Id: id, Warnings: [] });
 *   const out = openStream(reply, 200, { 'Content-Type': 'application/x-tar' });
 *   for await (const chunk of backend.save(names, out.abort)) await out.write(chunk);
 *   out.end();
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { API_VERSION } from './version.js';

/** tersane's own version, in the Server header (Docker's reads "Docker/28.2.2 (linux)"). */
export const ENGINE_VERSION = '0.1.0';

/** Set on every answer, as moby's version and experimental middlewares do. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: `tersane/${ENGINE_VERSION} (linux)`,
});

/**
 * A JSON answer. The Content-Type is exactly "application/json": the docker CLI reads an error's
 * message only then (a string payload would make Fastify append "; charset=utf-8").
 */
export function sendJson(reply: FastifyReply, status: number, body: Buffer | string | object): void {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body) + '\n', 'utf8');
  reply.code(status).header('Content-Type', 'application/json').send(payload);
}

export function sendEmpty(reply: FastifyReply, status: number): void {
  reply.code(status).send();
}

/**
 * Aborted when the client goes away before the answer is complete: long calls (wait, logs -f,
 * load) pass it down so the daemon's side is cancelled too.
 */
export function clientGone(req: FastifyRequest, reply: FastifyReply): AbortController {
  const ac = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.once('close', onClose);
  // A request whose socket is already gone (the close happened before we listened).
  if (req.raw.socket?.destroyed) ac.abort();
  return ac;
}

export interface OutStream {
  readonly res: ServerResponse;
  readonly abort: AbortSignal;
  /** Writes; resolves when the client can take more, or at once if it is gone. */
  write(data: Buffer | string): Promise<void>;
  end(data?: Buffer | string): void;
  /** Cuts the answer short (the client sees an incomplete body, not a silently truncated one). */
  fail(): void;
}

/**
 * Takes the answer over from Fastify and sends the status and headers at once (a `docker wait`
 * or `logs -f` client sees the 200 before any body). `ac` is the request's clientGone controller.
 */
export function openStream(reply: FastifyReply, ac: AbortController, status: number, headers: Record<string, string>): OutStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(status, { ...COMMON_HEADERS, ...headers });
  res.flushHeaders();
  return {
    res,
    abort: ac.signal,
    write(data) {
      if (res.destroyed || res.writableEnded) return Promise.resolve();
      if (res.write(data)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    },
    end(data) {
      if (!res.destroyed && !res.writableEnded) res.end(data);
    },
    fail() {
      res.destroy();
    },
  };
}

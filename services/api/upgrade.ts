/**
 * Requests that ask for a protocol upgrade (`Connection: Upgrade`), which Node's HTTP server hands
 * over as a raw socket before any routing: the attach endpoint (the docker CLI always asks for an
 * upgrade there). Anything else asking for an upgrade gets Docker's 404. Errors before the
 * connection is hijacked are ordinary HTTP answers in Docker's shape, written by hand.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { contextFromHeaders, inSpan, isTracing, SpanKind } from '../../common/tracing.js';
import { parseAttachParams, prepareAttach, runAttach } from './containers/attach.js';
import type { ContainersBackend } from './containers/backend.js';
import type { ExecBackend } from './exec/backend.js';
import { prepareExecStartUpgrade } from './exec/handlers.js';
import { PAGE_NOT_FOUND, rawErrorResponse } from './httperror.js';
import type { Query } from './query.js';
import { COMMON_HEADERS } from './respond.js';
import { checkApiVersion, splitVersion } from './version.js';

const ATTACH_PATH = /^\/containers\/([^/]+)\/attach$/;
const EXEC_START_PATH = /^\/exec\/([^/]+)\/start$/;

function refuse(socket: Socket, err: unknown): void {
  if (socket.destroyed) return;
  socket.end(rawErrorResponse(err, COMMON_HEADERS), () => socket.destroy());
}

export interface UpgradeHandler {
  (req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Connections taken over and still open (ended when the api stops). */
  readonly open: Set<Socket>;
}

export function upgradeHandler(backend: ContainersBackend, log: Logger, debug: boolean, execs?: ExecBackend): UpgradeHandler {
  const open = new Set<Socket>();

  /** POST /exec/{id}/start (docker exec without -d): exec/handlers.ts. */
  async function serveExecStart(req: IncomingMessage, socket: Socket, head: Buffer, version: string, rawId: string): Promise<void> {
    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    let started;
    try {
      checkApiVersion(version);
      let id: string;
      try {
        id = decodeURIComponent(rawId);
      } catch {
        throw notFound(PAGE_NOT_FOUND);
      }
      const contentLength = Number(req.headers['content-length'] ?? 0) || 0;
      started = await prepareExecStartUpgrade(execs!, socket, { id, version, head, contentLength, abort: ac.signal });
    } catch (err) {
      return refuse(socket, err);
    }
    if (started.detached) {
      let answer = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n';
      for (const [k, v] of Object.entries(COMMON_HEADERS)) answer += `${k}: ${v}\r\n`;
      socket.end(answer + '\r\n', () => socket.destroy());
      return;
    }
    // Paused while the body was read; the streams' listeners are in place before data flows again.
    socket.resume();
    await runAttach(backend, socket, started.prepared, { upgrade: true, version, head: started.rest, abort: ac });
  }

  async function serve(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const { version, url } = splitVersion(req.url ?? '/');
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const e = EXEC_START_PATH.exec(path);
    if (req.method === 'POST' && e && execs) return serveExecStart(req, socket, head, version, e[1]);
    const m = ATTACH_PATH.exec(path);
    if (req.method !== 'POST' || !m) return refuse(socket, notFound(PAGE_NOT_FOUND));

    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    let prepared;
    try {
      checkApiVersion(version);
      let id: string;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        throw notFound(PAGE_NOT_FOUND);
      }
      const query = (q < 0 ? {} : parseQuery(url.slice(q + 1))) as Query;
      prepared = await prepareAttach(backend, parseAttachParams(id, query), ac.signal);
    } catch (err) {
      return refuse(socket, err);
    }
    await runAttach(backend, socket, prepared, { upgrade: true, version, head, abort: ac });
  }

  const handler = ((req, socket, head) => {
    const t0 = debug ? process.hrtime.bigint() : 0n;
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (debug) log.debug('upgraded request done', { method: req.method, url: req.url, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
    socket.on('error', () => undefined);
    const served = isTracing()
      ? inSpan('POST /containers/:id/attach', () => serve(req, socket, head), { parent: contextFromHeaders(req.headers), kind: SpanKind.SERVER })
      : serve(req, socket, head);
    served.catch((err) => {
      log.error('upgraded request failed', { url: req.url, err: (err as Error).stack ?? String(err) });
      socket.destroy();
    });
  }) as UpgradeHandler;
  Object.defineProperty(handler, 'open', { value: open });
  return handler;
}

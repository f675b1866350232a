/**
 * HTTP for the registry client: node's http/https with keep-alive agents, a bounded time for every
 * request (a registry that stops answering fails with an error that names the bound), redirects
 * followed for reads (blob storage often lives elsewhere; credentials are not carried to another
 * host), TLS verified against the system's CAs, or not verified at all for an insecure registry.
 *
 * Errors read like Go's net/http ones that Docker prints: `Get "http://127.0.0.1:5000/v2/": …`.
 *
 * @example
 *   const res = await send({ method: 'GET', url: new URL('http://127.0.0.1:5000/v2/') }, settings);
 *   if (res.status === 200) await res.drain();
 */
import { existsSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { EngineError, deadlineExceeded, internal, invalidArgument } from '../../../common/errors.js';

/**
 * How long a registry may stay silent — no connection, no response head, no body bytes — before a
 * request fails (TERSANE_REGISTRY_TIMEOUT_MS). Docker's client gives a registry 30 s to answer.
 */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 30_000;
/** Redirects followed for one read (distribution hands blobs to its storage with a redirect). */
const MAX_REDIRECTS = 5;
/** Sockets kept per registry host: enough for the concurrent layer transfers plus metadata. */
const MAX_SOCKETS_PER_HOST = 16;
/** Where Debian keeps the system's CA bundle (ca-certificates). */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface HttpSettings {
  /** Milliseconds of silence before a request fails. */
  timeoutMs: number;
  /** Do not verify the server's certificate (insecure registries over HTTPS). */
  tlsInsecure?: boolean;
}

export interface Request {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a stream (sent once: a request with a stream body is never retried). */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** Every WWW-Authenticate header, separately (node joins repeated headers). */
  challenges: string[];
  /** The URL that answered (after redirects). */
  url: URL;
  body: IncomingMessage;
  /** The body as bytes, refusing more than `limit`. */
  bytes(limit: number, what: string): Promise<Buffer>;
  /** Reads and drops the body, so the connection can be reused. */
  drain(): Promise<void>;
}

/** Go's method names as net/http errors print them. */
function goMethod(method: string): string {
  return method[0] + method.slice(1).toLowerCase();
}

/** `Get "url": what`, as Docker shows transport errors. */
export function requestError(method: string, url: URL, what: string): string {
  return `${goMethod(method)} ${JSON.stringify(url.toString())}: ${what}`;
}

let systemCa: string[] | undefined;
function caBundle(): string[] {
  if (!systemCa) {
    systemCa = [...tls.rootCertificates];
    if (existsSync(SYSTEM_CA_BUNDLE)) systemCa.push(readFileSync(SYSTEM_CA_BUNDLE, 'utf8'));
  }
  return systemCa;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST }),
  https: undefined as https.Agent | undefined,
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST, rejectUnauthorized: false }),
};

function agentFor(url: URL, settings: HttpSettings): http.Agent {
  if (url.protocol === 'http:') return agents.http;
  if (settings.tlsInsecure) return agents.httpsInsecure;
  agents.https ??= new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST, ca: caBundle() });
  return agents.https;
}

/** A transport failure in Go's words where they differ from node's. */
function describe(err: NodeJS.ErrnoException, url: URL): string {
  const addr = `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ECONNRESET':
      return `read tcp ${addr}: connection reset by peer`;
    default:
      return err.message;
  }
}

function sendOnce(req: Request, settings: HttpSettings): Promise<Response> {
  const { url } = req;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(invalidArgument(requestError(req.method, url, `unsupported protocol scheme "${url.protocol.replace(/:$/, '')}"`)));
  }
  const mod = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'User-Agent': 'tersane', ...req.headers };
  if (Buffer.isBuffer(req.body)) headers['Content-Length'] = String(req.body.length);
  else if (req.body === undefined && ['POST', 'PUT', 'PATCH'].includes(req.method)) headers['Content-Length'] = '0';
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const r = mod.request(url, { method: req.method, headers, agent: agentFor(url, settings), signal: req.signal });
    // Silence, from connecting to the last byte of the body: one bound for all of it, re-armed by
    // every byte that moves (a body sent, a head or body received).
    let timer: NodeJS.Timeout | undefined;
    let response: IncomingMessage | undefined;
    const disarm = () => clearTimeout(timer);
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // Silence because this side stopped reading (its consumer is slower) is not the registry's.
        if (response && response.readableLength >= response.readableHighWaterMark) return arm();
        const seconds = settings.timeoutMs % 1000 === 0 ? `${settings.timeoutMs / 1000}s` : `${settings.timeoutMs}ms`;
        r.destroy(deadlineExceeded(requestError(req.method, url, `the registry did not answer within ${seconds} (TERSANE_REGISTRY_TIMEOUT_MS)`)));
      }, settings.timeoutMs);
    };
    arm();
    // Bytes arriving on the connection (the head, the body) re-arm it. The listener goes with the
    // request: a kept-alive socket serves others after it.
    r.on('socket', (socket) => {
      socket.on('data', arm);
      const off = () => socket.off('data', arm);
      r.once('close', off);
    });
    r.on('close', disarm);
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof EngineError) return fail(err);
      if (err.name === 'AbortError') return fail(new EngineError('cancelled', requestError(req.method, url, 'context canceled')));
      fail(internal(requestError(req.method, url, describe(err, url))));
    });
    r.on('response', (res) => {
      settled = true;
      response = res;
      arm();
      res.on('end', disarm);
      res.on('close', disarm);
      const challenges: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i].toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1]);
      }
      // Errors after the head (a body cut short, the silence bound) surface on the body stream.
      r.on('error', (err) => res.destroy(err));
      resolve({
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? '',
        headers: res.headers,
        challenges,
        url,
        body: res,
        async bytes(limit, what) {
          const parts: Buffer[] = [];
          let n = 0;
          for await (const piece of res) {
            n += (piece as Buffer).length;
            if (n > limit) {
              res.destroy();
              throw invalidArgument(`${what} is larger than ${limit} bytes`);
            }
            parts.push(piece as Buffer);
          }
          return Buffer.concat(parts);
        },
        async drain() {
          if (res.complete) return;
          res.resume();
          await new Promise<void>((done) => {
            res.once('end', done);
            res.once('close', done);
            res.once('error', () => done());
          });
        },
      });
    });
    if (req.body === undefined || Buffer.isBuffer(req.body)) {
      r.end(req.body);
    } else {
      req.body.on('error', (err) => r.destroy(err));
      req.body.on('data', arm);
      req.body.pipe(r);
    }
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends a request; a read (GET, HEAD) follows redirects, dropping the Authorization header when the
 * redirect leaves the host (a storage URL carries its own signature).
 */
export async function send(req: Request, settings: HttpSettings): Promise<Response> {
  let current = req;
  for (let hop = 0; ; hop++) {
    const res = await sendOnce(current, settings);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.status) || !location || (current.method !== 'GET' && current.method !== 'HEAD')) return res;
    await res.drain();
    if (hop >= MAX_REDIRECTS) throw internal(requestError(current.method, current.url, `stopped after ${MAX_REDIRECTS} redirects`));
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.host !== current.url.host) delete headers.Authorization;
    current = { ...current, url: next, headers };
  }
}

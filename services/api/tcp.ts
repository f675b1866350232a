/**
 * The Docker API on TCP, as dockerd's `-H tcp://… --tlsverify` serves it: TLS, and a client
 * certificate signed by the configured CA is required (a client without one never gets a byte of
 * HTTP). Plain TCP is served only when explicitly asked for, with Docker's warning in the log and
 * in `docker info`.
 *
 *   TERSANE_API_TCP=0.0.0.0:2376                   the address (host:port; [v6]:port)
 *   TERSANE_TLS_CERT / TERSANE_TLS_KEY             the server's certificate and key (PEM files)
 *   TERSANE_TLS_CA                                 the CA client certificates must chain to
 *   TERSANE_API_TCP_INSECURE=1                     plain HTTP instead (no TLS files then)
 *
 * TERSANE_API_TCP without TLS files and without the insecure flag is refused: the api serves its
 * unix socket only and says why (log and `docker info` Warnings).
 *
 * @example
 *   const tcp = await startTcpApi(tcpSettings(process.env), { handler, upgrade }, log);
 *   apiWarnings.push(...tcp.warnings);
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../../common/log.js';
import { rawErrorResponse } from './httperror.js';
import { COMMON_HEADERS } from './respond.js';

/** Node's default is 16 KiB; the api's own limit (server.ts) applies here too. */
export interface TcpHandlers {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  upgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  maxHeaderSize: number;
}

export interface TcpSettings {
  address?: { host: string; port: number };
  cert?: string;
  key?: string;
  ca?: string;
  insecure: boolean;
}

export interface TcpApi {
  /** Where it listens (the real port when 0 was asked), or undefined when not listening. */
  url?: string;
  /** What `docker info` shows in Warnings about it. */
  warnings: string[];
  close(): Promise<void>;
}

/** How long a TLS handshake may take before the connection is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

function flag(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/** "0.0.0.0:2376", "tcp://127.0.0.1:2376", "[::1]:2376" → host and port. */
export function parseTcpAddress(text: string): { host: string; port: number } {
  const t = text.trim().replace(/^tcp:\/\//, '');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(t);
  if (!m || Number(m[3]) > 65535) throw new Error(`TERSANE_API_TCP: "${text}" is not HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export function tcpSettings(env: NodeJS.ProcessEnv): TcpSettings {
  const raw = env.TERSANE_API_TCP?.trim();
  return {
    address: raw ? parseTcpAddress(raw) : undefined,
    cert: env.TERSANE_TLS_CERT || undefined,
    key: env.TERSANE_TLS_KEY || undefined,
    ca: env.TERSANE_TLS_CA || undefined,
    insecure: flag(env.TERSANE_API_TCP_INSECURE),
  };
}

/** Docker's warning for an API on plain TCP. */
export function insecureWarning(url: string): string {
  return (
    `WARNING: API is accessible on ${url} without encryption.\n` +
    '         Access to the remote API is equivalent to root access on the host. Refer\n' +
    "         to the 'Docker daemon attack surface' section in the documentation for\n" +
    '         more information: https://docs.docker.com/go/attack-surface/'
  );
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startTcpApi(settings: TcpSettings, h: TcpHandlers, log: Logger): Promise<TcpApi> {
  const none: TcpApi = { warnings: [], close: async () => undefined };
  const address = settings.address;
  if (!address) return none;
  const tlsFiles = [settings.cert, settings.key, settings.ca];
  const tls = tlsFiles.every(Boolean);
  if (!tls && !settings.insecure) {
    const missing = tlsFiles.some(Boolean) ? 'TERSANE_TLS_CERT, TERSANE_TLS_KEY and TERSANE_TLS_CA must all be set' : 'no TLS certificates are configured';
    const warning = `WARNING: TERSANE_API_TCP=${hostForUrl(address.host)}:${address.port} is not served: ${missing} (a TCP listener requires TLS with client certificate verification; set TERSANE_API_TCP_INSECURE=1 to serve plain HTTP anyway).`;
    log.error('refusing to serve the Docker API on TCP without TLS', { address: `${address.host}:${address.port}`, reason: missing });
    return { ...none, warnings: [warning] };
  }
  let server: Server;
  let scheme: string;
  if (tls) {
    server = createHttpsServer(
      {
        cert: readFileSync(settings.cert!),
        key: readFileSync(settings.key!),
        ca: readFileSync(settings.ca!),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        // A hijacked attach is half-closed by the docker CLI (it shuts the TCP connection's write
        // side under TLS once it has no stdin to send): the output must still flow back, as it
        // does on the unix socket.
        allowHalfOpen: true,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        maxHeaderSize: h.maxHeaderSize,
      },
      h.handler,
    );
    scheme = 'https';
  } else {
    server = createHttpServer({ maxHeaderSize: h.maxHeaderSize }, h.handler);
    scheme = 'http';
  }
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.allowHalfOpen = true;
    h.upgrade(req, socket, head);
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(rawErrorResponse(Object.assign(new Error(status === 431 ? 'request headers are too large' : 'malformed HTTP request'), { statusCode: status }), COMMON_HEADERS), () => socket.destroy());
  });
  // A refused certificate ends the connection in the handshake: log it, never crash on it.
  server.on('tlsClientError', (err: Error) => log.warn('TLS client refused', { reason: err.message }));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await listen(server, address.host, address.port);
  const url = `${scheme === 'https' ? 'tcp' : 'http'}://${hostForUrl(address.host)}:${port}`;
  const warnings = tls ? [] : [insecureWarning(`http://${hostForUrl(address.host)}:${port}`)];
  if (tls) log.info('serving the Docker API on TCP with TLS and client certificate verification', { address: url });
  else log.warn('serving the Docker API on plain TCP: anyone who can reach it is root on this host', { address: url });
  return {
    url,
    warnings,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The Docker Engine API server: Fastify on the Docker socket, every route under `/…` and
 * `/v1.NN/…`, every error in Docker's shape, upgrade requests (attach) taken before routing, and
 * no body parsed until a handler asks (JSON bounded, tars streamed).
 *
 * @example
 *   const api = await startApiServer({ cfg, log, backends: daemonBackends(connectDaemon(cfg)) });
 *   await api.close();
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { Config } from '../../common/config.js';
import { notFound } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { LATENCY_BUCKETS, type ServiceMetrics } from '../../common/metrics.js';
import { contextFromHeaders, inSpan, isTracing, SpanKind } from '../../common/tracing.js';
import { Histogram } from 'prom-client';
import { containerRoutes } from './containers/routes.js';
import type { Backends } from './daemon-backend.js';
import { errorResponse, PAGE_NOT_FOUND, rawErrorResponse } from './httperror.js';
import { imageRoutes } from './images/routes.js';
import { registryRoutes } from './images/registry-routes.js';
import { execRoutes } from './exec/routes.js';
import { containerOpsRoutes } from './containers/ops-routes.js';
import { fileRoutes } from './files/routes.js';
import { networkRoutes } from './networks/routes.js';
import { volumeRoutes } from './volumes/routes.js';
import { clearStaleSocket, restrictSocket, withPrivateUmask } from './listen.js';
import type { Query } from './query.js';
import { COMMON_HEADERS, sendJson } from './respond.js';
import type { Route } from './router.js';
import { systemRoutes } from './system/routes.js';
import { upgradeHandler } from './upgrade.js';
import { startTcpApi, tcpSettings, type TcpHandlers } from './tcp.js';
import { setApiWarnings } from './warnings.js';
import { API_VERSION, checkApiVersion, VERSIONED_PATH } from './version.js';

/** Node's default is 16 KiB; Docker's Go server takes 1 MiB. Registry auth headers can be long. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Image names can be long; ids are 64. */
const MAX_PARAM_LENGTH = 1024;

interface VersionedMessage extends IncomingMessage {
  apiVersion?: string;
}

export interface ApiServerOptions {
  log: Logger;
  backends: Backends;
  /** Log each request at debug level. */
  debug?: boolean;
  /** The service's metrics: request times per route, and the api's phase of container starts. */
  metrics?: ServiceMetrics;
}

interface RouteConfig {
  startPhase?: boolean;
}

function sendError(reply: FastifyReply, err: unknown, log: Logger): void {
  const { status, body } = errorResponse(err);
  if (status >= 500 && status !== 503) log.error('request failed', { url: reply.request.url, err: (err as Error)?.stack ?? String(err) });
  reply.headers(COMMON_HEADERS);
  sendJson(reply, status, body);
}

/** The request and upgrade handlers of each app, for the TCP listener (tcp.ts) to serve too. */
const tcpHandlers = new WeakMap<FastifyInstance, TcpHandlers>();

/** The Fastify app with every route; not listening yet (tests inject requests into it). */
export function buildApp(opts: ApiServerOptions): FastifyInstance {
  const { log, backends } = opts;
  const debug = opts.debug ?? false;
  const upgrades = upgradeHandler(backends.containers, log, debug, backends.execs);
  let httpServer: Server | undefined;

  let handlers: TcpHandlers | undefined;
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    forceCloseConnections: true,
    requestTimeout: 0,
    // Versioned paths route like unversioned ones; the version rides on the request.
    rewriteUrl(req) {
      const url = req.url ?? '/';
      const m = VERSIONED_PATH.exec(url);
      if (!m) return url;
      (req as VersionedMessage).apiVersion = m[1];
      return m[2];
    },
    serverFactory(handler) {
      handlers = { handler, upgrade: upgrades, maxHeaderSize: MAX_HEADER_BYTES };
      httpServer = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handler);
      httpServer.on('upgrade', upgrades);
      return httpServer;
    },
    frameworkErrors(err, _req, reply) {
      sendError(reply, err, log);
    },
    clientErrorHandler(err: Error & { code?: string }, socket: Socket) {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const message = err.code === 'HPE_HEADER_OVERFLOW' ? `request headers are too large: more than ${MAX_HEADER_BYTES} bytes` : 'malformed HTTP request';
      socket.end(rawErrorResponse(Object.assign(new Error(message), { statusCode: status }), COMMON_HEADERS), () => socket.destroy());
    },
  });

  if (handlers) tcpHandlers.set(app, handlers);

  // No body is parsed ahead of its handler: each reads JSON (bounded) or streams a tar itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err, _req, reply) => sendError(reply, err, log));
  app.setNotFoundHandler((_req, reply) => sendError(reply, notFound(PAGE_NOT_FOUND), log));

  const metrics = opts.metrics;
  if (debug || metrics) {
    const requestSeconds = metrics
      ? new Histogram({
          name: 'tersane_api_request_seconds',
          help: 'Time the api took to answer a Docker API request, by route pattern, method and status code (a stream such as wait or logs counts until it ends).',
          labelNames: ['route', 'method', 'code'],
          buckets: LATENCY_BUCKETS,
          registers: [metrics.registry],
        })
      : undefined;
    app.addHook('onResponse', (req, reply, done) => {
      const ms = reply.elapsedTime;
      if (debug) log.debug('request', { method: req.method, url: req.raw.url, status: reply.statusCode, ms: Number(ms.toFixed(2)) });
      if (metrics && requestSeconds) {
        requestSeconds.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, code: String(reply.statusCode) }, ms / 1000);
        if ((req.routeOptions.config as RouteConfig | undefined)?.startPhase && reply.statusCode === 204) {
          metrics.startPhaseSeconds.observe({ phase: 'api' }, ms / 1000);
        }
      }
      done();
    });
  }

  const routes: Route[] = [
    ...systemRoutes(backends.system),
    ...containerRoutes(backends.containers),
    ...imageRoutes(backends.images, backends.registry),
    ...(backends.registry ? registryRoutes(backends.registry) : []),
    ...(backends.execs ? execRoutes(backends.execs, backends.containers) : []),
    ...(backends.containerOps ? containerOpsRoutes(backends.containerOps) : []),
    ...(backends.files ? fileRoutes(backends.files) : []),
    ...(backends.networks ? networkRoutes(backends.networks) : []),
    ...(backends.volumes ? volumeRoutes(backends.volumes) : []),
  ];
  for (const route of routes) {
    const handler = route.handler;
    app.route({
      method: route.method,
      url: route.url,
      config: { startPhase: route.startPhase ?? false } satisfies RouteConfig,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const version = (req.raw as VersionedMessage).apiVersion ?? API_VERSION;
        reply.headers(COMMON_HEADERS);
        checkApiVersion(version);
        const apiReq = { raw: req, version, params: req.params as Record<string, string>, query: req.query as Query };
        if (!isTracing()) return handler(apiReq, reply);
        // One trace per request, continuing the client's (the docker CLI sends a traceparent
        // when its own tracing is on); the calls below carry it on.
        return inSpan(`${route.method} ${route.url}`, () => handler(apiReq, reply), {
          parent: contextFromHeaders(req.headers),
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': route.method, 'http.route': route.url, 'docker.api.version': version },
        });
      },
    });
  }

  app.addHook('onClose', async () => {
    for (const socket of upgrades.open) socket.destroy();
  });
  return app;
}

export interface ApiServer {
  app: FastifyInstance;
  socketPath: string;
  close(): Promise<void>;
}

/** Listens on cfg.dockerSocket (see listen.ts for its file's permissions). */
export async function startApiServer(cfg: Config, opts: ApiServerOptions): Promise<ApiServer> {
  const app = buildApp(opts);
  const socketPath = cfg.dockerSocket;
  await clearStaleSocket(socketPath);
  await withPrivateUmask(() => app.listen({ path: socketPath }));
  const { mode, gid } = restrictSocket(socketPath, cfg.dockerSocketGroup);
  opts.log.info('serving the Docker API', { socket: socketPath, mode: mode.toString(8), group: gid === undefined ? 'root only' : cfg.dockerSocketGroup });
  // TCP only with TLS and client certificates, or explicitly insecure (tcp.ts).
  await app.ready();
  const tcp = await startTcpApi(tcpSettings(process.env), tcpHandlers.get(app)!, opts.log);
  setApiWarnings(tcp.warnings);
  return {
    app,
    socketPath,
    async close() {
      await tcp.close();
      await app.close();
      rmSync(socketPath, { force: true });
    },
  };
}

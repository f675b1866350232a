/**
 * The api server with the daemon down (its real client, pointed at a socket nobody serves): what the
 * api answers by itself — ping, versions, routing, request checks, errors — and the bounded 503
 * when the daemon is needed. The daemon's answers are covered end to end in test/e2e.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../common/config.js';
import { createLogger } from '../../common/log.js';
import { ServiceMetrics } from '../../common/metrics.js';
import { connectDaemon, type DaemonClients } from '../daemon/client.js';
import { daemonBackends } from './daemon-backend.js';
import { buildApp, startApiServer, type ApiServer } from './server.js';

const LAYER_WAIT_MS = 300;
const log = createLogger('api', 'error');

let root: string;
let cfg: Config;
let daemon: DaemonClients;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tsn-api-'));
  cfg = { ...loadConfig({ ...process.env, TERSANE_ROOT: root }), layerWaitMs: LAYER_WAIT_MS };
  daemon = connectDaemon(cfg);
});

afterAll(() => {
  daemon.close();
  rmSync(root, { recursive: true, force: true });
});

describe('api answers by itself', () => {
  it('pings with the headers the CLI negotiates from (GET and HEAD)', async () => {
    const app = buildApp({ log, backends: daemonBackends(daemon) });
    const get = await app.inject({ method: 'GET', url: '/_ping' });
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe('OK');
    expect(get.headers['api-version']).toBe('1.50');
    expect(get.headers['docker-experimental']).toBe('false');
    expect(get.headers['ostype']).toBe('linux');
    expect(get.headers['cache-control']).toContain('no-cache');
    expect(get.headers['pragma']).toBe('no-cache');
    expect(get.headers['builder-version']).toBeDefined();
    const head = await app.inject({ method: 'HEAD', url: '/v1.41/_ping' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['api-version']).toBe('1.50');
    await app.close();
  });

  it('times each request by route pattern, not by its ids', async () => {
    const metrics = new ServiceMetrics('api');
    const app = buildApp({ log, backends: daemonBackends(daemon), metrics });
    await app.inject({ method: 'GET', url: '/v1.41/_ping' });
    await app.inject({ method: 'POST', url: '/containers/abc/wait?condition=sometime' });
    await app.inject({ method: 'GET', url: '/nope' });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tersane_api_request_seconds_count\{layer="api",route="\/_ping",method="GET",code="200"\} 1/);
    expect(text).toMatch(/tersane_api_request_seconds_count\{layer="api",route="\/containers\/:id\/wait",method="POST",code="400"\} 1/);
    expect(text).toMatch(/tersane_api_request_seconds_count\{layer="api",route="unmatched",method="GET",code="404"\} 1/);
    expect(text).not.toContain('abc');
    await app.close();
  });

  it("answers versions out of range and unknown routes as Docker does", async () => {
    const app = buildApp({ log, backends: daemonBackends(daemon) });
    const tooNew = await app.inject({ method: 'GET', url: '/v1.99/_ping' });
    expect(tooNew.statusCode).toBe(400);
    expect(tooNew.headers['content-type']).toContain('application/json');
    expect(tooNew.json()).toEqual({ message: 'client version 1.99 is too new. Maximum supported API version is 1.50' });
    const tooOld = await app.inject({ method: 'GET', url: '/v1.12/containers/json' });
    expect(tooOld.json()).toEqual({
      message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
    });
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/v1.41/nope'],
      ['PUT', '/containers/json'],
      ['GET', '/vfoo/containers/json'],
      ['POST', '/images/busybox/frobnicate'],
    ] as const) {
      const r = await app.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      // Exactly this: the docker CLI reads an error's message only from "application/json".
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.json()).toEqual({ message: 'page not found' });
    }
    await app.close();
  });

  it('refuses bad requests before reaching the daemon', async () => {
    const app = buildApp({ log, backends: daemonBackends(daemon) });
    const cases: Array<[string, string, Record<string, string>, string | undefined, RegExp]> = [
      ['POST', '/containers/create', { 'content-type': 'application/json' }, '{"Image":', /^invalid JSON: /],
      ['POST', '/containers/create', { 'content-type': 'application/json' }, '[1,2]', /must be a JSON object/],
      ['POST', '/containers/create', { 'content-type': 'text/plain' }, '{}', /unsupported Content-Type header \(text\/plain\)/],
      ['POST', '/containers/create', {}, undefined, /invalid JSON: got EOF while reading request body/],
      ['GET', '/containers/json?filters=%7Bnope', {}, undefined, /^invalid filter$/],
      ['GET', '/containers/json?limit=abc', {}, undefined, /strconv.Atoi: parsing "abc": invalid syntax/],
      ['POST', '/containers/x/wait?condition=sometime', {}, undefined, /invalid condition: "sometime"/],
      ['GET', '/containers/x/logs', {}, undefined, /you must choose at least one stream/],
      ['POST', '/containers/x/resize?h=a&w=1', {}, undefined, /strconv.Atoi/],
      ['POST', '/containers/x/start', { 'content-type': 'application/json' }, '{"Binds":["/a:/b"]}', /non-empty request body/],
    ];
    for (const [method, url, headers, payload, message] of cases) {
      const r = await app.inject({ method: method as 'GET' | 'POST', url, headers, payload });
      expect(r.statusCode, `${method} ${url}`).toBe(400);
      expect(r.headers['content-type']).toContain('application/json');
      expect(r.json().message).toMatch(message);
    }
    await app.close();
  });

  it('refuses a JSON body over the limit without reading it all', async () => {
    const app = buildApp({ log, backends: daemonBackends(daemon) });
    const big = '{"Image":"' + 'x'.repeat(11 * 1024 * 1024) + '"}';
    const r = await app.inject({ method: 'POST', url: '/containers/create', headers: { 'content-type': 'application/json' }, payload: big });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/request body is too large/);
    await app.close();
  });

  it('answers 503 naming the daemon when it is down, within the bounded wait', async () => {
    const app = buildApp({ log, backends: daemonBackends(daemon) });
    for (const [method, url] of [
      ['GET', '/containers/json'],
      ['GET', '/version'],
      ['POST', '/containers/x/start'],
      ['POST', '/containers/x/wait'],
      ['GET', '/containers/x/logs?stdout=1'],
      ['GET', '/images/get?names=busybox'],
    ] as const) {
      const t0 = Date.now();
      const r = await app.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(503);
      expect(r.json().message).toMatch(/^tersane daemon is unavailable/);
      expect(Date.now() - t0).toBeLessThan(LAYER_WAIT_MS + 2000);
    }
    await app.close();
  });
});

describe('api on its socket', () => {
  let server: ApiServer;
  const httpGet = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request({ socketPath: cfg.dockerSocket, path, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const rawExchange = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(cfg.dockerSocket);
      let out = '';
      sock.on('data', (d) => (out += d));
      sock.on('close', () => resolve(out));
      sock.on('error', reject);
      sock.write(text);
    });

  beforeAll(async () => {
    // A stale socket file left by a killed predecessor.
    mkdirSync(cfg.runDir, { recursive: true });
    const stale = createServer();
    await new Promise<void>((resolve, reject) => stale.once('error', reject).listen(cfg.dockerSocket, () => resolve()));
    await new Promise<void>((r) => stale.close(() => r()));
    server = await startApiServer(cfg, { log, backends: daemonBackends(daemon) });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('replaces a stale socket, is never world-accessible, and refuses to steal a live one', async () => {
    const mode = statSync(cfg.dockerSocket).mode & 0o777;
    expect(mode & 0o007).toBe(0);
    expect([0o600, 0o660]).toContain(mode);
    await expect(startApiServer(cfg, { log, backends: daemonBackends(daemon) })).rejects.toThrow(/already answers/);
    const r = await httpGet('/_ping');
    expect(r.status).toBe(200);
    expect(r.body).toBe('OK');
  });

  it('answers upgrade requests that are not an attach with 404 in JSON', async () => {
    const text = await rawExchange('POST /v1.50/session HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
    expect(text).toContain('Content-Type: application/json');
    expect(text.split('\r\n\r\n')[1]).toBe('{"message":"page not found"}\n');
  });

  it('answers an attach upgrade out of version range, and one with the daemon down, before hijacking', async () => {
    const tooNew = await rawExchange('POST /v1.99/containers/x/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    expect(tooNew.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(tooNew).toContain('is too new');
    const down = await rawExchange('POST /v1.50/containers/x/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    expect(down.startsWith('HTTP/1.1 503 Service Unavailable\r\n')).toBe(true);
    expect(JSON.parse(down.split('\r\n\r\n')[1]).message).toMatch(/^tersane daemon is unavailable/);
  });

  it('refuses headers over the bound with 431 in JSON', async () => {
    const text = await rawExchange(`GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
    expect(text.startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(JSON.parse(text.split('\r\n\r\n')[1]).message).toMatch(/headers are too large/);
  });

  it("answers a malformed request in Docker's shape", async () => {
    const text = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(JSON.parse(text.split('\r\n\r\n')[1])).toEqual({ message: 'malformed HTTP request' });
  });
});

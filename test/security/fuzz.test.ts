/**
 * Hostile input to the Docker API of a live stack (test/security/fuzz.ts makes the requests):
 * random routes, methods and versions with invalid ids, names and references, create bodies with
 * every known field given a wrong type, malformed JSON, bad content types, a body over the limit,
 * endless slow chunked bodies, header floods and broken HTTP — bounded in count and time.
 *
 * It ends with the api alive (the same process), no 5xx for any of these client mistakes, no
 * internals in any error (stack traces, the engine's paths), and nothing created: no container,
 * image, volume or network, no file in the engine's state.
 */
import { connect, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startStack, type Stack } from '../helpers/stack.js';
import { Fuzzer, type FuzzRequest } from './fuzz.js';

/** How many random requests, and how long they may take together. */
const RANDOM_REQUESTS = 1200;
const RANDOM_BUDGET_MS = 90_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** The api drops a body that stalls this long (TERSANE_API_BODY_IDLE_TIMEOUT_MS for this stack). */
const BODY_IDLE_MS = 1500;
const SEED = Number(process.env.TERSANE_FUZZ_SEED) || 0x7e25a9e;

let stack: Stack;

interface Answer {
  status: number;
  text: string;
  /** The connection ended without an HTTP answer. */
  dropped: boolean;
}

/** One request written by hand on a fresh connection (paths and headers exactly as given). */
function send(socketPath: string, req: FuzzRequest | { raw: Buffer }, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${'raw' in req ? req.raw.subarray(0, 80).toString('latin1') : `${req.method} ${req.path}`}`));
    }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, dropped: !m });
    });
    // written, never half-closed (as a Docker client does): the api answers and closes
    if ('raw' in req) {
      sock.write(req.raw);
      return;
    }
    let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(req.headers)) head += `${k}: ${v}\r\n`;
    if (req.body) head += `Content-Length: ${req.body.length}\r\n`;
    // one write: a server that answers before reading a body must not find it unread and reset
    sock.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), req.body ?? Buffer.alloc(0)]));
  });
}

/** What no error may carry: stack traces and the engine's own paths. */
const LEAKS = [/\n\s+at [\w.<>]+ \(/, /node_modules/, /\/work\//, new RegExp(REPO.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /\/dist\/services\//, /\.ts:\d+:\d+/, /\.js:\d+:\d+/];

function check(req: string, a: Answer, problems: string[]): void {
  if (a.dropped) problems.push(`no HTTP answer to ${req}: ${JSON.stringify(a.text.slice(0, 100))}`);
  if (a.status >= 500) problems.push(`${a.status} for ${req}: ${a.text.split('\r\n\r\n')[1]?.slice(0, 200)}`);
  // errors only: a successful document may name the engine's paths (/info's DockerRootDir, as Docker's)
  if (a.status >= 400) for (const leak of LEAKS) if (leak.test(a.text)) problems.push(`internals (${leak}) in the answer to ${req}: ${a.text.slice(0, 400)}`);
}

interface Snapshot {
  containers: string;
  images: string;
  volumes: string;
  networks: string;
  files: string[];
}

function stateFiles(): string[] {
  const dirs = [join(stack.cfg.layerState('daemon'), 'containers'), join(stack.cfg.layerState('containerd'), 'bundles'), join(stack.cfg.layerState('containerd'), 'snapshots'), join(stack.cfg.runDir, 'tasks')];
  return dirs.flatMap((d) => {
    try {
      return readdirSync(d).map((f) => join(d, f));
    } catch {
      return [];
    }
  });
}

async function snapshot(): Promise<Snapshot> {
  return {
    containers: await stack.dockerOk(['ps', '-aq', '--no-trunc']),
    images: await stack.dockerOk(['images', '-aq', '--no-trunc']),
    volumes: await stack.dockerOk(['volume', 'ls', '-q']),
    networks: await stack.dockerOk(['network', 'ls', '-q', '--no-trunc']),
    files: stateFiles().sort(),
  };
}

let before: Snapshot;
let apiPid: number;

beforeAll(async () => {
  stack = await startStack({ env: { TERSANE_API_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_MS) } });
  await stack.loadImage('busybox');
  before = await snapshot();
  apiPid = stack.pidOf('api')!;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('hostile input to the REST API', () => {
  it(`wrong types for every create field (seed ${SEED})`, async () => {
    const problems: string[] = [];
    const fuzz = new Fuzzer(SEED);
    let n = 0;
    for (const req of fuzz.createBodies()) {
      const a = await send(stack.cfg.dockerSocket, req);
      n++;
      check(`${req.method} ${req.path} ${req.body?.subarray(0, 120).toString()}`, a, problems);
      if (a.status < 400 || a.status >= 500) problems.push(`${a.status} for a create body that must fail: ${req.body?.subarray(0, 200).toString()}`);
    }
    expect(n).toBeGreaterThan(1000);
    expect(problems.slice(0, 20)).toEqual([]);
  }, 300_000);

  it(`random routes, methods, versions, ids, references, bodies and content types (seed ${SEED})`, async () => {
    const problems: string[] = [];
    const fuzz = new Fuzzer(SEED + 1);
    const deadline = Date.now() + RANDOM_BUDGET_MS;
    let n = 0;
    for (; n < RANDOM_REQUESTS && Date.now() < deadline; n++) {
      const req = fuzz.next();
      const a = await send(stack.cfg.dockerSocket, req);
      check(`${req.method} ${req.path}`, a, problems);
    }
    expect(n).toBeGreaterThan(200);
    expect(problems.slice(0, 20)).toEqual([]);
  }, 300_000);

  it('bodies over the limit, endless slow bodies, header floods and broken HTTP', async () => {
    const problems: string[] = [];
    const path = '/v1.50/containers/create';
    // over the JSON limit: refused as soon as it is, in Docker's shape
    const huge = await send(stack.cfg.dockerSocket, { method: 'POST', path, headers: { 'Content-Type': 'application/json' }, body: Buffer.alloc(11 * 1024 * 1024, 0x20) });
    expect(huge.status === 400 || huge.dropped, huge.text.slice(0, 200)).toBe(true);
    if (!huge.dropped) expect(huge.text).toContain('request body is too large');

    // an endless chunked body that trickles: the api lets go of it once it stalls
    const slow = await new Promise<{ closedAfterMs: number }>((resolve) => {
      const sock: Socket = connect(stack.cfg.dockerSocket);
      const t0 = Date.now();
      sock.on('error', () => undefined);
      sock.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`);
      let sent = 0;
      const drip = setInterval(() => {
        // a few bytes, then nothing: the stall is what the api must not wait out forever
        if (sent++ < 3) sock.write('1\r\n \r\n');
      }, 200);
      sock.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfterMs: Date.now() - t0 });
      });
      setTimeout(() => sock.destroy(), 20_000);
    });
    expect(slow.closedAfterMs).toBeLessThan(15_000);

    // many slow connections at once: none of them blocks the others
    const stalled: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = connect(stack.cfg.dockerSocket);
      s.on('error', () => undefined);
      s.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
      stalled.push(s);
    }
    const ping = await send(stack.cfg.dockerSocket, { method: 'GET', path: '/_ping', headers: {} });
    expect(ping.status).toBe(200);
    for (const s of stalled) s.destroy();

    // header floods: one huge header, thousands of small ones
    const big = await send(stack.cfg.dockerSocket, { method: 'GET', path: '/info', headers: { 'X-Flood': 'a'.repeat(100 * 1024) } });
    expect(big.status === 431 || big.dropped).toBe(true);
    const many: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) many[`X-H${i}`] = 'v'.repeat(20);
    const flood = await send(stack.cfg.dockerSocket, { method: 'GET', path: '/info', headers: many });
    expect(flood.status === 431 || flood.status === 400 || flood.dropped).toBe(true);

    // broken HTTP
    for (const raw of [
      'GARBAGE\r\n\r\n',
      'GET /info HTTP/9.9\r\n\r\n',
      'GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /info HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'GET /\u0000info HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /containers/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
    ]) {
      const a = await send(stack.cfg.dockerSocket, { raw: Buffer.from(raw, 'latin1') });
      if (!a.dropped) check(JSON.stringify(raw), a, problems);
      expect(a.status === 0 || (a.status >= 400 && a.status < 500), `${JSON.stringify(raw)} → ${a.text.slice(0, 100)}`).toBe(true);
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('the api is the same process, answers, and nothing was created', async () => {
    expect(stack.pidOf('api')).toBe(apiPid);
    expect(await stack.dockerOk(['version', '--format', '{{.Server.Version}}'])).toMatch(/\d/);
    const after = await snapshot();
    expect(after).toEqual(before);
  });
});

/**
 * Who can reach the Docker API: the unix socket is 0660 with the configured group (0600 when the
 * group does not exist), never world-writable; TCP is served only with TLS and client certificate
 * verification (Docker's --tlsverify: the real CLI with --tlsverify flags and with
 * DOCKER_CERT_PATH/DOCKER_TLS_VERIFY), and plain TCP only when explicitly asked for, with Docker's
 * warning in `docker info`. Certificates are made here with openssl.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, connect as netConnect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupId } from '../../services/api/listen.js';
import { startStack, type RunResult, type Stack } from '../helpers/stack.js';
import { makeCerts, type Certs } from './certs.js';

/** A group every Debian system has. */
const GROUP = 'users';

let dir: string;
let certs: Certs;
const stacks: Stack[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function docker(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const clean: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(dir, 'docker-config'), DOCKER_CLI_HINTS: 'false', ...env };
    for (const k of ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_CONTEXT']) if (!(k in env)) delete clean[k];
    const child = spawn('docker', args, { env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** A GET over TLS with the given client certificate (or none): the status, or the error's code. */
function tlsGet(port: number, path: string, client?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, ca: readFileSync(certs.ca), ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

function plainGet(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

beforeAll(() => {
  dir = mkdtempSync('/tmp/tsn-api-access-');
  certs = makeCerts(join(dir, 'certs'));
});

afterAll(async () => {
  for (const s of stacks) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Docker API over TCP with TLS and client certificates', () => {
  let stack: Stack;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    stack = await startStack({
      env: {
        TERSANE_SOCKET_GROUP: GROUP,
        TERSANE_API_TCP: `127.0.0.1:${port}`,
        TERSANE_TLS_CERT: certs.serverCert,
        TERSANE_TLS_KEY: certs.serverKey,
        TERSANE_TLS_CA: certs.ca,
      },
    });
    stacks.push(stack);
    await stack.loadImage('busybox');
  }, 180_000);

  it('the unix socket is 0660 with the configured group', () => {
    const st = statSync(stack.cfg.dockerSocket);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(groupId(GROUP));
    expect(st.mode & 0o002).toBe(0);
  });

  it('serves the docker CLI with --tlsverify and with DOCKER_CERT_PATH', async () => {
    const host = `tcp://127.0.0.1:${port}`;
    const flags = ['--tlsverify', '--tlscacert', certs.ca, '--tlscert', certs.clientCert, '--tlskey', certs.clientKey, '-H', host];
    const v = await docker([...flags, 'version', '--format', '{{.Server.Version}}'], {});
    expect(v.code, v.stderr).toBe(0);
    const run = await docker(['run', '--rm', 'busybox', 'echo', 'over-tls'], { DOCKER_HOST: host, DOCKER_CERT_PATH: certs.clientDir, DOCKER_TLS_VERIFY: '1' });
    expect(run.stdout.trim(), run.stderr).toBe('over-tls');
    const exec = await docker([...flags, 'run', '--rm', '-i', 'busybox', 'cat'], {});
    expect(exec.code).toBe(0);
  });

  it('refuses a client without a certificate, with one from another CA, and plain HTTP', async () => {
    const host = `tcp://127.0.0.1:${port}`;
    const none = await docker(['--tlsverify', '--tlscacert', certs.ca, '-H', host, 'version'], {});
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/certificate required|bad certificate|handshake/);
    const rogue = await docker(['--tlsverify', '--tlscacert', certs.ca, '--tlscert', certs.rogueCert, '--tlskey', certs.rogueKey, '-H', host, 'version'], {});
    expect(rogue.code).not.toBe(0);
    expect(rogue.stderr).toMatch(/certificate required|unknown ca|bad certificate/);
    const plain = await docker(['-H', host, 'version'], {});
    expect(plain.code).not.toBe(0);
    // the same at the protocol level: no HTTP answer at all without a good certificate
    expect(await tlsGet(port, '/_ping', { cert: certs.clientCert, key: certs.clientKey })).toBe('200');
    expect(await tlsGet(port, '/_ping')).toMatch(/ECONNRESET|ERR_SSL|EPROTO|certificate/i);
    expect(await tlsGet(port, '/_ping', { cert: certs.rogueCert, key: certs.rogueKey })).toMatch(/ECONNRESET|ERR_SSL|EPROTO|certificate/i);
    expect(await plainGet(port, '/_ping')).not.toMatch(/^200/);
    // the api is still there
    expect((await stack.docker(['version', '--format', '{{.Server.Version}}'])).code).toBe(0);
  });
});

describe('plain TCP', () => {
  it('is refused without the insecure flag: not listening, and docker info says why', async () => {
    const port = await freePort();
    const stack = await startStack({ env: { TERSANE_SOCKET_GROUP: 'tersane-no-such-group', TERSANE_API_TCP: `127.0.0.1:${port}` } });
    stacks.push(stack);
    // without its group the socket is root's alone
    expect(statSync(stack.cfg.dockerSocket).mode & 0o777).toBe(0o600);
    expect(await refusesConnections(port)).toBe(true);
    const warnings = JSON.parse(await stack.dockerOk(['info', '--format', '{{json .Warnings}}'])) as string[];
    expect(warnings.join('\n')).toContain(`TERSANE_API_TCP=127.0.0.1:${port} is not served`);
  }, 180_000);

  it('is served when explicitly insecure, with Docker\'s warning', async () => {
    const port = await freePort();
    const stack = await startStack({ env: { TERSANE_API_TCP: `127.0.0.1:${port}`, TERSANE_API_TCP_INSECURE: '1' } });
    stacks.push(stack);
    expect(await plainGet(port, '/_ping')).toBe('200 OK');
    const info = await docker(['-H', `tcp://127.0.0.1:${port}`, 'info', '--format', '{{json .Warnings}}'], {});
    expect(info.code, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as string[]).join('\n')).toContain(`WARNING: API is accessible on http://127.0.0.1:${port} without encryption.`);
  }, 180_000);
});

/**
 * A real registry for the tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, its config
 * and storage in a temporary directory; behind htpasswd basic auth (htpasswd from apache2-utils) or
 * token auth (a small token service of the test's own that signs RS256 JWTs with a key whose
 * certificate the registry trusts). Plus raw distribution-API helpers to put crafted blobs and
 * manifests into it, and tiny HTTP servers for what a real registry never does (stop answering,
 * answer slowly, serve a manifest that is not JSON).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TarWriter } from '../../services/containerd/tar.js';

const REGISTRY_BIN = '/usr/bin/docker-registry';
const REGISTRY_START_TIMEOUT_MS = 20_000;

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request to a loopback server (the tests' own plumbing, not the engine's client). */
export function http(method: string, url: string, opts: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body) headers['Content-Length'] = String(opts.body.length);
    const send = url.startsWith('https:') ? httpsRequest : request;
    const r = send(url, { method, headers, rejectUnauthorized: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

export type RegistryAuthMode = { htpasswd: { user: string; password: string } } | { token: TokenService };

export interface Registry {
  /** host:port, as image references name it. */
  host: string;
  url: string;
  dir: string;
  /** Authorization header value for raw pushes (basic, or a token for every scope). */
  authorization?: (scope: string) => Promise<string | undefined>;
  stop(): Promise<void>;
  log(): string;
}

/** Starts a registry; with `tls`, it serves HTTPS with a self-signed certificate made here. */
export async function startRegistry(auth?: RegistryAuthMode, opts: { tls?: boolean } = {}): Promise<Registry> {
  const dir = mkdtempSync('/tmp/tsn-registry-');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.tls) {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    lines.push('  tls:', `    certificate: ${join(dir, 'tls.crt')}`, `    key: ${join(dir, 'tls.key')}`);
  }
  let authorization: Registry['authorization'];
  if (auth && 'htpasswd' in auth) {
    const r = spawnSync('htpasswd', ['-Bbn', auth.htpasswd.user, auth.htpasswd.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), r.stdout);
    lines.push('auth:', '  htpasswd:', '    realm: tersane-test', `    path: ${join(dir, 'htpasswd')}`);
    const basic = `Basic ${Buffer.from(`${auth.htpasswd.user}:${auth.htpasswd.password}`).toString('base64')}`;
    authorization = async () => basic;
  } else if (auth && 'token' in auth) {
    const t = auth.token;
    writeFileSync(join(dir, 'token.crt'), t.certPem);
    lines.push('auth:', '  token:', `    realm: ${t.url}/token`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${join(dir, 'token.crt')}`);
    authorization = async (scope: string) => `Bearer ${t.issue(scope.split(' '))}`;
  }
  writeFileSync(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const logFile = join(dir, 'registry.log');
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', out, out] });
  closeSync(out);
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + REGISTRY_START_TIMEOUT_MS;
  for (;;) {
    try {
      const r = await http('GET', `${url}/v2/`);
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`docker-registry did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    authorization,
    log: () => readFileSync(logFile, 'utf8'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- token auth -----------------------------------------------------------------------------------

export interface TokenService {
  url: string;
  service: string;
  issuer: string;
  certPem: string;
  /** A token granting pull and push on every scope asked (for the tests' raw pushes). */
  issue(scopes: string[]): string;
  /** Requests the service answered, for assertions. */
  requests: Array<{ account?: string; scopes: string[]; status: number }>;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** libtrust's key id, which distribution matches a JWT's `kid` against: 240 bits of the key's hash. */
function libtrustKeyId(certPem: string): string {
  const der = createPublicKey(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' })).export({ type: 'spki', format: 'der' });
  const hash = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let b32 = '';
  for (let i = 0; i < bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return b32.match(/.{4}/g)!.join(':');
}

/**
 * A token service (docker/distribution's token spec): GET /token?service&scope with basic auth of a
 * known user grants the actions asked; a wrong password is 401 {"details": …}; anonymous gets no
 * access. The signing key and its self-signed certificate are made with openssl.
 */
export async function startTokenService(users: Record<string, string>): Promise<TokenService> {
  const dir = mkdtempSync('/tmp/tsn-token-');
  const key = join(dir, 'key.pem');
  const crt = join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=tersane-test-token'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const keyPem = readFileSync(key, 'utf8');
  const certPem = readFileSync(crt, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const kid = libtrustKeyId(certPem);
  const service = 'tersane-test-registry';
  const issuer = 'tersane-test-issuer';
  const privateKey = createPrivateKey(keyPem);
  const requests: TokenService['requests'] = [];

  const jwt = (account: string, scopes: string[]) => {
    const access = scopes
      .map((s) => /^repository:(.+):([a-z,*]+)$/.exec(s))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ type: 'repository', name: m[1], actions: m[2].split(',') }));
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: account, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), privateKey);
    return `${header}.${claims}.${b64url(signature)}`;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const scopes = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const answer = (status: number, body: unknown, account?: string) => {
      requests.push({ account, scopes, status });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname !== '/token') return answer(404, { details: 'not found' });
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!basic) return answer(200, { token: jwt('', []), expires_in: 300 });
    const [user, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    if (users[user] === undefined || users[user] !== rest.join(':')) return answer(401, { details: 'incorrect username or password' }, user);
    answer(200, { token: jwt(user, scopes), access_token: jwt(user, scopes), expires_in: 300 }, user);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    issuer,
    certPem,
    requests,
    issue: (scopes) => jwt('tersane-test', scopes),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---- raw distribution API (crafted content) --------------------------------------------------------

export interface Pushed {
  digest: string;
  size: number;
}

async function authHeaders(reg: Registry, repo: string): Promise<Record<string, string>> {
  const a = await reg.authorization?.(`repository:${repo}:pull,push`);
  return a ? { Authorization: a } : {};
}

/** Uploads a blob monolithically (POST, then PUT ?digest=), whatever its content. */
export async function putBlob(reg: Registry, repo: string, data: Buffer, digest = sha256(data)): Promise<Pushed> {
  const headers = await authHeaders(reg, repo);
  const start = await http('POST', `${reg.url}/v2/${repo}/blobs/uploads/`, { headers });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${start.body}`);
  const loc = new URL(String(start.headers.location), reg.url);
  loc.searchParams.set('digest', digest);
  const put = await http('PUT', loc.toString(), { headers: { ...headers, 'Content-Type': 'application/octet-stream' }, body: data });
  if (put.status !== 201) throw new Error(`blob put: ${put.status} ${put.body}`);
  return { digest, size: data.length };
}

export async function putManifest(reg: Registry, repo: string, reference: string, mediaType: string, body: Buffer): Promise<Pushed> {
  const headers = await authHeaders(reg, repo);
  const r = await http('PUT', `${reg.url}/v2/${repo}/manifests/${reference}`, { headers: { ...headers, 'Content-Type': mediaType }, body });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${r.body}`);
  return { digest: sha256(body), size: body.length };
}

export const MEDIA = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  list: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** A layer tar from entries made with TarWriter (w), gzip-compressed. */
export function layer(build: (w: TarWriter) => Buffer[][]): { tar: Buffer; gz: Buffer } {
  const w = new TarWriter();
  const tar = Buffer.concat([...build(w).flat(), ...w.end()]);
  return { tar, gz: gzipSync(tar) };
}

export interface CraftedImage {
  manifest: Buffer;
  manifestDigest: string;
  configDigest: string;
}

/**
 * Pushes an image made of the given layers (each a gzip blob and the diff id its config claims)
 * under repo:tag, with a config for `platform`.
 */
export async function pushImage(
  reg: Registry,
  repo: string,
  tag: string,
  layers: Array<{ blob: Buffer; diffId: string; digest?: string; size?: number }>,
  platform = { os: 'linux', architecture: 'amd64' } as { os: string; architecture: string; variant?: string },
  extra: Record<string, unknown> = {},
): Promise<CraftedImage> {
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['sh'], Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'tersane test' })),
      ...extra,
    }),
  );
  const cfg = await putBlob(reg, repo, config);
  const descs = [];
  for (const l of layers) {
    const pushed = l.digest ? { digest: l.digest, size: l.size ?? l.blob.length } : await putBlob(reg, repo, l.blob);
    descs.push({ mediaType: MEDIA.layerGzip, digest: pushed.digest, size: l.size ?? pushed.size });
  }
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size }, layers: descs }));
  const m = await putManifest(reg, repo, tag, MEDIA.manifest, manifest);
  return { manifest, manifestDigest: m.digest, configDigest: cfg.digest };
}

// ---- servers a real registry is not ----------------------------------------------------------------

export interface FakeServer {
  url: string;
  host: string;
  stop(): Promise<void>;
}

/** A server that accepts connections and never answers. */
export async function startSilentServer(): Promise<FakeServer> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A plain-HTTP front for a registry: forwards every request, optionally answering some paths itself
 * (`override`) or sending a blob's body slowly (`slow`: bytes per 100 ms). Records what was asked.
 */
export async function startProxy(
  target: Registry,
  opts: {
    override?: (req: IncomingMessage, res: ServerResponse) => boolean;
    slow?: (path: string) => number | undefined;
  } = {},
): Promise<FakeServer & { requests: string[]; setSlow(fn: ((path: string) => number | undefined) | undefined): void }> {
  const requests: string[] = [];
  let slow = opts.slow;
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (opts.override?.(req, res)) return;
    const up = request(`${target.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: target.host } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const rate = slow?.(req.url ?? '');
      if (!rate) return void ur.pipe(res);
      ur.pause();
      const timer = setInterval(() => {
        const piece = ur.read(rate) ?? ur.read();
        if (piece) res.write(piece);
        if (ur.readableEnded) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      ur.on('end', () => undefined);
      res.on('close', () => clearInterval(timer));
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    setSlow: (fn) => (slow = fn),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

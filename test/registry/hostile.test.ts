/**
 * Hostile registries and hostile content. Every pull here is refused with a clear error, writes
 * nothing outside the snapshot directory, and commits nothing to the content store: layers that
 * climb out (../, absolute paths, a symlink then a write through it, a hardlink to a host file, a
 * whiteout of a path outside), a truncated gzip, a tar header with an absurd size, a blob whose bytes
 * do not match its digest, a manifest that is not JSON, a registry that stops answering (an error
 * within the bounded, named time). And a containerd killed (-9) mid-pull: the next pull succeeds
 * and fetches none of the blobs the first one had verified.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../services/containerd/tar.js';
import { headerWithSizeBytes } from '../../runtime-native/tests/unpack.js';
import { IMAGES, sleep, startStack, type RunResult, type Stack } from '../helpers/stack.js';
import { layer, MEDIA, pushImage, putBlob, sha256, startProxy, startRegistry, startSilentServer, type Registry } from './registry.js';

/** The silence a registry is allowed in this file's stack. */
const REGISTRY_TIMEOUT_MS = 2000;
const CANARY = `/tmp/tsn-canary-${randomBytes(4).toString('hex')}`;

let stack: Stack;
let reg: Registry;
let proxy: Awaited<ReturnType<typeof startProxy>>;
/** Manifests the proxy answers itself (path → body). */
const overrides = new Map<string, { status: number; type: string; body: Buffer }>();

beforeAll(async () => {
  mkdirSync(CANARY);
  reg = await startRegistry();
  proxy = await startProxy(reg, {
    override(req, res) {
      const o = overrides.get(req.url ?? '');
      if (!o) return false;
      res.writeHead(o.status, { 'Content-Type': o.type, 'Content-Length': String(o.body.length) });
      res.end(req.method === 'HEAD' ? undefined : o.body);
      return true;
    },
  });
  stack = await startStack({ env: { TERSANE_REGISTRY_TIMEOUT_MS: String(REGISTRY_TIMEOUT_MS) } });
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await reg?.stop();
  rmSync(CANARY, { recursive: true, force: true });
});

const containerdDir = () => join(stack.root, 'lib', 'containerd');
const blobs = () => readdirSync(join(containerdDir(), 'content', 'blobs', 'sha256')).sort();
const snapshotDirs = () => readdirSync(join(containerdDir(), 'snapshots')).sort();
const passwd = () => createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex');

/** Pulls `ref` expecting a refusal matching `message`; checks nothing was kept or written outside. */
async function expectRefused(ref: string, message: RegExp): Promise<RunResult> {
  const before = { blobs: blobs(), snapshots: snapshotDirs(), passwd: passwd(), nlink: statSync('/etc/passwd').nlink };
  const r = await stack.docker(['pull', ref]);
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.stderr + r.stdout).toMatch(message);
  expect(blobs()).toEqual(before.blobs);
  expect(snapshotDirs()).toEqual(before.snapshots);
  expect(readdirSync(join(containerdDir(), 'content', 'ingest'))).toEqual([]);
  expect(readdirSync(CANARY)).toEqual([]);
  expect(existsSync(join(containerdDir(), 'escape'))).toBe(false);
  expect(existsSync(join(stack.root, 'escape'))).toBe(false);
  expect(passwd()).toBe(before.passwd);
  expect(statSync('/etc/passwd').nlink).toBe(before.nlink);
  return r;
}

/** Pushes a one-layer image whose layer is `tar` (gzip-compressed unless `gz` is given). */
async function hostile(repo: string, tar: Buffer, gz: Buffer = gzipSync(tar)): Promise<string> {
  await pushImage(reg, repo, 'v1', [{ blob: gz, diffId: sha256(tar) }]);
  return `${proxy.host}/${repo}:v1`;
}

describe('hostile layers', () => {
  it('../ entries', async () => {
    const { tar } = layer((w) => [w.file('../escape', Buffer.from('x'))]);
    await expectRefused(await hostile('h/dotdot', tar), /failed to register layer .*climbs out of the destination/);
  });

  it('absolute paths', async () => {
    const { tar } = layer((w) => [w.file(`${CANARY}/pwned`, Buffer.from('x'))]);
    await expectRefused(await hostile('h/absolute', tar), /is an absolute path/);
  });

  it('a symlink followed by a write through it', async () => {
    const { tar } = layer((w) => [w.symlink('evil', CANARY), w.file('evil/pwned', Buffer.from('x'))]);
    await expectRefused(await hostile('h/symlink', tar), /goes through a symlink that leads outside/);
  });

  it('a hardlink to a file outside', async () => {
    const { tar } = layer((w) => [w.hardlink('pw', '../../../../../../../../etc/passwd')]);
    await expectRefused(await hostile('h/hardlink', tar), /climbs out of the destination/);
  });

  it('a whiteout that names a path outside', async () => {
    const { tar } = layer((w) => [w.file('../.wh.escape', Buffer.alloc(0))]);
    await expectRefused(await hostile('h/whiteout', tar), /climbs out of the destination/);
  });

  it('a truncated gzip', async () => {
    const { tar } = layer((w) => [w.file('big', randomBytes(200_000))]);
    const gz = gzipSync(tar);
    await expectRefused(await hostile('h/truncated', tar, gz.subarray(0, gz.length >> 1)), /unexpected end of gzip stream/);
  });

  it('a tar header with an absurd size', async () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeBigUInt64BE(2n ** 50n, 4);
    const tar = Buffer.concat([headerWithSizeBytes({ name: 'huge', type: 'file' }, size), Buffer.alloc(4096)]);
    await expectRefused(await hostile('h/absurd', tar), /entry size \d+ is absurd/);
  });
});

describe('hostile registries', () => {
  it('a blob whose bytes do not match its digest is not stored', async () => {
    const good = layer((w) => [w.file('f', Buffer.from('the real content\n'))]);
    const ref = await hostile('h/mismatch', good.tar, good.gz);
    const forged = Buffer.from(good.gz);
    forged[forged.length - 9] ^= 0xff;
    overrides.set(`/v2/h/mismatch/blobs/${sha256(good.gz)}`, { status: 200, type: 'application/octet-stream', body: forged });
    await expectRefused(ref, /digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:[a-f0-9]{64}/);
  });

  it('a manifest that is not JSON', async () => {
    overrides.set('/v2/h/notjson/manifests/v1', { status: 200, type: MEDIA.manifest, body: Buffer.from('<html>this is not a manifest</html>') });
    await expectRefused(`${proxy.host}/h/notjson:v1`, /manifest for .*h\/notjson:v1 is not valid JSON/);
  });

  it('a registry that stops answering: a clear error within the bounded time', async () => {
    const silent = await startSilentServer();
    try {
      const t0 = Date.now();
      const r = await expectRefused(`${silent.host}/x/app:1`, new RegExp(`Get "http://${silent.host}/v2/": the registry did not answer within 2s \\(TERSANE_REGISTRY_TIMEOUT_MS\\)`));
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(r.stderr).toContain('Error response from daemon');
    } finally {
      await silent.stop();
    }
  });
});

describe('kill -9 of containerd mid-pull', () => {
  it('leaves nothing that trips the next pull, which fetches only what was not verified', async () => {
    // busybox's layer (small, fast) and a large random one the proxy sends slowly.
    let busyboxTar: Buffer | undefined;
    for await (const e of readTar((async function* () { yield readFileSync(join(IMAGES, 'busybox.tar')); })())) {
      if (e.name.endsWith('layer.tar')) {
        const parts: Buffer[] = [];
        for await (const p of e.data) parts.push(p);
        busyboxTar = Buffer.concat(parts);
      } else for await (const _ of e.data) void _;
    }
    const base = { tar: busyboxTar!, gz: gzipSync(busyboxTar!) };
    const big = layer((w) => [w.file('big', randomBytes(6 * 1024 * 1024), { mode: 0o644 })]);
    await putBlob(reg, 'k/app', base.gz);
    const bigBlob = await putBlob(reg, 'k/app', big.gz);
    await pushImage(reg, 'k/app', '1', [
      { blob: base.gz, diffId: sha256(base.tar) },
      { blob: big.gz, diffId: sha256(big.tar), digest: bigBlob.digest, size: bigBlob.size },
    ]);
    const baseDigest = sha256(base.gz);
    proxy.setSlow((path) => (path.endsWith(bigBlob.digest) ? 48 * 1024 : undefined));

    const pull = new Promise<RunResult>((resolve) => {
      const child = spawn('docker', ['pull', `${proxy.host}/k/app:1`], { env: stack.env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    const blobFile = join(containerdDir(), 'content', 'blobs', 'sha256', baseDigest.slice(7));
    const deadline = Date.now() + 60_000;
    while (!(existsSync(blobFile) && proxy.requests.some((r) => r.endsWith(bigBlob.digest)))) {
      if (Date.now() > deadline) throw new Error(`the pull did not get going: ${proxy.requests.join('\n')}`);
      await sleep(50);
    }
    await sleep(300);
    const killed = stack.tersane(['restart', 'containerd', '--kill']);
    expect(killed.code, killed.stderr).toBe(0);
    const first = await pull;
    expect(first.code).not.toBe(0);

    // Restarted: no half-written blob, no half-unpacked snapshot, the verified blob kept.
    expect(readdirSync(join(containerdDir(), 'content', 'ingest'))).toEqual([]);
    expect(snapshotDirs().filter((d) => d.startsWith('tmp-'))).toEqual([]);
    expect(existsSync(blobFile)).toBe(true);

    proxy.setSlow(undefined);
    const seen = proxy.requests.length;
    const second = await stack.docker(['pull', `${proxy.host}/k/app:1`], { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    const fetched = proxy.requests.slice(seen).filter((r) => r.startsWith('GET') && r.includes('/blobs/'));
    expect(fetched.some((r) => r.endsWith(bigBlob.digest))).toBe(true);
    expect(fetched.some((r) => r.endsWith(baseDigest))).toBe(false);
    expect(await stack.dockerOk(['run', '--rm', `${proxy.host}/k/app:1`, 'sh', '-c', 'wc -c < /big'])).toBe(String(6 * 1024 * 1024));
  });
});

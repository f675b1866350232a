/**
 * What a registry may hold, and what other tools make: a multi-platform index (the host's entry is
 * chosen, --platform picks another or says there is none), an OCI image that skopeo copied from an
 * OCI layout (gzip and zstd layers), `docker save` output that skopeo reads, and `docker load` of
 * an OCI-layout archive that skopeo wrote.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGES, startStack, type Stack } from '../helpers/stack.js';
import { layer, MEDIA, pushImage, putManifest, sha256, startRegistry, type Registry } from './registry.js';

let stack: Stack;
let reg: Registry;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry();
  stack = await startStack();
  tmp = mkdtempSync('/tmp/tsn-formats-');
});

afterAll(async () => {
  await stack?.stop();
  await reg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function skopeo(args: string[]): string {
  const r = spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('a multi-platform index', () => {
  let indexDigest: string;

  beforeAll(async () => {
    const entries = [];
    for (const platform of [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]) {
      const l = layer((w) => [w.file('arch', Buffer.from(`${platform.architecture}\n`), { mode: 0o644 })]);
      const img = await pushImage(reg, 'multi/app', `only-${platform.architecture}`, [{ blob: l.gz, diffId: sha256(l.tar) }], platform);
      entries.push({ mediaType: MEDIA.manifest, digest: img.manifestDigest, size: img.manifest.length, platform });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.list, manifests: entries }));
    indexDigest = (await putManifest(reg, 'multi/app', 'latest', MEDIA.list, index)).digest;
  });

  const arch = async (ref: string) => stack.dockerOk(['image', 'inspect', '--format', '{{.Architecture}}', ref]);

  it('a pull chooses the linux/amd64 entry, and its RepoDigest is the index’s', async () => {
    const out = await stack.dockerOk(['pull', `${reg.host}/multi/app:latest`]);
    expect(out).toContain(`Digest: ${indexDigest}`);
    expect(await arch(`${reg.host}/multi/app:latest`)).toBe('amd64');
    const digests = await stack.dockerOk(['image', 'inspect', '--format', '{{json .RepoDigests}}', `${reg.host}/multi/app:latest`]);
    expect(JSON.parse(digests)).toEqual([`${reg.host}/multi/app@${indexDigest}`]);
  });

  it('--platform linux/arm64 picks the other entry', async () => {
    await stack.dockerOk(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/app:latest`]);
    expect(await arch(`${reg.host}/multi/app:latest`)).toBe('arm64');
  });

  it('a platform the index lacks is refused in Docker’s words', async () => {
    const r = await stack.docker(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/app:latest`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no matching manifest for linux/s390x in the manifest list entries');
  });

  it('a single-platform image pulled for another platform says it does not match', async () => {
    const r = await stack.docker(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/app:only-amd64`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('does not match the specified platform (linux/arm64)');
  });
});

describe('an insecure registry over HTTPS', () => {
  it('a loopback registry with a self-signed certificate takes a push and gives the pull back', async () => {
    const tls = await startRegistry(undefined, { tls: true });
    try {
      await stack.loadImage('busybox');
      await stack.dockerOk(['tag', 'busybox', `${tls.host}/secure/busybox:1`]);
      const pushed = await stack.dockerOk(['push', `${tls.host}/secure/busybox:1`]);
      expect(pushed).toMatch(/1: digest: sha256:/);
      await stack.dockerOk(['rmi', `${tls.host}/secure/busybox:1`]);
      const pulled = await stack.dockerOk(['pull', `${tls.host}/secure/busybox:1`]);
      expect(pulled).toContain(`Status: Downloaded newer image for ${tls.host}/secure/busybox:1`);
      // Every request went over TLS: the registry logged no plain-HTTP attempt.
      expect(tls.log()).not.toMatch(/http: TLS handshake error.*first record does not look like a TLS handshake/);
    } finally {
      await tls.stop();
    }
  });
});

describe('interop with skopeo', () => {
  it('an OCI layout that skopeo copied into the registry pulls and runs (gzip and zstd layers)', async () => {
    const layout = join(tmp, 'layout');
    // zstd first: skopeo would reuse the gzip blob it had just pushed instead of compressing again.
    skopeo(['copy', `docker-archive:${join(IMAGES, 'busybox.tar')}`, `oci:${layout}:busybox`]);
    skopeo(['copy', '--dest-tls-verify=false', '--format', 'oci', '--dest-compress-format', 'zstd', `docker-archive:${join(IMAGES, 'busybox.tar')}`, `docker://${reg.host}/interop/busybox:zstd`]);
    skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:busybox`, `docker://${reg.host}/interop/busybox:oci`]);
    const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/busybox:zstd`]));
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    for (const tag of ['oci', 'zstd']) {
      await stack.dockerOk(['pull', `${reg.host}/interop/busybox:${tag}`]);
      expect(await stack.dockerOk(['run', '--rm', `${reg.host}/interop/busybox:${tag}`, 'echo', tag])).toBe(tag);
    }
  });

  it('docker save output reads with skopeo inspect docker-archive:', async () => {
    const file = join(tmp, 'saved.tar');
    await stack.dockerOk(['save', '-o', file, `${reg.host}/interop/busybox:oci`]);
    const info = JSON.parse(skopeo(['inspect', `docker-archive:${file}`]));
    const id = await stack.dockerOk(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/interop/busybox:oci`]);
    expect(info.Layers).toHaveLength(1);
    expect(info.Architecture).toBe('amd64');
    expect(info.Digest).toMatch(/^sha256:/);
    expect(spawnSync('skopeo', ['inspect', '--config', `docker-archive:${file}`], { encoding: 'utf8' }).stdout).toContain('"diff_ids"');
    expect(id).toMatch(/^sha256:/);
  });

  it('docker load takes an OCI-layout archive that skopeo wrote', async () => {
    const file = join(tmp, 'oci.tar');
    skopeo(['copy', `docker-archive:${join(IMAGES, 'busybox.tar')}`, `oci-archive:${file}:docker.io/library/ocibusy:1`]);
    const out = await stack.dockerOk(['load', '-i', file]);
    expect(out).toMatch(/Loaded image/);
    const images = await stack.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    const loadedName = images.split('\n').find((n) => n.startsWith('ocibusy'));
    const target = loadedName ?? (await stack.dockerOk(['images', '-q'])).split('\n')[0];
    expect(await stack.dockerOk(['run', '--rm', target, 'echo', 'loaded'])).toBe('loaded');
  });
});

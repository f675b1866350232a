/**
 * Pull and push against a real registry (Debian's docker-registry, distribution 2.8) with the real
 * docker CLI: a round trip whose digests agree and whose image runs, blobs the registry already has
 * or can mount, chunked uploads, up-to-date pulls, pulls by digest, and the image commands around
 * them (images --digests, inspect, history, rmi, image prune, system df) with their events.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { layer, pushImage, sha256, startRegistry, type Registry } from './registry.js';

/** Small enough that busybox's compressed layer (about 1 MB) goes up in chunks. */
const CHUNK_BYTES = 256 * 1024;

let stack: Stack;
let reg: Registry;

beforeAll(async () => {
  reg = await startRegistry();
  stack = await startStack({ env: { TERSANE_PUSH_CHUNK_BYTES: String(CHUNK_BYTES) } });
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
  await reg?.stop();
});

const inspect = async (ref: string) => JSON.parse(await stack.dockerOk(['image', 'inspect', ref]))[0];
const digestOf = (out: string, tag: string) => new RegExp(`${tag}: digest: (sha256:[a-f0-9]{64}) size: \\d+`).exec(out)?.[1];

describe('push and pull round trip', () => {
  let pushedDigest: string;

  it('docker push sends every blob, then the manifest; RepoDigests records it', async () => {
    const image = `${reg.host}/x/busybox:1`;
    await stack.dockerOk(['tag', 'busybox', image]);
    const out = await stack.dockerOk(['push', image]);
    expect(out).toContain(`The push refers to repository [${reg.host}/x/busybox]`);
    expect(out).toMatch(/: Pushed/);
    pushedDigest = digestOf(out, '1')!;
    expect(pushedDigest).toBeDefined();
    expect((await inspect(image)).RepoDigests).toContain(`${reg.host}/x/busybox@${pushedDigest}`);
    // The registry took the chunked upload (PATCH) of the layer.
    expect(reg.log()).toMatch(/"PATCH \/v2\/x\/busybox\/blobs\/uploads\//);
  });

  it('a second push finds the layer there; a push to another repository mounts it', async () => {
    const again = await stack.dockerOk(['push', `${reg.host}/x/busybox:1`]);
    expect(again).toMatch(/: Layer already exists/);
    expect(digestOf(again, '1')).toBe(pushedDigest);
    await stack.dockerOk(['tag', 'busybox', `${reg.host}/y/other:2`]);
    const mounted = await stack.dockerOk(['push', `${reg.host}/y/other:2`]);
    expect(mounted).toMatch(/: Mounted from x\/busybox$/m);
  });

  it('docker pull after removing the image brings it back with the same digests, and it runs', async () => {
    const image = `${reg.host}/x/busybox:1`;
    const before = await inspect(image);
    await stack.dockerOk(['rmi', image, `${reg.host}/y/other:2`, 'busybox']);
    expect((await stack.docker(['image', 'inspect', image])).code).not.toBe(0);
    const out = await stack.dockerOk(['pull', image]);
    expect(out).toContain('1: Pulling from x/busybox');
    expect(out).toMatch(/Pull complete/);
    expect(out).toContain(`Digest: ${pushedDigest}`);
    expect(out).toContain(`Status: Downloaded newer image for ${image}`);
    const after = await inspect(image);
    expect(after.Id).toBe(before.Id);
    expect(after.RepoDigests).toEqual([`${reg.host}/x/busybox@${pushedDigest}`]);
    expect(after.RootFS.Layers).toEqual(before.RootFS.Layers);
    expect(await stack.dockerOk(['run', '--rm', image, 'echo', 'ok'])).toBe('ok');
  });

  it('a pull of what is here says it is up to date; a pull by digest works', async () => {
    const out = await stack.dockerOk(['pull', `${reg.host}/x/busybox:1`]);
    expect(out).toContain(`Status: Image is up to date for ${reg.host}/x/busybox:1`);
    expect(out).not.toMatch(/Pull complete/);
    const byDigest = await stack.dockerOk(['pull', `${reg.host}/x/busybox@${pushedDigest}`]);
    expect(byDigest).toContain(`Digest: ${pushedDigest}`);
    const listed = await stack.dockerOk(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']);
    expect(listed).toContain(`${reg.host}/x/busybox 1 ${pushedDigest}`);
  });

  it('a tag the registry lacks is refused in Docker’s words', async () => {
    const r = await stack.docker(['pull', `${reg.host}/x/busybox:nope`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`manifest for ${reg.host}/x/busybox:nope not found: manifest unknown: manifest unknown`);
  });
});

describe('image commands around a registry', () => {
  it('docker history gives each layer its size; docker system df counts images, layers, containers', async () => {
    const image = `${reg.host}/x/busybox:1`;
    const history = (await stack.dockerOk(['history', '--no-trunc', '--format', '{{.Size}}', image])).split('\n');
    expect(history[0]).toMatch(/^[1-9][\d.]*[kM]B$/);
    await stack.dockerOk(['create', '--name', 'df-user', image, 'true']);
    try {
      const df = (await stack.dockerOk(['system', 'df', '--format', '{{json .}}'])).split('\n').map((l) => JSON.parse(l));
      const images = df.find((r) => r.Type === 'Images');
      const containers = df.find((r) => r.Type === 'Containers');
      expect(Number(images.TotalCount)).toBeGreaterThanOrEqual(1);
      expect(Number(images.Active)).toBe(1);
      expect(images.Size).toMatch(/[kM]B$/);
      expect(Number(containers.TotalCount)).toBe(1);
      const verbose = await stack.dockerOk(['system', 'df', '-v', '--format', '{{json .Images}}']);
      expect(verbose).toContain(`${reg.host}/x/busybox`);
    } finally {
      await stack.dockerOk(['rm', 'df-user']);
    }
  });

  it('docker image prune removes untagged images, prune -a every unused one and its layers; a run pulls again', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const tiny = layer((w) => [w.file('hello.txt', Buffer.from('tiny\n'), { mode: 0o644 })]);
    const crafted = await pushImage(reg, 'x/tiny', 'v1', [{ blob: tiny.gz, diffId: sha256(tiny.tar) }], undefined, {
      config: { Cmd: ['sh'], Labels: { purpose: 'prune-test' } },
    });
    await stack.dockerOk(['pull', `${reg.host}/x/tiny@${crafted.manifestDigest}`]);
    const dangling = await stack.dockerOk(['images', '--digests', '--filter', 'dangling=true', '--format', '{{.Repository}} {{.Digest}}']);
    expect(dangling).toContain(crafted.manifestDigest);
    const pruned = await stack.dockerOk(['image', 'prune', '-f']);
    expect(pruned).toContain(`deleted: ${crafted.configDigest}`);
    expect(pruned).toMatch(/Total reclaimed space: [1-9]/);
    expect(await stack.dockerOk(['images', '-q', '--filter', 'dangling=true'])).toBe('');
    expect(await stack.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(`${reg.host}/x/busybox:1`);

    const all = await stack.dockerOk(['image', 'prune', '-a', '-f']);
    expect(all).toContain(`untagged: ${reg.host}/x/busybox:1`);
    expect(await stack.dockerOk(['images', '-q'])).toBe('');
    const df = JSON.parse((await stack.dockerOk(['system', 'df', '--format', '{{json .}}'])).split('\n')[0]);
    expect(df.Size).toBe('0B');
    // Compressed layers, configs, manifests and indexes went with the images; so did the snapshots.
    const containerd = join(stack.root, 'lib', 'containerd');
    expect(readdirSync(join(containerd, 'content', 'blobs', 'sha256'))).toEqual([]);
    expect(readdirSync(join(containerd, 'snapshots'))).toEqual([]);

    const run = await stack.docker(['run', '--rm', `${reg.host}/x/busybox:1`, 'echo', 'ok']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('ok\n');
    expect(run.stderr).toContain(`Unable to find image '${reg.host}/x/busybox:1' locally`);

    const until = Math.floor(Date.now() / 1000) + 1;
    const events = await stack.dockerOk(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.ID}}']);
    expect(events).toContain(`pull ${reg.host}/x/tiny@${crafted.manifestDigest}`);
    expect(events).toContain(`pull ${reg.host}/x/busybox:1`);
    expect(events).toMatch(/^untag /m);
    expect(events).toMatch(new RegExp(`^delete ${crafted.configDigest}`, 'm'));
    expect(events).toMatch(/^prune /m);
  });

  it('push events name what was pushed; pushing what is not here says so', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await stack.dockerOk(['push', `${reg.host}/x/busybox:1`]);
    const missing = await stack.docker(['push', `${reg.host}/x/nothing:1`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`An image does not exist locally with the tag: ${reg.host}/x/nothing`);
    const noTag = await stack.docker(['push', `${reg.host}/x/busybox:nope`]);
    expect(noTag.stderr).toContain(`tag does not exist: ${reg.host}/x/busybox:nope`);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events = await stack.dockerOk(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.ID}}']);
    expect(events).toContain(`push ${reg.host}/x/busybox:1`);
  });
});

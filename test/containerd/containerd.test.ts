/**
 * containerd over gRPC in a stack of its own (nats-server, shim, containerd in a temp root): load,
 * list, get, export, delete, load again; layer sharing; bundles that runc runs; tasks through the
 * shim; bad archives leaving nothing; reconciliation of leftovers at start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusybox } from '../../images/build.js';
import { connectContainerd, type ContainerdClients } from '../../services/containerd/client.js';
import { readTar } from '../../services/containerd/tar.js';
import { sleep, startStack, type Stack } from '../helpers/stack.js';
import { layerTar, legacyArchive, ociArchive, sha } from './archives.js';
import { exportImages, load, stateOf } from './client.js';

let stack: Stack;
let c: ContainerdClients;
const busybox = buildBusybox();

beforeAll(async () => {
  stack = await startStack({ only: ['nats', 'shim', 'containerd'], env: { TERSANE_RUNTIME: 'runc' } });
  c = connectContainerd(stack.cfg);
});
afterAll(async () => {
  c?.close();
  await stack?.stop();
});

/** busybox's layer with one more layer on top, as a second image sharing the base layer. */
async function busyboxPlus(tag: string, files: Record<string, string>) {
  const entries: Buffer[] = [];
  let config: Buffer | undefined;
  for await (const e of readTar((async function* () { yield busybox.tar; })())) {
    const parts: Buffer[] = [];
    for await (const p of e.data) parts.push(p);
    if (e.name.endsWith('layer.tar')) entries.push(Buffer.concat(parts));
    if (/^[a-f0-9]{64}\.json$/.test(e.name)) config = Buffer.concat(parts);
  }
  const base = entries[0];
  const extra = layerTar(files);
  const cfg = JSON.parse(config!.toString());
  cfg.rootfs.diff_ids.push(sha(extra));
  const newConfig = Buffer.from(JSON.stringify(cfg));
  return { tar: legacyArchive([{ layers: [base, extra], config: newConfig, id: sha(newConfig), tags: [tag] }]), id: sha(newConfig) };
}

function runc(args: string[], root: string) {
  return spawnSync('runc', ['--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('images over gRPC', () => {
  it('load busybox.tar → list/get → export → delete → load again gives the same id', async () => {
    const progress = await load(c, busybox.tar);
    expect(progress.filter((p) => p.status === 'Loading layer').length).toBeGreaterThan(0);
    expect(progress.at(-1)?.loaded).toEqual({ name: 'busybox:latest', id: busybox.id });

    const list = await c.images.call('List', {});
    expect(list.images.map((i) => i.id)).toContain(busybox.id);
    const img = await c.images.call('Get', { ref: 'busybox' });
    expect(img).toMatchObject({ id: busybox.id, names: ['docker.io/library/busybox:latest'] });
    expect(JSON.parse(img.config.toString()).config.Cmd).toEqual(['sh']);
    expect((await c.images.call('Get', { ref: busybox.id.slice(7, 12) })).id).toBe(busybox.id);
    await expect(c.images.call('Get', { ref: 'nosuch' })).rejects.toMatchObject({ kind: 'not_found', message: 'No such image: nosuch:latest' });

    const saved = await exportImages(c, ['busybox']);
    const names: string[] = [];
    for await (const e of readTar((async function* () { yield saved; })())) {
      names.push(e.name);
      for await (const _ of e.data) void _;
    }
    expect(names).toEqual(expect.arrayContaining(['index.json', 'manifest.json', 'oci-layout', 'repositories', `blobs/sha256/${busybox.id.slice(7)}`]));
    const file = join(stack.root, 'saved.tar');
    writeFileSync(file, saved);
    const skopeo = spawnSync('skopeo', ['inspect', `docker-archive:${file}`], { encoding: 'utf8' });
    expect(skopeo.status, skopeo.stderr).toBe(0);
    expect(JSON.parse(skopeo.stdout).Layers).toEqual(img.diff_ids);

    const del = await c.images.call('Delete', { id: 'busybox' });
    expect(del.untagged).toEqual(['docker.io/library/busybox:latest']);
    expect(del.deleted[0]).toBe(busybox.id);
    expect(stateOf(stack.cfg)).toMatchObject({ blobs: [], snapshots: [], images: [] });

    const again = await load(c, saved);
    expect(again.at(-1)?.loaded).toEqual({ name: 'busybox:latest', id: busybox.id });
  });

  it('bad archives leave nothing behind (files and rows compared)', async () => {
    const before = stateOf(stack.cfg);
    const good = legacyArchive([{ layers: [layerTar({ a: 'a' })], config: Buffer.from('{}'), id: sha('{}'), tags: ['x:1'] }]);
    const cases: Array<[Buffer, RegExp]> = [
      [good.subarray(0, good.length - 2000), /truncated/],
      [ociArchive([{ layers: [layerTar({ a: 'a' }), layerTar({ b: 'b' })], config: Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha(layerTar({ a: 'a' })), sha(layerTar({ b: 'b' }))] } })), id: '', tags: ['x:1'] }].map((i) => ({ ...i, id: sha(i.config) })), { omit: 'layer' }), /is missing from the archive/],
      [good, /no valid rootfs.diff_ids/],
      [Buffer.from('garbage'.repeat(200)), /not a tar archive/],
    ];
    for (const [tar, message] of cases) {
      await expect(load(c, tar)).rejects.toMatchObject({ kind: 'invalid_argument', message: expect.stringMatching(message) });
      expect(stateOf(stack.cfg)).toEqual(before);
    }
  });

  it('two images sharing a layer unpack it once; deleting one keeps the other runnable', async () => {
    const a = await busyboxPlus('shared-a:1', { 'a.txt': 'a\n' });
    const b = await busyboxPlus('shared-b:1', { 'b.txt': 'b\n' });
    const snaps0 = stateOf(stack.cfg).snapshots.length;
    await load(c, a.tar);
    await load(c, b.tar);
    // busybox's layer is present already: each image adds only its own top layer.
    expect(stateOf(stack.cfg).snapshots.length).toBe(snaps0 + 2);
    await c.images.call('Delete', { id: 'shared-a:1' });
    expect(stateOf(stack.cfg).snapshots.length).toBe(snaps0 + 1);

    const ctr = await c.containers.call('Create', { id: 'shared-b-ctr', image: 'shared-b:1', spec: { args: ['cat', '/b.txt'], env: ['PATH=/bin'] } });
    const out = runOnRunc(ctr.bundle, ctr.rootfs[0], 'shared-b-ctr');
    expect(out.stdout).toBe('b\n');
    await c.containers.call('Delete', { id: 'shared-b-ctr' });
  });
});

/** Mounts the container's rootfs as the monitor would, runs the bundle with runc, cleans up. */
function runOnRunc(bundle: string, mount: { type: string; source: string; options: string[] }, id: string) {
  const rootfs = join(bundle, 'rootfs');
  const m = spawnSync('mount', ['-t', mount.type, mount.source, rootfs, '-o', mount.options.join(',')], { encoding: 'utf8' });
  expect(m.status, m.stderr).toBe(0);
  const state = mkdtempSync(join(stack.root, 'runc-'));
  try {
    const r = spawnSync('runc', ['--root', state, 'run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 30_000, input: '' });
    expect(r.status, r.stderr).toBe(0);
    return r;
  } finally {
    runc(['delete', '--force', id], state);
    spawnSync('umount', [rootfs]);
  }
}

describe('attach through containerd to the shim', () => {
  it('passes stdin in, output and the exit out, in order', async () => {
    if (!(await c.images.call('List', {})).images.some((i) => i.id === busybox.id)) await load(c, busybox.tar);
    await c.containers.call('Create', { id: 'ctr-attach', image: 'busybox', spec: { args: ['sh', '-c', 'while read l; do echo "got $l"; done; echo bye >&2; exit 3'], env: ['PATH=/bin'] } });
    await c.tasks.call('Create', { container_id: 'ctr-attach', stdin: true, runtime: 'runc' });
    const call = c.tasks.raw.Attach(c.tasks.metadata());
    const out: string[] = [];
    let stderr = '';
    let exitCode: number | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (m: { output: string; stdout?: Buffer; stderr?: Buffer; exit?: { exit_code: number } }) => {
        if (m.output === 'ready') {
          void c.tasks.call('Start', { container_id: 'ctr-attach' }).then(() => {
            for (const line of ['one', 'two', 'three']) call.write({ stdin: Buffer.from(`${line}\n`) });
            call.write({ close_stdin: true });
          });
        }
        if (m.output === 'stdout') out.push(m.stdout!.toString());
        if (m.output === 'stderr') stderr += m.stderr!.toString();
        if (m.output === 'exit') exitCode = m.exit!.exit_code;
      });
      call.on('end', () => resolve());
      call.on('error', reject);
    });
    call.write({ open: { id: 'ctr-attach', stdin: true, stdout: true, stderr: true } });
    await ended;
    expect(out.join('')).toBe('got one\ngot two\ngot three\n');
    expect(stderr).toBe('bye\n');
    expect(exitCode).toBe(3);
    await c.tasks.call('Delete', { container_id: 'ctr-attach' });
    await c.containers.call('Delete', { id: 'ctr-attach' });
  });
});

describe('archives written by other tools', () => {
  it.each([
    ['gzip', [], 'skopeo-gz:1', 'docker.io/library/skopeo-gz:1'],
    ['zstd', ['--dest-compress-format', 'zstd'], 'registry.example.com/skopeo/zstd:2', 'registry.example.com/skopeo/zstd:2'],
  ])('skopeo oci-archive (%s layers) loads with its name from index.json', async (_kind, flags, ref, full) => {
    const src = join(stack.root, 'busybox-src.tar');
    const dst = join(stack.root, `skopeo-${_kind}.tar`);
    writeFileSync(src, busybox.tar);
    const r = spawnSync('skopeo', ['copy', '-q', ...(flags as string[]), `docker-archive:${src}`, `oci-archive:${dst}:${ref}`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const progress = await load(c, readFileSync(dst));
    const loaded = progress.at(-1)!.loaded!;
    expect(loaded.name).toBe(ref);
    const img = await c.images.call('Get', { ref: full });
    expect(img.id).toBe(loaded.id);
    expect(img.diff_ids).toEqual((await c.images.call('Get', { ref: 'busybox' })).diff_ids);
    await c.images.call('Delete', { id: full });
    rmSync(src);
    rmSync(dst);
  });
});

describe('containers over gRPC', () => {
  it('Create writes a bundle runc runs: user from /etc/passwd, defaults in place; Delete removes it all', async () => {
    const info = await c.containers.call('Create', {
      id: 'ctr-runc',
      image: 'busybox',
      labels: { role: 'test' },
      spec: { args: ['sh', '-c', 'id; cat /proc/self/status | grep CapEff; hostname; ls /sys/firmware | wc -l'], env: ['PATH=/bin:/usr/bin'], user: 'daemon', hostname: 'box' },
    });
    expect(info.bundle).toBe(join(stack.cfg.layerState('containerd'), 'bundles', 'ctr-runc'));
    expect(info.labels).toEqual({ role: 'test' });
    expect(info.snapshot?.end_ns).toBeGreaterThan(0);
    expect(info.spec?.end_ns).toBeGreaterThan(0);
    const spec = JSON.parse(readFileSync(join(info.bundle, 'config.json'), 'utf8'));
    expect(spec.process.user).toMatchObject({ uid: 1, gid: 1 });
    expect(spec.linux.cgroupsPath).toBe(`/${stack.cfg.cgroupParent}/ctr-runc`);
    expect(info.rootfs[0].options[0]).toMatch(/^lowerdir=/);

    const out = runOnRunc(info.bundle, info.rootfs[0], 'ctr-runc').stdout.split('\n');
    expect(out[0]).toBe('uid=1(daemon) gid=1(daemon)');
    expect(out[1]).toMatch(/^CapEff:\s+0+$/); // a non-root user has no effective capabilities
    expect(out[2]).toBe('box');
    expect(out[3]).toBe('0'); // masked

    await expect(c.containers.call('Create', { id: 'ctr-runc', image: 'busybox', spec: { args: ['true'] } })).rejects.toMatchObject({ kind: 'conflict' });
    await expect(c.containers.call('Create', { id: 'ctr-x', image: 'busybox', spec: { args: ['true'], user: 'nobody-here' } })).rejects.toMatchObject({
      kind: 'invalid_argument',
      message: 'unable to find user nobody-here: no matching entries in passwd file',
    });
    await expect(c.images.call('Delete', { id: 'busybox' })).rejects.toMatchObject({ kind: 'failed_precondition' });
    expect((await c.containers.call('List', {})).containers.map((x) => x.id)).toContain('ctr-runc');

    await c.containers.call('Delete', { id: 'ctr-runc' });
    const st = stateOf(stack.cfg);
    expect(st.bundles).toEqual([]);
    expect(st.containers).toEqual([]);
    expect(st.snapshotRows.some((r) => r.includes('active'))).toBe(false);
    await expect(c.containers.call('Get', { id: 'ctr-runc' })).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('Tasks go through the shim with the bundle and the overlay rootfs', async () => {
    await c.containers.call('Create', { id: 'ctr-task', image: 'busybox', spec: { args: ['sh', '-c', 'exit 7'], env: ['PATH=/bin'] } });
    const logPath = join(stack.root, 'ctr-task.log');
    const created = await c.tasks.call('Create', { container_id: 'ctr-task', log_path: logPath, runtime: 'runc' });
    expect(created.status).toBe('created');
    await expect(c.containers.call('Delete', { id: 'ctr-task' })).rejects.toMatchObject({ kind: 'failed_precondition' });
    await c.tasks.call('Start', { container_id: 'ctr-task' });
    const exit = await c.tasks.call('Wait', { container_id: 'ctr-task' });
    expect(exit.exit_code).toBe(7);
    await c.tasks.call('Delete', { container_id: 'ctr-task' });
    await c.containers.call('Delete', { id: 'ctr-task' });
  });
});

/** Waits for the supervisor to have restarted containerd after `pid` died, and for it to answer. */
async function containerdRestarted(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((stack.pidOf('containerd') === pid || !existsSync(stack.cfg.socket('containerd'))) && Date.now() < deadline) await sleep(100);
  await c.images.call('List', {});
}

describe('reconcile at start', () => {
  it('kill -9 in the middle of an unpack leaves nothing a later load trips over', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`data/d${i % 30}/f${i}`] = `file ${i}\n`.repeat(50);
    const big = legacyArchive([{ layers: [layerTar(files)], config: Buffer.alloc(0), id: '', tags: ['big:1'] }].map((i) => {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(i.layers[0])] } }));
      return { ...i, config, id: sha(config) };
    }));
    const before = stateOf(stack.cfg);
    const pid = stack.pidOf('containerd')!;
    const call = c.images.raw.Load(c.images.metadata());
    const killed = new Promise<void>((resolve) => {
      call.on('data', (m: { status: string }) => {
        if (m.status === 'Loading layer') {
          process.kill(pid, 'SIGKILL');
          resolve();
        }
      });
    });
    call.on('error', () => undefined);
    for (let off = 0; off < big.length; off += 1 << 16) call.write({ data: big.subarray(off, off + (1 << 16)) });
    call.end();
    await killed;
    await containerdRestarted(pid);
    expect(stateOf(stack.cfg)).toEqual(before);
    const again = await load(c, big);
    expect(again.at(-1)?.loaded?.name).toBe('big:1');
    await c.images.call('Delete', { id: 'big:1' });
    expect(stateOf(stack.cfg)).toEqual(before);
  });

  it('removes leftovers of interrupted operations and keeps what is recorded', async () => {
    const dir = stack.cfg.layerState('containerd');
    const keep = stateOf(stack.cfg);
    writeFileSync(join(dir, 'content/ingest/deadbeef'), 'half a blob');
    mkdirSync(join(dir, 'snapshots/tmp-0123456789abcdef/fs/etc'), { recursive: true });
    mkdirSync(join(dir, 'snapshots/999/fs'), { recursive: true });
    mkdirSync(join(dir, 'bundles/ghost/rootfs'), { recursive: true });
    writeFileSync(join(dir, `content/blobs/sha256/${'e'.repeat(64)}`), 'orphan');
    const pid = stack.pidOf('containerd')!;
    process.kill(pid, 'SIGKILL');
    await containerdRestarted(pid);
    expect(stateOf(stack.cfg)).toEqual(keep);
    rmSync(join(stack.root, 'saved.tar'), { force: true });
  });
});

/**
 * Load, export and delete in-process, on the real content store, snapshotter and tersane-unpack
 * (runtime-native/build), in a temporary directory.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../common/config.js';
import { openDatabase, type Db } from '../../common/db.js';
import { createLogger } from '../../common/log.js';
import { Trash } from '../../common/trash.js';
import { compress, layerTar, legacyArchive, ociArchive, rawArchive, sha, testImage } from '../../test/containerd/archives.js';
import { ContentStore } from './content.js';
import { exportArchive } from './export.js';
import { ImageService } from './images.js';
import { Mutex } from './lock.js';
import { loadArchive } from './load.js';
import { Snapshotter, chainIds } from './snapshots.js';
import { CONTAINERD_MIGRATIONS, Store } from './store.js';

const UNPACK = loadConfig().nativeBinary('tersane-unpack');

let dir: string;
let db: Db;
let svc: ImageService;
let events: Array<[string, unknown]>;
let trash: Trash;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tn-load-'));
  db = openDatabase(join(dir, 'containerd.db'), CONTAINERD_MIGRATIONS);
  const store = new Store(db);
  events = [];
  trash = new Trash(join(dir, 'trash'), createLogger('test', 'error'));
  const snapshots = new Snapshotter(join(dir, 'snapshots'), store, UNPACK, trash);
  svc = new ImageService(store, new ContentStore(join(dir, 'content')), snapshots, { record: (t, b) => events.push([t, b]) }, new Mutex());
});
afterEach(async () => {
  await trash.settled();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function* chunks(buf: Buffer, size = 10_000): AsyncGenerator<Buffer> {
  for (let o = 0; o < buf.length; o += size) yield buf.subarray(o, o + size);
}
const load = (buf: Buffer) => loadArchive(svc, chunks(buf), () => undefined);
async function save(refs: string[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await exportArchive(svc, refs, UNPACK, async (b) => void parts.push(Buffer.from(b)));
  return Buffer.concat(parts);
}

/** Everything on disk and in the database, to compare before and after a failed load. */
function state() {
  const ls = (p: string) => (existsSync(p) ? readdirSync(p).sort() : []);
  return {
    blobs: ls(join(dir, 'content/blobs/sha256')),
    ingest: ls(join(dir, 'content/ingest')),
    snapshots: ls(join(dir, 'snapshots')),
    rows: ['images', 'image_names', 'image_layers', 'snapshots', 'outbox'].map((t) => db.prepare(`SELECT count(*) AS n FROM ${t}`).get()),
    events: events.length,
  };
}

const base = layerTar({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n', 'bin/tool': 'tool\n' });
const app = layerTar({ 'app/main': 'hello\n' });

describe('Images.Load', () => {
  it('loads a legacy docker-archive whose manifest.json comes last', async () => {
    const img = testImage([base, app], ['myapp:1.0']);
    expect(await load(legacyArchive([img]))).toEqual([{ name: 'myapp:1.0', id: img.id }]);
    const got = svc.get('myapp:1.0');
    expect(got.id).toBe(img.id);
    expect(got.names).toEqual(['docker.io/library/myapp:1.0']);
    expect(got.diff_ids).toEqual([sha(base), sha(app)]);
    const top = svc.store.snapshotByChain(chainIds([sha(base), sha(app)])[1])!;
    expect(readFileSync(join(dir, 'snapshots', String(top.id), 'fs/app/main'), 'utf8')).toBe('hello\n');
    expect(events).toEqual([['/images/create', { image: { id: img.id, name: 'docker.io/library/myapp:1.0' } }]]);
  });

  it.each(['gzip', 'zstd', 'none'] as const)('loads an OCI layout with %s layers, names from annotations', async (c) => {
    const img = testImage([base, app], ['registry.example.com/team/app:2']);
    const loaded = await load(ociArchive([img], { compression: c }));
    expect(loaded).toEqual([{ name: 'registry.example.com/team/app:2', id: img.id }]);
    expect(svc.get('registry.example.com/team/app:2').diff_ids).toEqual([sha(base), sha(app)]);
  });

  it('loads Docker ≥ 25 archives (OCI layout + manifest.json) and keeps the manifest digest', async () => {
    const img = testImage([base], ['busybox:latest']);
    await load(ociArchive([img], { dockerManifest: true }));
    expect(svc.resolve('busybox').manifest_digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('an untagged image loads by id only; lookups by id prefix', async () => {
    const img = testImage([app], []);
    expect(await load(ociArchive([img]))).toEqual([{ name: '', id: img.id }]);
    expect(svc.get(img.id.slice(7, 8)).id).toBe(img.id);
    expect(svc.get(img.id).id).toBe(img.id);
    expect(() => svc.get('nothere')).toThrow('No such image: nothere:latest');
  });

  it('two images sharing a layer unpack it once; deleting one keeps the other whole', async () => {
    const a = testImage([base, app], ['a:1']);
    const b = testImage([base, layerTar({ 'b/file': 'b\n' })], ['b:1']);
    await load(legacyArchive([a]));
    const snapsAfterA = readdirSync(join(dir, 'snapshots')).length;
    await load(legacyArchive([b]));
    expect(readdirSync(join(dir, 'snapshots')).length).toBe(snapsAfterA + 1);
    const r = await svc.delete('a:1');
    expect(r.untagged).toEqual(['docker.io/library/a:1']);
    expect(r.deleted).toEqual([a.id, chainIds([sha(base), sha(app)])[1]]);
    expect(svc.store.snapshotByChain(sha(base))).toBeDefined();
    expect(existsSync(join(dir, 'snapshots', String(svc.store.snapshotByChain(sha(base))!.id), 'fs/bin/tool'))).toBe(true);
    expect(svc.content.has(sha(base))).toBe(true);
    expect(svc.content.has(a.id)).toBe(false);
    await svc.delete('b:1');
    expect(readdirSync(join(dir, 'snapshots'))).toEqual([]);
    expect(svc.content.list()).toEqual([]);
  });

  it('a name moves to the image loaded last (update event)', async () => {
    const a = testImage([base], ['x:1']);
    const b = testImage([app], ['x:1']);
    await load(legacyArchive([a]));
    await load(legacyArchive([b]));
    expect(svc.get('x:1').id).toBe(b.id);
    expect(svc.get(a.id).names).toEqual([]);
    expect(events.at(-1)).toEqual(['/images/update', { image: { id: b.id, name: 'docker.io/library/x:1' } }]);
  });

  it('save → delete → load gives the same image id (compressed layers saved uncompressed)', async () => {
    const img = testImage([base, app], ['rt:1']);
    await load(ociArchive([img], { compression: 'gzip' }));
    const saved = await save(['rt:1']);
    await svc.delete('rt:1');
    expect(svc.store.images()).toEqual([]);
    expect(await load(saved)).toEqual([{ name: 'rt:1', id: img.id }]);
    // The saved layers are the uncompressed tars: their digests are the diff ids.
    expect(svc.store.layers(img.id).map((l) => l.blob_digest)).toEqual([sha(base), sha(app)]);
  });

  it('tag and untag', async () => {
    const img = testImage([base], ['t:1']);
    await load(legacyArchive([img]));
    expect((await svc.tag('t:1', 'other/name:v2')).names).toEqual(['docker.io/library/t:1', 'docker.io/other/name:v2']);
    expect((await svc.untag('t:1')).names).toEqual(['docker.io/other/name:v2']);
    await expect(svc.untag('t:1')).rejects.toThrow('No such image: t:1');
  });
});

describe('bad archives are refused and leave nothing behind', () => {
  const img = testImage([base, app], ['bad:1']);
  const good = legacyArchive([img]);
  const cases: Array<[string, () => Buffer, RegExp]> = [
    ['not a tar', () => Buffer.from('this is not a tar archive at all'.repeat(40)), /invalid archive: not a tar archive/],
    ['empty input', () => Buffer.alloc(0), /invalid archive: empty input/],
    ['truncated', () => good.subarray(0, good.length - 3000), /invalid archive: .*truncated/],
    ['no manifest.json or index.json', () => rawArchive([{ name: `${img.id.slice(7)}.json`, data: img.config }]), /neither manifest.json nor index.json/],
    ['config missing', () => ociArchive([img], { omit: 'config' }), /image config sha256:[a-f0-9]+ is missing from the archive/],
    ['layer missing', () => ociArchive([img], { omit: 'layer' }), /layer 2 of manifest sha256:[a-f0-9]+ sha256:[a-f0-9]+ is missing/],
    ['digest mismatch', () => rawArchive([{ name: `blobs/sha256/${'0'.repeat(64)}`, data: Buffer.from('x') }, { name: 'index.json', data: Buffer.from('{}') }]), /digest mismatch/],
    ['invalid JSON', () => rawArchive([{ name: 'manifest.json', data: Buffer.from('[{') }]), /manifest.json is not valid JSON/],
    ['diff id mismatch', () => {
      const config = Buffer.from(img.config.toString().replace(sha(app).slice(7), 'f'.repeat(64)));
      return legacyArchive([{ ...img, config, id: sha(config) }]);
    }, /has diff id sha256:[a-f0-9]+, its config says sha256:f{64}/],
    ['corrupt gzip layer', () => {
      const z = compress(app, 'gzip');
      z[z.length - 8] ^= 0xff; // the CRC-32 of the gzip trailer
      return rawArchiveWithLayer(z);
    }, /invalid archive: layer 2 of image sha256:[a-f0-9]+: corrupt gzip stream/],
  ];

  /** A legacy archive whose second layer.tar is `blob` (a gzip the config's diff id is of `app`). */
  function rawArchiveWithLayer(blob: Buffer): Buffer {
    const manifest = [{ Config: `${img.id.slice(7)}.json`, RepoTags: ['bad:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }];
    return rawArchive([
      { name: `${img.id.slice(7)}.json`, data: img.config },
      { name: 'l1/layer.tar', data: base },
      { name: 'l2/layer.tar', data: blob },
      { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
    ]);
  }

  it.each(cases)('%s', async (_name, make, message) => {
    // Something already loaded must survive untouched.
    await load(legacyArchive([testImage([base], ['keep:1'])]));
    const before = state();
    const err = await load(make()).then(() => undefined, (e) => e);
    expect(err?.kind).toBe('invalid_argument');
    expect(err.message).toMatch(message);
    expect(state()).toEqual(before);
    expect(svc.get('keep:1').names).toEqual(['docker.io/library/keep:1']);
  });
});

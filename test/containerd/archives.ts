/**
 * Test archives built from scratch: layers, image configs, and `docker load` inputs in the three
 * forms containerd reads — the legacy docker-archive, Docker ≥ 25's (OCI layout + manifest.json),
 * and a plain OCI image layout (as skopeo writes it) with gzip or zstd layers.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { TarWriter } from '../../services/containerd/tar.js';

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (d: string) => d.slice(7);

/** A layer tar of the given files (path → content), with deterministic metadata. */
export function layerTar(files: Record<string, string | Buffer>): Buffer {
  const w = new TarWriter();
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    const segs = path.split('/');
    for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) parts.push(...w.dir(d, { mtime: 1_700_000_000 }));
  for (const [path, data] of Object.entries(files)) parts.push(...w.file(path, Buffer.isBuffer(data) ? data : Buffer.from(data), { mtime: 1_700_000_000 }));
  parts.push(...w.end());
  return Buffer.concat(parts);
}

export function imageConfig(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...extra,
    }),
  );
}

export interface TestImage {
  layers: Buffer[];
  config: Buffer;
  id: string;
  tags: string[];
}

export function testImage(layers: Buffer[], tags: string[], extra: Record<string, unknown> = {}): TestImage {
  const config = imageConfig(layers.map((l) => sha(l)), extra);
  return { layers, config, id: sha(config), tags };
}

type Entry = { name: string; data?: Buffer; dir?: boolean };

function tarOf(entries: Entry[]): Buffer {
  const w = new TarWriter();
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(...(e.dir ? w.dir(e.name) : w.file(e.name, e.data!)));
  parts.push(...w.end());
  return Buffer.concat(parts);
}

/** The legacy docker-archive: <id>.json, <layer>/layer.tar, manifest.json (entry order as given). */
export function legacyArchive(images: TestImage[], opts: { manifestFirst?: boolean } = {}): Buffer {
  const entries: Entry[] = [];
  const manifest = [];
  const seen = new Set<string>();
  for (const img of images) {
    entries.push({ name: `${hex(img.id)}.json`, data: img.config });
    const layerPaths = img.layers.map((l, i) => {
      const dir = hex(sha(`${img.id}-${i}-${sha(l)}`));
      if (!seen.has(dir)) {
        seen.add(dir);
        entries.push({ name: dir, dir: true }, { name: `${dir}/VERSION`, data: Buffer.from('1.0') }, { name: `${dir}/layer.tar`, data: l });
      }
      return `${dir}/layer.tar`;
    });
    manifest.push({ Config: `${hex(img.id)}.json`, RepoTags: img.tags.length ? img.tags : null, Layers: layerPaths });
  }
  const m = { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) };
  return tarOf(opts.manifestFirst ? [m, ...entries] : [...entries, m]);
}

export type Compression = 'none' | 'gzip' | 'zstd';

export function compress(data: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(data);
  if (c === 'zstd') return execFileSync('zstd', ['-q', '-c'], { input: data, maxBuffer: 1 << 30 });
  return data;
}

const LAYER_MEDIA: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/**
 * An OCI image layout tar (oci-layout, index.json, blobs/sha256/…), names in index annotations;
 * with `dockerManifest` also Docker's manifest.json, as Docker ≥ 25 writes it.
 */
export function ociArchive(images: TestImage[], opts: { compression?: Compression; dockerManifest?: boolean; omit?: 'config' | 'layer' } = {}): Buffer {
  const c = opts.compression ?? 'none';
  const blobs = new Map<string, Buffer>();
  const index: unknown[] = [];
  const manifestJson: unknown[] = [];
  for (const img of images) {
    const layerBlobs = img.layers.map((l) => compress(l, c));
    for (const b of layerBlobs) blobs.set(sha(b), b);
    blobs.set(img.id, img.config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.id, size: img.config.length },
        layers: layerBlobs.map((b) => ({ mediaType: LAYER_MEDIA[c], digest: sha(b), size: b.length })),
      }),
    );
    blobs.set(sha(manifest), manifest);
    const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length };
    if (img.tags.length === 0) index.push(desc);
    for (const t of img.tags) index.push({ ...desc, annotations: { 'io.containerd.image.name': t.includes('/') ? t : `docker.io/library/${t}`, 'org.opencontainers.image.ref.name': t.split(':')[1] ?? 'latest' } });
    manifestJson.push({ Config: `blobs/sha256/${hex(img.id)}`, RepoTags: img.tags, Layers: layerBlobs.map((b) => `blobs/sha256/${hex(sha(b))}`) });
    if (opts.omit === 'config') blobs.delete(img.id);
    if (opts.omit === 'layer') blobs.delete(sha(layerBlobs[layerBlobs.length - 1]));
  }
  const entries: Entry[] = [
    { name: 'blobs', dir: true },
    { name: 'blobs/sha256', dir: true },
    ...[...blobs].map(([d, data]) => ({ name: `blobs/sha256/${hex(d)}`, data })),
    { name: 'index.json', data: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index })) },
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
  ];
  if (opts.dockerManifest) entries.push({ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifestJson)) });
  return tarOf(entries);
}

/** A tar of arbitrary entries (for archives that lie about digests and the like). */
export function rawArchive(entries: Array<{ name: string; data: Buffer }>): Buffer {
  return tarOf(entries);
}

/**
 * `docker save`: what Docker 28 writes — an OCI image layout (oci-layout, index.json, blobs/sha256/
 * holding configs, manifests and the uncompressed layer tars) plus Docker's manifest.json and
 * repositories — so the archive loads into Docker, into tersane, and reads with `skopeo inspect
 * docker-archive:FILE`. A layer stored compressed is decompressed on the way out by tersane-unpack
 * (its digest in the archive is its diff id), checked against that diff id as it streams.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { internal } from '../../common/errors.js';
import { familiarName, familiarRepository, formatReference, isFullId, parseReference, repositoryOf, withDefaultTag } from '../../common/reference.js';
import type { ImageService } from './images.js';
import { MEDIA } from './manifest.js';
import type { ImageRow, LayerRow } from './store.js';
import { TarWriter } from './tar.js';

const CHUNK = 1024 * 1024;

interface Selected {
  image: ImageRow;
  names: string[];
}

/** Which images and which of their names `docker save <refs…>` exports (Docker's rules). */
export function selectImages(svc: ImageService, refs: readonly string[]): Selected[] {
  const out = new Map<string, Selected>();
  const add = (image: ImageRow, name?: string) => {
    const s = out.get(image.id) ?? { image, names: [] };
    if (name && !s.names.includes(name)) s.names.push(name);
    out.set(image.id, s);
  };
  for (const ref of refs) {
    let parsed;
    try {
      parsed = isFullId(ref) ? undefined : parseReference(ref);
    } catch {
      parsed = undefined;
    }
    if (parsed && !parsed.tag && !parsed.digest) {
      // A repository without a tag: every tag of it.
      const repo = repositoryOf(parsed);
      const names = svc.store.allNames().filter((n) => n.name.startsWith(`${repo}:`));
      if (names.length > 0) {
        for (const n of names) add(svc.store.image(n.image_id)!, n.name);
        continue;
      }
    }
    const image = svc.resolve(ref);
    const name = parsed && !parsed.digest ? formatReference(withDefaultTag(parsed)) : undefined;
    add(image, name && svc.store.imageOfName(name) === image.id ? name : undefined);
  }
  return [...out.values()];
}

/** The uncompressed tar of a layer, as a stream of its bytes. */
function layerStream(svc: ImageService, unpackBinary: string, layer: LayerRow): Readable {
  const path = svc.content.path(layer.blob_digest);
  if (layer.blob_digest === layer.diff_id) return createReadStream(path, { highWaterMark: CHUNK });
  const fd = openSync(path, 'r');
  const child = spawn(unpackBinary, ['--decompress'], { stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
  child.on('close', (code) => {
    if (code !== 0) child.stdout!.destroy(internal(`cannot decompress layer ${layer.diff_id}: ${err.trim() || `exit ${code}`}`));
  });
  return child.stdout!;
}

async function tarSizeOf(svc: ImageService, unpackBinary: string, layer: LayerRow): Promise<number> {
  if (layer.tar_size > 0) return layer.tar_size;
  if (layer.blob_digest === layer.diff_id) return svc.content.size(layer.blob_digest);
  let n = 0;
  for await (const piece of layerStream(svc, unpackBinary, layer)) n += (piece as Buffer).length;
  return n;
}

/** Writes the archive of `refs` through `write` (which applies back-pressure). */
export async function exportArchive(
  svc: ImageService,
  refs: readonly string[],
  unpackBinary: string,
  write: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  await svc.lock.run(async () => {
    const selected = selectImages(svc, refs);
    const w = new TarWriter();
    const emit = async (blocks: Buffer[]) => {
      for (const b of blocks) if (b.length) await write(b);
    };
    const written = new Set<string>();
    const writeBlob = async (digest: string, size: number, data: () => AsyncIterable<Buffer> | Buffer, verify: boolean) => {
      if (written.has(digest)) return;
      written.add(digest);
      const name = `blobs/sha256/${digest.slice(7)}`;
      await emit(w.header({ name, type: 'file', size, mode: 0o644 }));
      const source = data();
      if (Buffer.isBuffer(source)) {
        await emit([source]);
      } else {
        const hash = createHash('sha256');
        let n = 0;
        for await (const piece of source) {
          n += piece.length;
          if (n > size) throw internal(`blob ${digest} is longer than its recorded ${size} bytes`);
          hash.update(piece);
          await write(piece);
        }
        if (n !== size) throw internal(`blob ${digest} is ${n} bytes, ${size} were recorded`);
        if (verify && `sha256:${hash.digest('hex')}` !== digest) throw internal(`blob ${digest} does not match its digest`);
      }
      await emit([w.padding(size)]);
    };

    await emit(w.dir('blobs', { mode: 0o755 }));
    await emit(w.dir('blobs/sha256', { mode: 0o755 }));
    const indexManifests: unknown[] = [];
    const manifestJson: unknown[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, names } of selected) {
      const layers = svc.store.layers(image.id);
      const config = svc.content.read(image.id);
      await writeBlob(image.id, config.length, () => config, false);
      const descriptors = [];
      for (const l of layers) {
        const size = await tarSizeOf(svc, unpackBinary, l);
        descriptors.push({ mediaType: MEDIA.ociLayer, digest: l.diff_id, size });
        await writeBlob(l.diff_id, size, () => layerStream(svc, unpackBinary, l) as AsyncIterable<Buffer>, true);
      }
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA.ociManifest,
          config: { mediaType: MEDIA.ociConfig, digest: image.id, size: config.length },
          layers: descriptors,
        }),
      );
      const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
      await writeBlob(manifestDigest, manifest.length, () => manifest, false);
      const descriptor = { mediaType: MEDIA.ociManifest, digest: manifestDigest, size: manifest.length };
      if (names.length === 0) indexManifests.push(descriptor);
      for (const n of names) {
        const ref = parseReference(n);
        indexManifests.push({
          ...descriptor,
          annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': ref.tag ?? 'latest' },
        });
        const top = layers[layers.length - 1];
        if (top) (repositories[familiarRepository(ref)] ??= {})[ref.tag ?? 'latest'] = top.diff_id.slice(7);
      }
      manifestJson.push({
        Config: `blobs/sha256/${image.id.slice(7)}`,
        RepoTags: names.length ? names.map(familiarName) : null,
        Layers: layers.map((l) => `blobs/sha256/${l.diff_id.slice(7)}`),
      });
    }
    const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: indexManifests };
    await emit(w.file('index.json', Buffer.from(JSON.stringify(index)), { mode: 0o644 }));
    await emit(w.file('manifest.json', Buffer.from(JSON.stringify(manifestJson)), { mode: 0o644 }));
    await emit(w.file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })), { mode: 0o644 }));
    if (Object.keys(repositories).length) {
      await emit(w.file('repositories', Buffer.from(JSON.stringify(repositories)), { mode: 0o644 }));
    }
    await emit(w.end());
  });
}

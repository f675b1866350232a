/**
 * `docker push`: one tag, or every tag of a repository, to its registry (the OCI distribution spec).
 * Per blob (layers, several at once, then the config): a HEAD says whether the repository has it
 * ("Layer already exists"); else a cross-repository mount from a repository of the same registry
 * known to hold it ("Mounted from …"); else an upload — one PUT for a blob up to the chunk size, a
 * chunked upload (PATCH with Content-Range, then PUT) above it. The manifest goes last: the one the
 * image was pulled with when it still describes it (so its digest is kept), else a new Docker v2
 * schema 2 manifest (OCI when a layer is of an OCI-only type).
 *
 * A layer stored uncompressed (a `docker load`) is compressed with gzip once, before its first push,
 * and the image keeps the compressed blob from then on (the same diff id: the same tar), so every
 * later push sends the same digests.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { invalidArgument, notFound } from '../../../common/errors.js';
import type { PushProgress } from '../../../common/proto-types/tersane/containerd/v1/PushProgress.js';
import { familiarName, familiarRepository, formatReference, parseReference, repositoryOf, type Reference } from '../../../common/reference.js';
import type { ImageService } from '../images.js';
import { MEDIA } from '../manifest.js';
import type { ImageRow, LayerRow } from '../store.js';
import type { Credentials } from './auth.js';
import { Repository, type RegistrySettings } from './client.js';
import { DOCKER_CONFIG, MAX_MANIFEST_BYTES, parseManifest, sha256 } from './manifests.js';
import { runBounded } from './pool.js';

/** Progress of one upload is reported at most this often (and at its end). */
const PROGRESS_INTERVAL_MS = 100;
/** Repositories tried as a cross-repository mount source for one blob. */
const MAX_MOUNT_SOURCES = 3;
/** Read size of the blob files sent. */
const READ_CHUNK = 1024 * 1024;

export interface PushOptions {
  settings: RegistrySettings;
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. */
  chunkBytes: number;
  /** Blobs sent at once (Docker's max-concurrent-uploads). */
  concurrency: number;
}

export interface PushArgs {
  name: string;
  creds: Credentials;
  signal?: AbortSignal;
}

type Emit = (p: PushProgress) => void;

const UNCOMPRESSED_TO_GZIP: Record<string, string> = {
  [MEDIA.dockerLayer]: MEDIA.dockerLayerGzip,
  [MEDIA.ociLayer]: MEDIA.ociLayerGzip,
};
const DOCKER_TO_OCI: Record<string, string> = {
  [MEDIA.dockerLayer]: MEDIA.ociLayer,
  [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
};

function shortOf(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** The tags to push: the one named, or every tag of the repository. */
function tagsToPush(svc: ImageService, ref: Reference): Array<{ name: string; tag: string; image: ImageRow }> {
  const repoName = repositoryOf(ref);
  const all = svc.store.allNames().filter((n) => n.name.startsWith(`${repoName}:`));
  if (all.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarRepository(ref)}`);
  const wanted = ref.tag ? all.filter((n) => n.name === formatReference(ref)) : all;
  if (wanted.length === 0) throw notFound(`tag does not exist: ${familiarName(formatReference(ref))}`);
  return wanted.map((n) => ({ name: n.name, tag: n.name.slice(repoName.length + 1), image: svc.store.image(n.image_id)! }));
}

export async function pushImage(svc: ImageService, args: PushArgs, opts: PushOptions, emit: Emit): Promise<void> {
  const { store, content, records } = svc;
  const ref = parseReference(args.name);
  if (ref.digest) throw invalidArgument('cannot push a digest reference');
  const repoName = repositoryOf(ref);
  const targets = tagsToPush(svc, ref);
  const lease = `push-${randomBytes(8).toString('hex')}`;
  const line = (status: string, id = '') => emit({ id, status, current: 0, total: 0, layer: false });
  const layerLine = (id: string, status: string, current = 0, total = 0) => emit({ id, status, current, total, layer: true });

  // Blobs known to exist in other repositories of this registry: mount candidates, whose pull
  // scope the token must cover.
  const sameRegistry = (repo: string) => repo.startsWith(`${ref.registry}/`) && repo !== repoName;
  const mountSources = new Set<string>();
  for (const t of targets) {
    for (const l of store.layers(t.image.id)) for (const s of records.sources(l.blob_digest)) if (sameRegistry(s)) mountSources.add(s.slice(ref.registry.length + 1));
  }
  const repo = await Repository.open(
    { registry: ref.registry, path: ref.path, actions: ['pull', 'push'], mountFrom: [...mountSources].slice(0, MAX_MOUNT_SOURCES * 2) },
    args.creds,
    opts.settings,
    args.signal,
  );
  line(`The push refers to repository [${repoName}]`);

  try {
    for (const target of targets) {
      const layers = await compressedLayers(svc, target.image.id, lease, (l) => layerLine(shortOf(l.diff_id), 'Preparing'));
      const pushed = new Set<string>();
      layers.forEach((l, n) => n >= opts.concurrency && layerLine(shortOf(l.diff_id), 'Waiting'));
      await runBounded([...layers].reverse(), opts.concurrency, args.signal, async (l, _n, signal) => {
        const id = shortOf(l.diff_id);
        if (pushed.has(l.blob_digest)) return;
        pushed.add(l.blob_digest);
        const outcome = await pushBlob(repo, svc, l.blob_digest, l.blob_size, signal, (done) => layerLine(id, 'Pushing', done, l.blob_size), sameRegistry, opts.chunkBytes);
        if (outcome.kind === 'exists') layerLine(id, 'Layer already exists');
        else if (outcome.kind === 'mounted') layerLine(id, `Mounted from ${outcome.from}`);
        else layerLine(id, 'Pushed');
        records.addSource(l.blob_digest, repoName);
      });
      await pushBlob(repo, svc, target.image.id, content.size(target.image.id), args.signal, () => undefined, sameRegistry, opts.chunkBytes);
      records.addSource(target.image.id, repoName);

      const manifest = manifestFor(svc, target.image, layers);
      const digest = sha256(manifest.body);
      const given = await repo.putManifest(target.tag, manifest.mediaType, manifest.body, args.signal);
      if (given && given !== digest) throw invalidArgument(`the registry stored the manifest of ${familiarName(target.name)} as ${given}, expected ${digest}`);
      await svc.lock.run(async () => {
        records.lease(lease, digest);
        if (!content.has(digest)) await content.ingest(oneChunk(manifest.body), { digest, size: manifest.body.length, what: 'manifest' });
        store.transaction(() => {
          if (!store.image(target.image.id)) return;
          records.addImageBlob(target.image.id, digest, manifest.mediaType);
          records.setRepoDigest(`${repoName}@${digest}`, target.image.id);
          if (!store.image(target.image.id)!.manifest_digest) store.setManifestDigest(target.image.id, digest);
        });
      });
      line(`${target.tag}: digest: ${digest} size: ${manifest.body.length}`);
      emit({ id: '', status: '', current: 0, total: 0, layer: false, pushed: { tag: target.tag, digest, size: manifest.body.length } });
    }
  } finally {
    await svc.lock.run(() => records.release(lease));
  }
}

async function* oneChunk(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/**
 * The image's layer rows with every uncompressed blob replaced by its gzip form (made and recorded
 * now when needed). The compressed blobs are leased until the push ends.
 */
async function compressedLayers(svc: ImageService, imageId: string, lease: string, preparing: (l: LayerRow) => void): Promise<LayerRow[]> {
  const { store, content, records } = svc;
  const layers = store.layers(imageId);
  for (const l of layers) preparing(l);
  for (let idx = 0; idx < layers.length; idx++) {
    // Read again: an earlier entry with the same blob may have been compressed already.
    const l = store.layers(imageId)[idx];
    const gzipType = UNCOMPRESSED_TO_GZIP[l.media_type];
    if (!gzipType || l.blob_digest !== l.diff_id) continue;
    const gz = createGzip();
    createReadStream(content.path(l.blob_digest), { highWaterMark: READ_CHUNK }).on('error', (e) => gz.destroy(e)).pipe(gz);
    const got = await content.ingest(gz as AsyncIterable<Buffer>, { what: `layer ${l.diff_id}` });
    await svc.lock.run(() => {
      records.lease(lease, got.digest);
      store.transaction(() => records.useCompressedBlob(l.blob_digest, got.digest, got.size, gzipType));
      if (!store.referencedBlobs().has(l.blob_digest)) content.remove(l.blob_digest);
    });
  }
  return store.layers(imageId);
}

type BlobOutcome = { kind: 'exists' } | { kind: 'mounted'; from: string } | { kind: 'pushed' };

/** Makes sure the repository has a blob: it had it, it mounted it, or it was sent. */
async function pushBlob(
  repo: Repository,
  svc: ImageService,
  digest: string,
  size: number,
  signal: AbortSignal | undefined,
  progress: (done: number) => void,
  sameRegistry: (repository: string) => boolean,
  chunk: number,
): Promise<BlobOutcome> {
  if (await repo.hasBlob(digest, signal)) return { kind: 'exists' };
  const registry = repo.ref.registry;
  const sources = svc.records
    .sources(digest)
    .filter(sameRegistry)
    .map((s) => s.slice(registry.length + 1))
    .slice(0, MAX_MOUNT_SOURCES);
  let location: URL | undefined;
  for (const from of sources) {
    const r = await repo.startUpload(digest, from, signal);
    if (r === 'mounted') return { kind: 'mounted', from };
    location = r;
    break;
  }
  location ??= (await repo.startUpload(undefined, undefined, signal)) as URL;
  const path = svc.content.path(digest);
  let shown = 0;
  const report = (done: number) => {
    const now = Date.now();
    if (now - shown >= PROGRESS_INTERVAL_MS || done === size) {
      shown = now;
      progress(done);
    }
  };
  if (size <= chunk) {
    await repo.putBlob(location, digest, counted(createReadStream(path, { highWaterMark: READ_CHUNK }), 0, report), size, signal);
  } else {
    for (let start = 0; start < size; start += chunk) {
      const length = Math.min(chunk, size - start);
      const body = counted(createReadStream(path, { start, end: start + length - 1, highWaterMark: READ_CHUNK }), start, report);
      location = await repo.patchChunk(location, body, start, length, signal);
    }
    await repo.finishUpload(location, digest, signal);
  }
  return { kind: 'pushed' };
}

/** A file stream that reports how many bytes of the blob went out. */
function counted(stream: ReadStream, offset: number, report: (done: number) => void): ReadStream {
  let n = offset;
  stream.on('data', (d) => {
    n += d.length;
    report(n);
  });
  return stream;
}

/** The manifest to push: the one the image came with if it still describes it, else a new one. */
function manifestFor(svc: ImageService, image: ImageRow, layers: LayerRow[]): { mediaType: string; body: Buffer } {
  const { content } = svc;
  const config = { digest: image.id, size: content.size(image.id) };
  const candidates = [image.manifest_digest, ...svc.records.imageBlobs(image.id).map((b) => b.digest)].filter(Boolean);
  for (const digest of candidates) {
    if (!content.has(digest) || content.size(digest) > MAX_MANIFEST_BYTES) continue;
    try {
      const body = content.read(digest);
      const parsed = parseManifest(body, undefined, `manifest ${digest}`);
      if (parsed.kind !== 'manifest') continue;
      const m = parsed.manifest;
      const same =
        m.config.digest === config.digest &&
        m.layers.length === layers.length &&
        m.layers.every((l, i) => l.digest === layers[i].blob_digest && l.size === layers[i].blob_size);
      if (same) return { mediaType: m.mediaType, body };
    } catch {
      // not a manifest that describes this image: a new one is made
    }
  }
  const oci = layers.some((l) => l.media_type.startsWith('application/vnd.oci.'));
  const doc = oci
    ? {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: DOCKER_TO_OCI[l.media_type] ?? l.media_type, digest: l.blob_digest, size: l.blob_size })),
      }
    : {
        schemaVersion: 2,
        mediaType: MEDIA.dockerManifest,
        config: { mediaType: DOCKER_CONFIG, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.media_type, digest: l.blob_digest, size: l.blob_size })),
      };
  return { mediaType: doc.mediaType, body: Buffer.from(JSON.stringify(doc, null, 3)) };
}

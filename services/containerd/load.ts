/**
 * `docker load`: a docker-archive or OCI-layout tar streamed in. Every regular file goes into the
 * content store by its sha256 as it arrives (names that claim a digest are verified), because
 * entry order is not guaranteed (manifest.json may come last); then the manifests are resolved,
 * each new layer is unpacked once per chain id, and everything is recorded in one transaction.
 *
 * Any failure — not a tar, truncated, missing metadata, a blob the manifest names but the archive
 * lacks, a digest or diff id mismatch, invalid JSON — is invalid_argument, and leaves nothing: the
 * blobs only this load brought are removed and its unpacked directories discarded; no row exists.
 */
import { posix } from 'node:path';
import { invalidArgument, EngineError } from '../../common/errors.js';
import type { LoadProgress } from '../../common/proto-types/tersane/containerd/v1/LoadProgress.js';
import type { LoadedImage } from '../../common/proto-types/tersane/containerd/v1/LoadedImage.js';
import { familiarName } from '../../common/reference.js';
import { nowRfc3339Nano } from '../../common/time.js';
import type { ImageService } from './images.js';
import { MAX_JSON_BYTES, planImages, type ArchiveView, type ImagePlan } from './manifest.js';
import { chainIds, type UnpackResult } from './snapshots.js';
import { readTar, TarFormatError } from './tar.js';

/** Files of an archive kept in memory rather than in the content store. */
const META_FILES = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);
/** Legacy per-layer v1 metadata: nothing in it is needed. */
const V1_METADATA = /^[^/]+\/(json|VERSION)$/;
const CLAIMED_BLOB = /^blobs\/sha256\/([a-f0-9]{64})$/;
const CLAIMED_CONFIG = /^([a-f0-9]{64})\.json$/;
const MAX_LINK_HOPS = 16;

function cleanName(name: string): string {
  return posix.normalize(name.replace(/^(\.?\/)+/, '')).replace(/\/$/, '');
}

async function collect(data: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const p of data) {
    size += p.length;
    if (size > limit) throw invalidArgument(`invalid archive: ${what} is too large`);
    parts.push(p);
  }
  return Buffer.concat(parts);
}

export async function loadArchive(
  svc: ImageService,
  source: AsyncIterable<Buffer>,
  emit: (p: LoadProgress) => void,
): Promise<LoadedImage[]> {
  return svc.lock.run(async () => {
    const { content, snapshots, store } = svc;
    const createdBlobs = new Set<string>();
    const unpacked = new Map<string, UnpackResult>();
    const files = new Map<string, string>();
    const links = new Map<string, string>();
    const meta = new Map<string, Buffer>();
    let committed = false;
    try {
      try {
        for await (const entry of readTar(source)) {
          const name = cleanName(entry.name);
          if (entry.type === 'file') {
            if (META_FILES.has(name)) {
              meta.set(name, await collect(entry.data, MAX_JSON_BYTES, name));
            } else if (V1_METADATA.test(name)) {
              for await (const _ of entry.data) void _;
            } else {
              const claim = CLAIMED_BLOB.exec(name) ?? CLAIMED_CONFIG.exec(name);
              const got = await content.ingest(entry.data, {
                size: entry.size,
                digest: claim ? `sha256:${claim[1]}` : undefined,
                what: `invalid archive: ${name}`,
              });
              if (got.created) createdBlobs.add(got.digest);
              files.set(name, got.digest);
            }
          } else if (entry.type === 'symlink' || entry.type === 'hardlink') {
            // Old `docker save` links a layer.tar shared by two images to the first copy.
            const target = entry.type === 'symlink' ? posix.join(posix.dirname(name), entry.linkname) : entry.linkname;
            links.set(name, cleanName(target));
            for await (const _ of entry.data) void _;
          } else {
            for await (const _ of entry.data) void _;
          }
        }
      } catch (err) {
        if (err instanceof TarFormatError) throw invalidArgument(`invalid archive: ${err.message}`);
        throw err;
      }

      const carried = new Set(files.values());
      const view: ArchiveView = {
        meta: (p) => meta.get(p),
        blobOf(p) {
          let path = cleanName(p);
          for (let i = 0; i < MAX_LINK_HOPS; i++) {
            const d = files.get(path);
            if (d) return d;
            const next = links.get(path);
            if (!next) return undefined;
            path = next;
          }
          return undefined;
        },
        // Only what this archive carried counts: a blob the store has from elsewhere is not in it.
        hasBlob: (d) => carried.has(d) && content.has(d),
        blobSize: (d) => content.size(d),
        readBlob: (d) => content.read(d),
      };
      const plans = planImages(view);

      // Unpack each layer not yet present, once per chain id, verifying its diff id.
      for (const plan of plans) {
        const chain = chainIds(plan.diffIds);
        for (const [i, layer] of plan.layers.entries()) {
          const chainId = chain[i];
          if (store.snapshotByChain(chainId) || unpacked.has(chainId)) continue;
          const shortId = plan.diffIds[i].slice(7, 19);
          emit({ id: shortId, status: 'Loading layer', current: 0, total: layer.size });
          const r = await snapshots.unpack(content.path(layer.digest), (done) =>
            emit({ id: shortId, status: 'Loading layer', current: Math.min(done, layer.size), total: layer.size }),
          ).catch((err: unknown) => {
            throw err instanceof EngineError && err.kind === 'invalid_argument'
              ? invalidArgument(`invalid archive: layer ${i + 1} of image ${plan.configDigest}: ${err.message}`)
              : err;
          });
          unpacked.set(chainId, r);
          if (r.diffId !== plan.diffIds[i]) {
            throw invalidArgument(
              `invalid archive: layer ${i + 1} of image ${plan.configDigest} has diff id ${r.diffId}, its config says ${plan.diffIds[i]}`,
            );
          }
          emit({ id: shortId, status: 'Loading layer', current: layer.size, total: layer.size });
        }
      }

      store.transaction(() => {
        for (const [chainId, r] of unpacked) snapshots.commit(r.tmp, chainId, r.size);
        for (const plan of plans) record(svc, plan, unpacked);
        if (plans.some((p) => p.layers.length === 0)) snapshots.emptyLower();
      });
      committed = true;

      // Blobs this load brought that no image needs (other platforms' manifests, attestations…).
      const referenced = store.referencedBlobs();
      for (const d of createdBlobs) if (!referenced.has(d)) content.remove(d);

      const loaded: LoadedImage[] = [];
      for (const plan of plans) {
        if (plan.names.length === 0) loaded.push({ name: '', id: plan.configDigest });
        for (const n of plan.names) loaded.push({ name: familiarName(n), id: plan.configDigest });
      }
      return loaded;
    } finally {
      if (!committed) {
        for (const r of unpacked.values()) snapshots.discard(r.tmp);
        for (const d of createdBlobs) content.remove(d);
      }
    }
  });

  /** Records one image (inside the load's transaction): row, layers, names and their events. */
  function record(svc: ImageService, plan: ImagePlan, unpacked: Map<string, UnpackResult>): void {
    const { store, events } = svc;
    const chain = chainIds(plan.diffIds);
    const existing = store.image(plan.configDigest);
    if (!existing) {
      const size = chain.reduce((sum, c) => sum + (store.snapshotByChain(c)?.size ?? 0), 0);
      store.insertImage({ id: plan.configDigest, manifest_digest: plan.manifestDigest, size, loaded_at: nowRfc3339Nano() });
      plan.layers.forEach((l, idx) =>
        store.insertLayer({
          image_id: plan.configDigest,
          idx,
          diff_id: plan.diffIds[idx],
          blob_digest: l.digest,
          blob_size: l.size,
          tar_size:
            unpacked.get(chain[idx])?.tarSize ??
            store.tarSizeOfChain(chain[idx]) ??
            (l.digest === plan.diffIds[idx] ? l.size : 0),
          media_type: l.mediaType,
          chain_id: chain[idx],
        }),
      );
      if (plan.names.length === 0) events.record('/images/create', { image: { id: plan.configDigest, name: '' } });
    } else if (!existing.manifest_digest && plan.manifestDigest) {
      store.setManifestDigest(plan.configDigest, plan.manifestDigest);
    }
    for (const name of plan.names) {
      const had = store.imageOfName(name);
      if (had === plan.configDigest) continue;
      store.setName(name, plan.configDigest);
      events.record(had === undefined ? '/images/create' : '/images/update', { image: { id: plan.configDigest, name } });
    }
  }
}

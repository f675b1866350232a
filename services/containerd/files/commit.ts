/**
 * `docker commit` in containerd: the container's layer (its overlay upper directory as an OCI layer
 * tar, whiteouts converted, Docker's init-layer mount points left out) goes into the content store
 * uncompressed, so its digest is its diff id; it is unpacked once into a committed snapshot (as any
 * layer is) and the image is recorded on the container's image, in one transaction. A container
 * that changed nothing adds no layer (Docker's empty_layer history entry). Anything that fails
 * leaves nothing: the blobs this commit brought are removed and its unpacked directory discarded.
 */
import { conflict, failedPrecondition, internal, invalidArgument } from '../../../common/errors.js';
import type { Image } from '../../../common/proto-types/tersane/containerd/v1/Image.js';
import { normalizeName } from '../../../common/reference.js';
import { nowRfc3339Nano } from '../../../common/time.js';
import { MEDIA } from '../manifest.js';
import { chainIds, type UnpackResult } from '../snapshots.js';
import type { LayerRow } from '../store.js';
import type { ContainerFiles } from './files.js';

/** The digest of an empty tar (two zero blocks): the layer of a container that changed nothing. */
export const EMPTY_TAR_DIGEST = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface CommitInput {
  containerId: string;
  /** The new image's config document without the new layer. */
  config: Buffer;
  /** The new history entry. */
  history: Buffer;
  /** Fully qualified reference, or empty. */
  name: string;
}

function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid ${what}: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`invalid ${what}: not a JSON object`);
  return value as Record<string, unknown>;
}

/** Docker writes an image config with its top-level keys sorted (image.Image's MarshalJSON). */
export function sortedTopLevel(doc: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(doc).sort().map((k) => [k, doc[k]]));
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

export async function commitContainer(files: ContainerFiles, input: CommitInput): Promise<Image> {
  const config = parseObject(input.config, 'image config');
  const history = parseObject(input.history, 'history entry');
  let name = '';
  if (input.name) {
    try {
      name = normalizeName(input.name);
    } catch (err) {
      throw invalidArgument((err as Error).message);
    }
  }
  const { images } = files;
  const { store, content, snapshots, events } = images;
  return images.lock.run(async () => {
    const row = files.row(input.containerId);
    const parent = store.image(row.image_id);
    if (!parent) throw failedPrecondition(`the image ${row.image_id} of container ${row.id} is gone`);
    const parentLayers = store.layers(parent.id);
    const created: string[] = [];
    let unpacked: UnpackResult | undefined;
    let committed = false;
    try {
      const run = files.layerTar(row);
      let layer;
      try {
        layer = await content.ingest(run.stdout as AsyncIterable<Buffer>, { what: 'the container layer' });
      } finally {
        run.kill();
      }
      if (layer.created) created.push(layer.digest);
      await run.done;

      const diffIds = parentLayers.map((l) => l.diff_id);
      const empty = layer.digest === EMPTY_TAR_DIGEST;
      let added: Omit<LayerRow, 'image_id' | 'idx'> | undefined;
      if (!empty) {
        const chain = chainIds([...diffIds, layer.digest]);
        const chainId = chain[chain.length - 1];
        if (!store.snapshotByChain(chainId)) {
          unpacked = await snapshots.unpack(content.path(layer.digest));
          if (unpacked.diffId !== layer.digest) throw internal(`the container layer unpacked to ${unpacked.diffId}, its blob is ${layer.digest}`);
        }
        added = {
          diff_id: layer.digest,
          blob_digest: layer.digest,
          blob_size: layer.size,
          tar_size: layer.size,
          media_type: MEDIA.ociLayer,
          chain_id: chainId,
        };
      } else if (layer.created) {
        content.remove(layer.digest);
        created.pop();
      }

      config.rootfs = { type: 'layers', diff_ids: [...diffIds, ...(added ? [added.diff_id] : [])] };
      const entry: Record<string, unknown> = { ...history };
      if (empty) entry.empty_layer = true;
      config.history = [...(Array.isArray(config.history) ? config.history : []), entry];
      const configBytes = Buffer.from(JSON.stringify(sortedTopLevel(config)));
      const stored = await content.ingest(once(configBytes), { what: 'the image config' });
      if (stored.created) created.push(stored.digest);
      const id = stored.digest;

      store.transaction(() => {
        if (unpacked && added) snapshots.commit(unpacked.tmp, added.chain_id, unpacked.size);
        if (!store.image(id)) {
          const chains = [...parentLayers.map((l) => l.chain_id), ...(added ? [added.chain_id] : [])];
          const size = chains.reduce((sum, c) => sum + (store.snapshotByChain(c)?.size ?? 0), 0);
          store.insertImage({ id, manifest_digest: '', size, loaded_at: nowRfc3339Nano() });
          parentLayers.forEach((l, idx) => store.insertLayer({ ...l, image_id: id, idx }));
          if (added) store.insertLayer({ ...added, image_id: id, idx: parentLayers.length });
          if (!name) events.record('/images/create', { image: { id, name: '' } });
        }
        if (name) {
          const had = store.imageOfName(name);
          if (had !== id) {
            store.setName(name, id);
            events.record(had === undefined ? '/images/create' : '/images/update', { image: { id, name } });
          }
        }
      });
      committed = true;
      const image = store.image(id);
      if (!image) throw conflict(`image ${id} was removed as it was committed`);
      return images.toProto(image);
    } finally {
      if (!committed) {
        if (unpacked) snapshots.discard(unpacked.tmp);
        for (const d of created) content.remove(d);
      }
    }
  });
}

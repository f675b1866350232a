/**
 * The image store: lookup by name, id or id prefix (Docker's rules), tags, deletion with garbage
 * collection of the blobs and snapshots nothing references any more.
 */
import { invalidArgument, failedPrecondition, notFound } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Image } from '../../common/proto-types/tersane/containerd/v1/Image.js';
import { familiarName, formatReference, isFullId, normalizeName, parseReference, withDefaultTag } from '../../common/reference.js';
import type { ContentStore } from './content.js';
import type { Mutex } from './lock.js';
import { RegistryRecords } from './registry/records.js';
import type { Snapshotter } from './snapshots.js';
import { EMPTY_CHAIN, type ImageRow, type LayerRow, type Store } from './store.js';

export type Events = Pick<EventBus, 'record'>;

/** Docker's "No such image" names the reference as the user would write it, with its tag. */
export function noSuchImage(ref: string): Error {
  let shown = ref;
  try {
    shown = familiarName(formatReference(withDefaultTag(parseReference(ref))));
  } catch {
    /* not a reference: shown as given */
  }
  return notFound(`No such image: ${shown}`);
}

export class ImageService {
  /** RepoDigests, kept manifests, blob sources and pull leases (registry pulls and pushes). */
  readonly records: RegistryRecords;

  constructor(
    readonly store: Store,
    readonly content: ContentStore,
    readonly snapshots: Snapshotter,
    readonly events: Events,
    readonly lock: Mutex,
  ) {
    this.records = new RegistryRecords(store.db);
  }

  /**
   * An image by reference, full id or unique id prefix, in Docker's order: a name that exists
   * wins over an id prefix that happens to look like it.
   */
  resolve(ref: string): ImageRow {
    if (!ref) throw noSuchImage(ref);
    if (isFullId(ref)) {
      const id = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
      const row = this.store.image(id);
      if (row) return row;
      throw noSuchImage(ref);
    }
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      if (parsed.digest) {
        const named = this.records.imageOfRepoDigest(formatReference({ ...parsed, tag: undefined }));
        if (named) return this.store.image(named)!;
        const withDigest = this.store.images().find((i) => i.manifest_digest === parsed!.digest);
        if (withDigest) return withDigest;
      } else {
        const id = this.store.imageOfName(formatReference(withDefaultTag(parsed)));
        if (id) return this.store.image(id)!;
      }
    }
    const prefix = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[a-f0-9]{1,63}$/.test(prefix)) {
      const found = this.store.imagesByIdPrefix(prefix);
      if (found.length === 1) return found[0];
      if (found.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${prefix}`);
    }
    throw noSuchImage(ref);
  }

  toProto(row: ImageRow): Image {
    const layers = this.store.layers(row.id);
    return {
      id: row.id,
      names: this.store.names(row.id),
      repo_digests: this.records.repoDigests(row.id),
      config: this.content.read(row.id),
      size: row.size,
      diff_ids: layers.map((l) => l.diff_id),
      loaded_at: row.loaded_at,
      layer_sizes: layers.map((l) => this.store.snapshotByChain(l.chain_id)?.size ?? 0),
      chain_ids: layers.map((l) => l.chain_id),
    };
  }

  list(): Image[] {
    return this.store.images().map((r) => this.toProto(r));
  }

  get(ref: string): Image {
    return this.toProto(this.resolve(ref));
  }

  /** Gives the image `source` one more name, taking it from another image that had it. */
  tag(source: string, name: string): Promise<Image> {
    return this.lock.run(() => {
      const image = this.resolve(source);
      const full = normalizeName(name);
      this.store.transaction(() => {
        const had = this.store.imageOfName(full);
        if (had === image.id) return;
        this.store.setName(full, image.id);
        this.events.record(had === undefined ? '/images/create' : '/images/update', { image: { id: image.id, name: full } });
      });
      return this.toProto(this.store.image(image.id)!);
    });
  }

  untag(name: string): Promise<Image> {
    return this.lock.run(() => {
      let full: string;
      try {
        full = normalizeName(name);
      } catch {
        throw noSuchImage(name);
      }
      if (full.includes('@')) return this.untagDigest(full, name);
      const id = this.store.imageOfName(full);
      if (!id) throw noSuchImage(name);
      this.store.transaction(() => {
        this.store.removeName(full);
        this.events.record('/images/delete', { image: { id, name: full } });
      });
      return this.toProto(this.store.image(id)!);
    });
  }

  /** Removes a repository@digest name (Docker's RepoDigests entry). Call under the lock. */
  private untagDigest(full: string, asGiven: string): Image {
    const id = this.records.imageOfRepoDigest(full);
    if (!id) throw noSuchImage(asGiven);
    this.store.transaction(() => {
      this.records.removeRepoDigest(full);
      this.events.record('/images/delete', { image: { id, name: full } });
    });
    return this.toProto(this.store.image(id)!);
  }

  /**
   * Deletes an image with all its names, then collects what nothing references. Refused while a
   * container was created from it.
   */
  delete(ref: string): Promise<{ untagged: string[]; deleted: string[]; reclaimed: number }> {
    return this.lock.run(() => {
      const image = this.resolve(ref);
      const users = this.store.containersOfImage(image.id);
      if (users.length > 0) {
        throw failedPrecondition(`image ${image.id} is in use by container ${users[0]}`);
      }
      const untagged = [...this.store.names(image.id), ...this.records.repoDigests(image.id)];
      let removed: { chains: string[]; blobs: string[]; snapshotIds: number[]; bytes?: number } = { chains: [], blobs: [], snapshotIds: [] };
      this.store.transaction(() => {
        this.store.deleteImage(image.id);
        for (const name of untagged) this.events.record('/images/delete', { image: { id: image.id, name } });
        if (untagged.length === 0) this.events.record('/images/delete', { image: { id: image.id, name: '' } });
        removed = this.collectRows();
      });
      this.removeFiles(removed);
      return { untagged, deleted: [image.id, ...removed.chains], reclaimed: removed.bytes ?? 0 };
    });
  }

  /**
   * Removes the rows of committed snapshots no image references (inside the caller's transaction)
   * and says which directories and blobs to remove once it commits.
   */
  collectRows(): { chains: string[]; blobs: string[]; snapshotIds: number[]; bytes: number } {
    const chains = this.store.referencedChains();
    const layerless = this.store.images().some((i) => this.store.layers(i.id).length === 0);
    const out = { chains: [] as string[], blobs: [] as string[], snapshotIds: [] as number[], bytes: 0 };
    this.records.expire();
    for (const s of this.store.snapshots()) {
      if (s.kind !== 'committed' || !s.chain_id) continue;
      if (s.chain_id === EMPTY_CHAIN ? layerless : chains.has(s.chain_id)) continue;
      this.store.deleteSnapshot(s.id);
      out.snapshotIds.push(s.id);
      out.bytes += s.size;
      if (s.chain_id !== EMPTY_CHAIN) out.chains.push(s.chain_id);
    }
    const blobs = this.store.referencedBlobs();
    for (const d of this.content.list()) if (!blobs.has(d)) out.blobs.push(d);
    return out;
  }

  /** The files of what collectRows() removed: after the commit, so a crash leaves only orphans. */
  removeFiles(removed: { blobs: string[]; snapshotIds: number[] }): void {
    for (const id of removed.snapshotIds) this.snapshots.discard(this.snapshots.dir(id));
    for (const d of removed.blobs) this.content.remove(d);
  }

  /** Collects unreferenced snapshots and blobs (at start; after a load that failed). */
  collectGarbage(): { chains: string[]; blobs: string[] } {
    let removed = { chains: [] as string[], blobs: [] as string[], snapshotIds: [] as number[] };
    this.store.transaction(() => {
      removed = this.collectRows();
    });
    this.removeFiles(removed);
    return removed;
  }

  /**
   * Makes sure every layer of an image has its committed snapshot, unpacking again from the blob
   * any that went missing (a snapshot directory removed behind our back). Call under the lock.
   */
  async ensureChain(layers: LayerRow[]): Promise<void> {
    for (const l of layers) {
      if (this.store.snapshotByChain(l.chain_id)) continue;
      if (!this.content.has(l.blob_digest)) throw failedPrecondition(`layer ${l.diff_id} is missing: its blob ${l.blob_digest} is gone`);
      const r = await this.snapshots.unpack(this.content.path(l.blob_digest));
      if (r.diffId !== l.diff_id) {
        this.snapshots.discard(r.tmp);
        throw failedPrecondition(`layer ${l.blob_digest} unpacked to ${r.diffId}, expected ${l.diff_id}`);
      }
      try {
        this.store.transaction(() => this.snapshots.commit(r.tmp, l.chain_id, r.size));
      } catch (err) {
        this.snapshots.discard(r.tmp);
        throw err;
      }
    }
  }
}

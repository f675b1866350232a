/**
 * containerd's own SQLite schema and queries (<stateDir>/containerd/containerd.db). Nobody else
 * reads this database: the daemon asks over gRPC.
 *
 *   images        one row per image (id = sha256 of its config blob)
 *   image_names   fully qualified names; a name belongs to one image at a time
 *   image_layers  per image, bottom first: diff id, the blob holding it, its chain id
 *   snapshots     committed layers (one per chain id, shared) and containers' active snapshots;
 *                 the row id is the directory name under snapshots/ (short: mount data is limited)
 *   containers    container metadata and the ContainerSpec its bundle was generated from
 */
import type { Db } from '../../common/db.js';

export const CONTAINERD_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    loaded_at TEXT NOT NULL
  );
  CREATE TABLE image_names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL
  );
  CREATE INDEX image_names_by_image ON image_names(image_id);
  CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    diff_id TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    blob_size INTEGER NOT NULL,
    tar_size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
  );
  CREATE INDEX image_layers_by_chain ON image_layers(chain_id);
  CREATE INDEX image_layers_by_blob ON image_layers(blob_digest);
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('committed', 'active')),
    chain_id TEXT UNIQUE,
    container_id TEXT UNIQUE,
    size INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );
  CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id),
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
    labels TEXT NOT NULL,
    spec_input TEXT NOT NULL,
    runtime_spec TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX containers_by_image ON containers(image_id);
  `,
  // Registry pulls and pushes (registry/records.ts): Docker's RepoDigests, the manifests and indexes
  // an image keeps, where each blob is known to exist (cross-repository mounts), and leases that
  // keep the blobs of a pull in progress (or cut short) from the garbage collector.
  `
  CREATE TABLE image_digests (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL
  );
  CREATE INDEX image_digests_by_image ON image_digests(image_id);
  CREATE TABLE image_blobs (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (image_id, digest)
  );
  CREATE TABLE blob_sources (
    digest TEXT NOT NULL,
    repository TEXT NOT NULL,
    PRIMARY KEY (digest, repository)
  );
  CREATE TABLE leases (
    lease TEXT NOT NULL,
    digest TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (lease, digest)
  );
  CREATE INDEX leases_by_digest ON leases(digest);
  `,
];

export interface ImageRow {
  id: string;
  manifest_digest: string;
  size: number;
  loaded_at: string;
}

export interface LayerRow {
  image_id: string;
  idx: number;
  diff_id: string;
  blob_digest: string;
  blob_size: number;
  /** Bytes of the uncompressed layer tar (what `docker save` writes). */
  tar_size: number;
  media_type: string;
  chain_id: string;
}

export interface SnapshotRow {
  id: number;
  kind: 'committed' | 'active';
  chain_id: string | null;
  container_id: string | null;
  size: number;
  created_at: string;
}

export interface ContainerRow {
  id: string;
  image_id: string;
  snapshot_id: number;
  labels: string;
  spec_input: string;
  runtime_spec: string;
  created_at: string;
}

/** The chain id under which the empty lower directory of a layerless image is kept. */
export const EMPTY_CHAIN = 'empty';

/** Prepared queries over the schema above. */
export class Store {
  constructor(readonly db: Db) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- images ----
  image(id: string): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  }
  images(): ImageRow[] {
    return this.db.prepare('SELECT * FROM images ORDER BY loaded_at, id').all() as ImageRow[];
  }
  imagesByIdPrefix(prefix: string): ImageRow[] {
    return this.db.prepare("SELECT * FROM images WHERE substr(id, 8, ?) = ? LIMIT 2").all(prefix.length, prefix) as ImageRow[];
  }
  insertImage(row: ImageRow): void {
    this.db.prepare('INSERT INTO images (id, manifest_digest, size, loaded_at) VALUES (@id, @manifest_digest, @size, @loaded_at)').run(row);
  }
  setManifestDigest(id: string, digest: string): void {
    this.db.prepare('UPDATE images SET manifest_digest = ? WHERE id = ?').run(digest, id);
  }
  deleteImage(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }

  // ---- names ----
  names(imageId: string): string[] {
    return (this.db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY seq').all(imageId) as Array<{ name: string }>).map(
      (r) => r.name,
    );
  }
  imageOfName(name: string): string | undefined {
    return (this.db.prepare('SELECT image_id FROM image_names WHERE name = ?').get(name) as { image_id: string } | undefined)?.image_id;
  }
  allNames(): Array<{ name: string; image_id: string }> {
    return this.db.prepare('SELECT name, image_id FROM image_names ORDER BY seq').all() as Array<{ name: string; image_id: string }>;
  }
  /** Gives `name` to the image; returns the image that had it before, if another one did. */
  setName(name: string, imageId: string): string | undefined {
    const before = this.imageOfName(name);
    if (before === imageId) return undefined;
    this.db
      .prepare(
        'INSERT INTO image_names (name, image_id, seq) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM image_names)) ' +
          'ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, seq = excluded.seq',
      )
      .run(name, imageId);
    return before;
  }
  removeName(name: string): void {
    this.db.prepare('DELETE FROM image_names WHERE name = ?').run(name);
  }

  // ---- layers ----
  layers(imageId: string): LayerRow[] {
    return this.db.prepare('SELECT * FROM image_layers WHERE image_id = ? ORDER BY idx').all(imageId) as LayerRow[];
  }
  insertLayer(row: LayerRow): void {
    this.db
      .prepare(
        'INSERT INTO image_layers (image_id, idx, diff_id, blob_digest, blob_size, tar_size, media_type, chain_id) ' +
          'VALUES (@image_id, @idx, @diff_id, @blob_digest, @blob_size, @tar_size, @media_type, @chain_id)',
      )
      .run(row);
  }
  /** The uncompressed tar size recorded for a layer by any image that has it. */
  tarSizeOfChain(chainId: string): number | undefined {
    const r = this.db.prepare('SELECT tar_size FROM image_layers WHERE chain_id = ? AND tar_size > 0 LIMIT 1').get(chainId) as { tar_size: number } | undefined;
    return r?.tar_size;
  }
  /** Every blob digest some image needs: configs, manifests, layers. */
  referencedBlobs(): Set<string> {
    const out = new Set<string>();
    for (const r of this.db.prepare('SELECT id, manifest_digest FROM images').all() as ImageRow[]) {
      out.add(r.id);
      if (r.manifest_digest) out.add(r.manifest_digest);
    }
    for (const r of this.db.prepare('SELECT DISTINCT blob_digest FROM image_layers').all() as Array<{ blob_digest: string }>) {
      out.add(r.blob_digest);
    }
    // Manifests and indexes an image came with, and blobs under an unexpired lease (a pull).
    for (const r of this.db.prepare('SELECT DISTINCT digest FROM image_blobs').all() as Array<{ digest: string }>) out.add(r.digest);
    for (const r of this.db.prepare('SELECT DISTINCT digest FROM leases WHERE expires_at > ?').all(Date.now()) as Array<{ digest: string }>) {
      out.add(r.digest);
    }
    return out;
  }
  /** Every chain id some image needs. */
  referencedChains(): Set<string> {
    const rows = this.db.prepare('SELECT DISTINCT chain_id FROM image_layers').all() as Array<{ chain_id: string }>;
    return new Set(rows.map((r) => r.chain_id));
  }

  // ---- snapshots ----
  snapshotByChain(chainId: string): SnapshotRow | undefined {
    return this.db.prepare("SELECT * FROM snapshots WHERE kind = 'committed' AND chain_id = ?").get(chainId) as SnapshotRow | undefined;
  }
  snapshot(id: number): SnapshotRow | undefined {
    return this.db.prepare('SELECT * FROM snapshots WHERE id = ?').get(id) as SnapshotRow | undefined;
  }
  snapshots(): SnapshotRow[] {
    return this.db.prepare('SELECT * FROM snapshots ORDER BY id').all() as SnapshotRow[];
  }
  insertSnapshot(row: Omit<SnapshotRow, 'id'>): number {
    const r = this.db
      .prepare('INSERT INTO snapshots (kind, chain_id, container_id, size, created_at) VALUES (@kind, @chain_id, @container_id, @size, @created_at)')
      .run(row);
    return Number(r.lastInsertRowid);
  }
  deleteSnapshot(id: number): void {
    this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  }

  // ---- containers ----
  container(id: string): ContainerRow | undefined {
    return this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
  }
  containers(): ContainerRow[] {
    return this.db.prepare('SELECT * FROM containers ORDER BY created_at, id').all() as ContainerRow[];
  }
  containersOfImage(imageId: string): string[] {
    return (this.db.prepare('SELECT id FROM containers WHERE image_id = ?').all(imageId) as Array<{ id: string }>).map((r) => r.id);
  }
  insertContainer(row: ContainerRow): void {
    this.db
      .prepare(
        'INSERT INTO containers (id, image_id, snapshot_id, labels, spec_input, runtime_spec, created_at) ' +
          'VALUES (@id, @image_id, @snapshot_id, @labels, @spec_input, @runtime_spec, @created_at)',
      )
      .run(row);
  }
  deleteContainer(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }
  /** A container's new ContainerSpec and the OCI spec generated from it (docker update). */
  updateContainerSpec(id: string, specInput: string, runtimeSpec: string): void {
    this.db.prepare('UPDATE containers SET spec_input = ?, runtime_spec = ? WHERE id = ?').run(specInput, runtimeSpec, id);
  }
}

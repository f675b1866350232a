/**
 * containerd's records of what came from or went to registries (tables of store.ts's second
 * migration): Docker's RepoDigests (repository@digest → image, one image per name), the manifests
 * and indexes an image keeps, the repositories each blob is known to exist in (for cross-repository
 * mounts), and leases — blobs a pull fetched that no image references yet, kept from the garbage
 * collector until the lease expires, so a pull cut short (kill -9) is resumed without fetching them
 * again.
 */
import type { Db } from '../../../common/db.js';

/** How long the blobs of an unfinished pull are kept (containerd gives its pulls' leases 24 h). */
export const PULL_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

export class RegistryRecords {
  constructor(private readonly db: Db) {}

  // ---- RepoDigests ----
  repoDigests(imageId: string): string[] {
    return (this.db.prepare('SELECT name FROM image_digests WHERE image_id = ? ORDER BY seq').all(imageId) as Array<{ name: string }>).map((r) => r.name);
  }
  imageOfRepoDigest(name: string): string | undefined {
    return (this.db.prepare('SELECT image_id FROM image_digests WHERE name = ?').get(name) as { image_id: string } | undefined)?.image_id;
  }
  /** Images any repository knows by this digest. */
  imagesOfDigest(digest: string): string[] {
    const rows = this.db.prepare("SELECT DISTINCT image_id FROM image_digests WHERE substr(name, instr(name, '@') + 1) = ?").all(digest) as Array<{ image_id: string }>;
    return rows.map((r) => r.image_id);
  }
  setRepoDigest(name: string, imageId: string): void {
    this.db
      .prepare(
        'INSERT INTO image_digests (name, image_id, seq) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM image_digests)) ' +
          'ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, seq = excluded.seq',
      )
      .run(name, imageId);
  }
  removeRepoDigest(name: string): void {
    this.db.prepare('DELETE FROM image_digests WHERE name = ?').run(name);
  }

  // ---- manifests and indexes kept with an image ----
  addImageBlob(imageId: string, digest: string, mediaType: string): void {
    this.db.prepare('INSERT OR IGNORE INTO image_blobs (image_id, digest, media_type) VALUES (?, ?, ?)').run(imageId, digest, mediaType);
  }
  imageBlobs(imageId: string): Array<{ digest: string; media_type: string }> {
    return this.db.prepare('SELECT digest, media_type FROM image_blobs WHERE image_id = ?').all(imageId) as Array<{ digest: string; media_type: string }>;
  }

  // ---- where blobs are ----
  addSource(digest: string, repository: string): void {
    this.db.prepare('INSERT OR IGNORE INTO blob_sources (digest, repository) VALUES (?, ?)').run(digest, repository);
  }
  /** Repositories (registry/path) known to hold the blob. */
  sources(digest: string): string[] {
    return (this.db.prepare('SELECT repository FROM blob_sources WHERE digest = ?').all(digest) as Array<{ repository: string }>).map((r) => r.repository);
  }

  // ---- layers stored compressed for a push ----
  /**
   * Points every image's layer rows that use the uncompressed blob `from` at its compressed form
   * (the layer's diff id is unchanged: the same tar). Call inside a transaction.
   */
  useCompressedBlob(from: string, to: string, size: number, mediaType: string): number {
    return this.db
      .prepare('UPDATE image_layers SET blob_digest = ?, blob_size = ?, media_type = ? WHERE blob_digest = ?')
      .run(to, size, mediaType, from).changes;
  }

  // ---- leases ----
  /** Keeps `digest` from the garbage collector under `lease` until it expires or is released. */
  lease(lease: string, digest: string, ttlMs = PULL_LEASE_TTL_MS): void {
    this.db
      .prepare('INSERT INTO leases (lease, digest, expires_at) VALUES (?, ?, ?) ON CONFLICT(lease, digest) DO UPDATE SET expires_at = excluded.expires_at')
      .run(lease, digest, Date.now() + ttlMs);
  }
  release(lease: string): void {
    this.db.prepare('DELETE FROM leases WHERE lease = ?').run(lease);
  }
  releaseDigest(lease: string, digest: string): void {
    this.db.prepare('DELETE FROM leases WHERE lease = ? AND digest = ?').run(lease, digest);
  }
  /** Drops expired leases (what they kept is garbage from now on). */
  expire(): number {
    return this.db.prepare('DELETE FROM leases WHERE expires_at <= ?').run(Date.now()).changes;
  }
}

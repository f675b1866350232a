/**
 * The content store: blobs by digest under <containerd>/content/blobs/sha256/<hex>, immutable once
 * committed. A blob is written to content/ingest/<random> while its digest is computed, and renamed
 * into place only after its digest and size are verified, so a blob path always holds exactly the
 * bytes its name says. An ingest file left by a crash is removed at start (cleanIngest).
 *
 * @example
 *   const { digest, created } = await content.ingest(chunks, { size: 1234 });
 *   createReadStream(content.path(digest));
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../common/errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface Ingested {
  digest: string;
  size: number;
  /** False when the store already had this blob (the new copy was dropped). */
  created: boolean;
}

export class ContentStore {
  readonly blobs: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobs = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
    mkdirSync(this.blobs, { recursive: true, mode: 0o700 });
    mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  static isDigest(text: string): boolean {
    return DIGEST.test(text);
  }

  path(digest: string): string {
    if (!DIGEST.test(digest)) throw invalidArgument(`invalid digest: ${digest}`);
    return join(this.blobs, digest.slice('sha256:'.length));
  }

  has(digest: string): boolean {
    return DIGEST.test(digest) && existsSync(this.path(digest));
  }

  size(digest: string): number {
    return statSync(this.path(digest)).size;
  }

  read(digest: string): Buffer {
    return readFileSync(this.path(digest));
  }

  /**
   * Streams `data` into the store. `size` (when known) and `digest` (when the source claims one)
   * are verified before the blob is committed; a mismatch throws invalid_argument and leaves nothing.
   */
  async ingest(data: AsyncIterable<Buffer>, expect: { size?: number; digest?: string; what?: string } = {}): Promise<Ingested> {
    const tmp = join(this.ingestDir, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      for await (const piece of data) {
        hash.update(piece);
        size += piece.length;
        let off = 0;
        while (off < piece.length) off += (await fh.write(piece, off, piece.length - off)).bytesWritten;
      }
      await fh.close();
      const digest = `sha256:${hash.digest('hex')}`;
      const what = expect.what ?? 'blob';
      if (expect.size !== undefined && expect.size !== size) {
        throw invalidArgument(`${what}: size mismatch: expected ${expect.size} bytes, got ${size}`);
      }
      if (expect.digest !== undefined && expect.digest !== digest) {
        throw invalidArgument(`${what}: digest mismatch: expected ${expect.digest}, got ${digest}`);
      }
      const target = this.path(digest);
      if (existsSync(target)) {
        rmSync(tmp, { force: true });
        return { digest, size, created: false };
      }
      renameSync(tmp, target);
      return { digest, size, created: true };
    } catch (err) {
      await fh.close().catch(() => undefined);
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }

  /** Every committed blob's digest. */
  list(): string[] {
    return readdirSync(this.blobs)
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`);
  }

  /** Removes ingest files: a crash mid-write leaves them, and nothing ever resumes one. */
  cleanIngest(): number {
    const left = readdirSync(this.ingestDir);
    for (const n of left) rmSync(join(this.ingestDir, n), { recursive: true, force: true });
    // Anything in blobs/sha256 that is not a digest name is not ours either.
    for (const n of readdirSync(this.blobs)) if (!/^[a-f0-9]{64}$/.test(n)) rmSync(join(this.blobs, n), { recursive: true, force: true });
    return left.length;
  }
}

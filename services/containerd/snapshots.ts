/**
 * Overlayfs snapshots. Each layer is unpacked once per chain id into snapshots/<n>/fs and shared by
 * every image that has it; a container gets an active snapshot snapshots/<m>/{fs,work} whose fs is
 * the overlay's upperdir. The directory number is the snapshots row id: short paths, because the
 * overlay's mount data (all lowerdirs) must fit in one page.
 *
 * A layer is unpacked into snapshots/tmp-<random>/fs by runtime-native's tersane-unpack and renamed
 * to snapshots/<n> in the transaction that records it, so a crash mid-unpack leaves only a tmp-
 * directory, which reconcile() removes (as it removes numbered directories without a row).
 *
 * containerd never mounts: the overlay mount is handed to the shim, whose monitor mounts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { internal, invalidArgument } from '../../common/errors.js';
import type { Mount } from '../../common/proto-types/tersane/common/v1/Mount.js';
import { nowRfc3339Nano } from '../../common/time.js';
import type { Trash } from '../../common/trash.js';
import { EMPTY_CHAIN, type Store } from './store.js';

/**
 * containerd's chain ids: chain(L1) = diffid1, chain(Ln) = sha256(chain(Ln-1) + " " + diffidn).
 *
 * @example chainIds(['sha256:a…', 'sha256:b…']) // ['sha256:a…', 'sha256:<sha256("sha256:a… sha256:b…")>']
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

export interface UnpackResult {
  /** snapshots/tmp-…: rename it into place with commit(). */
  tmp: string;
  diffId: string;
  /** Bytes of file data unpacked. */
  size: number;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
}

/**
 * Runs tersane-unpack into a fresh temporary snapshot directory under `root`, reading `input` (a
 * blob file's descriptor, or a pipe the caller writes to). `done` settles when it exits: with its
 * result, or its one-line refusal (invalid_argument) and the directory removed. `stopped` tells
 * whether the caller stopped it, which fails even an unpacker that exited cleanly.
 */
export function runUnpack(
  root: string,
  unpackBinary: string,
  input: number | 'pipe',
  stopped: () => boolean = () => false,
): { child: ChildProcess; done: Promise<UnpackResult> } {
  const tmp = join(root, `tmp-${randomBytes(8).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  const child = spawn(unpackBinary, ['--dir', join(tmp, 'fs')], { stdio: [input, 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
  const done = new Promise<UnpackResult>((resolve, reject) => {
    child.on('error', (e) => {
      rmSync(tmp, { recursive: true, force: true });
      reject(internal(`cannot run ${unpackBinary}: ${e.message}`));
    });
    child.on('close', (code) => {
      if (code !== 0 || stopped()) {
        rmSync(tmp, { recursive: true, force: true });
        const line = err.trim().split('\n').pop() || (stopped() ? 'unpack stopped' : `exit ${code}`);
        reject(invalidArgument(line.replace(/^tersane-unpack: /, '')));
        return;
      }
      try {
        const r = JSON.parse(out) as { diff_id: string; size: number; tar_size: number };
        resolve({ tmp, diffId: r.diff_id, size: r.size, tarSize: r.tar_size });
      } catch {
        rmSync(tmp, { recursive: true, force: true });
        reject(internal(`tersane-unpack gave no result: ${out.slice(0, 200)}`));
      }
    });
  });
  return { child, done };
}

/** How often the unpacker's read position is sampled for progress. */
const PROGRESS_INTERVAL_MS = 100;

export class Snapshotter {
  constructor(
    readonly root: string,
    private readonly store: Store,
    private readonly unpackBinary: string,
    /** Where removed snapshot directories go to be deleted off the request path. */
    readonly trash: Trash,
  ) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  dir(id: number): string {
    return join(this.root, String(id));
  }

  fs(id: number): string {
    return join(this.dir(id), 'fs');
  }

  /**
   * Unpacks a layer blob (any compression) into a fresh temporary directory with tersane-unpack.
   * The caller checks the diff id and either commits the directory or removes it (discard()).
   */
  unpack(blobPath: string, onProgress?: (done: number) => void): Promise<UnpackResult> {
    const fd = openSync(blobPath, 'r');
    const { child, done } = runUnpack(this.root, this.unpackBinary, fd);
    closeSync(fd);
    if (onProgress) {
      const timer = setInterval(() => {
        // The unpacker reads its stdin (the blob file) front to back: its offset is the progress.
        try {
          const m = /^pos:\s*(\d+)/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/0`, 'utf8'));
          if (m) onProgress(Number(m[1]));
        } catch {
          /* exited meanwhile */
        }
      }, PROGRESS_INTERVAL_MS);
      const stop = () => clearInterval(timer);
      done.then(stop, stop);
    }
    return done;
  }

  discard(tmp: string): void {
    this.trash.throwAway(tmp);
  }

  /** Records a committed snapshot and renames its directory into place. Call inside a transaction. */
  commit(tmp: string, chainId: string, size: number): number {
    const id = this.store.insertSnapshot({ kind: 'committed', chain_id: chainId, container_id: null, size, created_at: nowRfc3339Nano() });
    renameSync(tmp, this.dir(id));
    return id;
  }

  /** The empty lower directory of images without layers (made once). Call inside a transaction. */
  emptyLower(): number {
    const existing = this.store.snapshotByChain(EMPTY_CHAIN);
    if (existing) return existing.id;
    const id = this.store.insertSnapshot({ kind: 'committed', chain_id: EMPTY_CHAIN, container_id: null, size: 0, created_at: nowRfc3339Nano() });
    mkdirSync(this.fs(id), { recursive: true, mode: 0o755 });
    return id;
  }

  /** A container's read-write snapshot (upperdir fs + workdir). Call inside a transaction. */
  prepareActive(containerId: string): number {
    const id = this.store.insertSnapshot({ kind: 'active', chain_id: null, container_id: containerId, size: 0, created_at: nowRfc3339Nano() });
    rmSync(this.dir(id), { recursive: true, force: true });
    mkdirSync(this.fs(id), { recursive: true, mode: 0o755 });
    mkdirSync(join(this.dir(id), 'work'), { mode: 0o700 });
    return id;
  }

  /** The committed snapshot ids of a chain, topmost first, or the empty lower for no layers. */
  lowers(chain: readonly string[]): number[] {
    if (chain.length === 0) {
      const empty = this.store.snapshotByChain(EMPTY_CHAIN);
      if (!empty) throw internal('the empty lower snapshot is missing');
      return [empty.id];
    }
    return [...chain].reverse().map((c) => {
      const s = this.store.snapshotByChain(c);
      if (!s) throw internal(`snapshot of layer ${c} is missing`);
      return s.id;
    });
  }

  /** The overlay mount of an active snapshot on its lowers (topmost first). */
  mount(activeId: number, lowers: readonly number[]): Mount {
    return {
      type: 'overlay',
      source: 'overlay',
      options: [
        `lowerdir=${lowers.map((l) => this.fs(l)).join(':')}`,
        `upperdir=${this.fs(activeId)}`,
        `workdir=${join(this.dir(activeId), 'work')}`,
      ],
    };
  }

  /** Removes a snapshot's row (inside the caller's transaction) and its directory. */
  remove(id: number): void {
    this.store.deleteSnapshot(id);
    this.trash.throwAway(this.dir(id));
  }

  /**
   * At start: directories without a row (an unpack or a prepare interrupted before its commit, or a
   * removal interrupted after it) are removed — nothing refers to them; rows whose directory is
   * gone are dropped — the content they stood for is gone, and a committed layer is unpacked again
   * from its blob the next time a container needs it (ensureChain).
   */
  reconcile(): { removedDirs: string[]; droppedRows: number[] } {
    const rows = new Map(this.store.snapshots().map((r) => [String(r.id), r]));
    const removedDirs: string[] = [];
    for (const name of readdirSync(this.root)) {
      const row = rows.get(name);
      if (!row || !existsSync(join(this.root, name, 'fs'))) {
        if (!row) {
          rmSync(join(this.root, name), { recursive: true, force: true });
          removedDirs.push(name);
        }
      }
    }
    const droppedRows: number[] = [];
    for (const [name, row] of rows) {
      if (!existsSync(join(this.root, name, 'fs')) && row.kind === 'committed') {
        this.store.deleteSnapshot(row.id);
        droppedRows.push(row.id);
      }
    }
    return { removedDirs, droppedRows };
  }
}

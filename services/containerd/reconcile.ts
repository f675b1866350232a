/**
 * What containerd repairs at start, before serving: the leftovers of operations a crash (kill -9,
 * power loss) interrupted. Each choice keeps the rule "a row is the truth, files follow it".
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { mountedUnder, type ContainerService } from './containers.js';
import type { ImageService } from './images.js';

export interface ReconcileReport {
  ingest: number;
  snapshotDirs: string[];
  snapshotRows: number[];
  activeWithoutContainer: number[];
  bundlesRemoved: string[];
  bundlesRecreated: string[];
  uppersRecreated: string[];
  blobs: number;
  chains: number;
}

export function reconcile(images: ImageService, containers: ContainerService, log: Logger): ReconcileReport {
  const { store, snapshots, content } = images;

  // 1. Ingest files are blobs whose digest was never verified: nothing resumes them. Removed.
  const ingest = content.cleanIngest();

  // 2. Snapshot directories without a row (an unpack or a prepare cut short before its commit, or a
  //    removal cut short after it): nothing refers to them. Removed. Committed rows whose directory
  //    is gone are dropped: the layer is unpacked again from its blob when a container needs it.
  const snap = snapshots.reconcile();

  // 3. Active snapshots whose container row is gone cannot be reached by anyone. Removed.
  const containerIds = new Set(store.containers().map((c) => c.id));
  const activeWithoutContainer: number[] = [];
  store.transaction(() => {
    for (const s of store.snapshots()) {
      if (s.kind === 'active' && (!s.container_id || !containerIds.has(s.container_id))) {
        snapshots.remove(s.id);
        activeWithoutContainer.push(s.id);
      }
    }
  });

  // 4. Bundles without a container row: a Create cut short before its commit, or a Delete cut
  //    short after it. Removed — unless something is still mounted in one (then a task may use it:
  //    never delete through a mount; it is left and logged).
  const bundlesRemoved: string[] = [];
  for (const name of existsSync(containers.bundles) ? readdirSync(containers.bundles) : []) {
    if (containerIds.has(name)) continue;
    const dir = containers.bundle(name);
    if (mountedUnder(dir)) {
      log.warn('bundle without a container is still mounted; leaving it', { dir });
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    bundlesRemoved.push(name);
  }

  // 5. Container rows whose bundle is missing: the spec that was generated is in the row, so the
  //    bundle is written again exactly as it was (safe: same config, empty rootfs mount point).
  //    A missing upper/work directory is made again empty: the container's own writes are gone
  //    either way, and the container stays startable and removable instead of stuck.
  const bundlesRecreated: string[] = [];
  const uppersRecreated: string[] = [];
  for (const c of store.containers()) {
    if (!existsSync(join(containers.bundle(c.id), 'config.json'))) {
      containers.writeBundle(c.id, c.runtime_spec);
      bundlesRecreated.push(c.id);
    }
    if (!existsSync(snapshots.fs(c.snapshot_id)) || !existsSync(join(snapshots.dir(c.snapshot_id), 'work'))) {
      mkdirSync(snapshots.fs(c.snapshot_id), { recursive: true, mode: 0o755 });
      mkdirSync(join(snapshots.dir(c.snapshot_id), 'work'), { recursive: true, mode: 0o700 });
      uppersRecreated.push(c.id);
    }
  }

  // 6. Blobs and committed snapshots no image references: a load cut short after storing blobs
  //    (before its transaction), or a delete cut short between its commit and the file removal.
  const gc = images.collectGarbage();

  const report: ReconcileReport = {
    ingest,
    snapshotDirs: snap.removedDirs,
    snapshotRows: snap.droppedRows,
    activeWithoutContainer,
    bundlesRemoved,
    bundlesRecreated,
    uppersRecreated,
    blobs: gc.blobs.length,
    chains: gc.chains.length,
  };
  const changed = Object.values(report).some((v) => (Array.isArray(v) ? v.length > 0 : v > 0));
  if (changed) log.info('reconciled leftovers of interrupted operations', { ...report });
  return report;
}

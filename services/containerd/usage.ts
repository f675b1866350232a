/**
 * Disk use for `docker system df`: the committed layers (each snapshot counted once, its size
 * measured when it was unpacked) and each container's read-write snapshot, measured now by walking
 * its upper directory (file sizes, a hardlinked file once), as Docker measures SizeRw.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageResponse } from '../../common/proto-types/tersane/containerd/v1/UsageResponse.js';
import type { ImageService } from './images.js';

/** Bytes of the regular files and symlinks under `dir` (hardlinks once); 0 when it is gone. */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}

export async function diskUsage(svc: ImageService): Promise<UsageResponse> {
  const snapshots = svc.store.snapshots();
  const layersSize = snapshots.filter((s) => s.kind === 'committed').reduce((sum, s) => sum + s.size, 0);
  const containers = [];
  for (const c of svc.store.containers()) {
    containers.push({ id: c.id, size_rw: await directorySize(svc.snapshots.fs(c.snapshot_id)) });
  }
  return { layers_size: layersSize, containers };
}

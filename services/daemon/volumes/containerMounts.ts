/**
 * What the container lifecycle asks of volumes: resolve and record a create's mounts, fill new
 * volumes from the image once containerd has the container's layers, and let the mounts go when the
 * container goes (its anonymous volumes with it on rm -v and run --rm).
 *
 * @example
 *   const r = mounts.resolve(id, config, hostConfig);    // before the spec
 *   mounts.record(r);
 *   await mounts.populate(id, info.rootfs);               // after containerd's create
 *   mounts.forget(id); mounts.removeAnonymous(id, names);  // at remove
 */
import { lstatSync, statSync } from 'node:fs';
import { internal } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import type { DockerConfig, HostConfig } from '../createConfig.js';
import type { ContainerRow, ContainerStore } from '../store.js';
import { copyImageContent, lowerdirsOf, resolveInRoot } from './copyup.js';
import { mountsDocument, resolveMounts, type ResolvedMounts } from './mounts.js';
import type { VolumeService } from './service.js';

export class ContainerMounts {
  constructor(
    readonly volumes: VolumeService,
    private readonly containers: ContainerStore,
    private readonly tmpDir: string,
    private readonly log: Logger,
  ) {}

  resolve(id: string, config: DockerConfig, hostConfig: HostConfig): ResolvedMounts {
    return resolveMounts({ id, config, hostConfig }, this.volumes, this.containers);
  }

  record(r: ResolvedMounts): void {
    const store = this.volumes.d.store;
    store.tx(() => r.records.forEach((m) => store.insertMount(m)));
  }

  /** Undoes a create's mounts: its records and the volumes it made. */
  discard(id: string, r: ResolvedMounts | undefined): void {
    this.volumes.d.store.deleteMountsOf(id);
    if (r) this.volumes.discard(r.created);
  }

  /** Fills each empty volume that asks for it from the image (Docker's copy on first use). */
  async populate(id: string, rootfs: Array<{ type?: string; options?: string[] }>): Promise<void> {
    const lowers = lowerdirsOf(rootfs);
    for (const m of this.volumes.d.store.mountsOf(id)) {
      if (m.type !== 'volume' || m.copy_data !== 1) continue;
      await copyImageContent(lowers, m.destination, this.volumes.mountpoint(m.name), this.tmpDir);
    }
  }

  /** The volumes a container's mounts name. */
  volumesOf(id: string): string[] {
    return this.volumes.d.store.mountsOf(id).filter((m) => m.type === 'volume').map((m) => m.name);
  }

  /** The container is gone: its mount records go (in the removal's transaction). */
  forget(id: string): void {
    this.volumes.d.store.deleteMountsOf(id);
  }

  /** After a removal with rm -v or --rm: the anonymous volumes no other container uses go too. */
  removeAnonymous(id: string, names: string[]): void {
    try {
      this.volumes.removeAnonymous(names);
    } catch (err) {
      this.log.warn('cannot remove the anonymous volumes of a removed container', { id, err: (err as Error).message });
    }
  }

  /** Binds whose source is not a directory: the ones whose destination's type start() must check. */
  fileBinds(id: string): Array<{ source: string; destination: string }> {
    return this.volumes.d.store
      .mountsOf(id)
      .filter((m) => m.type === 'bind')
      .filter((m) => {
        try {
          return !statSync(m.source).isDirectory();
        } catch {
          return false;
        }
      });
  }

  /**
   * A file bound where the image has a directory fails as Docker's runc fails (whatever the runtime
   * says): "error mounting … not a directory", which the start turns into Docker's whole message.
   */
  checkBindTypes(id: string, rootfs: Array<{ type?: string; options?: string[] }>): void {
    const lowers = lowerdirsOf(rootfs);
    for (const b of this.fileBinds(id)) {
      for (const layer of lowers) {
        const p = resolveInRoot(layer, b.destination);
        if (!p) continue;
        let st;
        try {
          st = lstatSync(p);
        } catch {
          continue;
        }
        if (st.isCharacterDevice() && st.rdev === 0) break; // a whiteout: not in the image
        if (st.isDirectory()) throw internal(`error mounting "${b.source}" to rootfs at "${b.destination}": mount ${b.source}:${b.destination}, flags: 0x5000: not a directory`);
        break;
      }
    }
  }

  inspect(row: ContainerRow): Array<Record<string, unknown>> {
    return mountsDocument(this.volumes.d.store.mountsOf(row.id));
  }
}

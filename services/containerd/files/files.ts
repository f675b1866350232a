/**
 * A container's files for docker cp (stat, read, write), export and diff. The work is done by
 * runtime-native's tersane-archive (tool.ts), which resolves every path inside the container's
 * root; this module says which root it works on:
 *
 *   running (a task with a pid):  /proc/<pid>/root, the container's own mount namespace — what its
 *     processes see, volumes, binds and tmpfs mounts included — checked to be the container's rootfs
 *     so a reused pid is never mistaken for it;
 *   stopped (or never started):   the overlay of its layer on the image's, mounted by the tool in a
 *     private mount namespace of its own (gone when it exits), with the container's bind mounts and
 *     volumes on top where their mount points exist — what Docker shows of a stopped container;
 *   export:                       the rootfs alone (Docker's export has no volumes), the overlay the
 *     monitor mounted when running, a private one when stopped;
 *   diff and commit:              the overlay's upper directory and the image's layers, read directly.
 *
 * The daemon serializes these with starts (its per-container lock), so a stopped container's
 * overlay is never mounted twice at once.
 */
import { join } from 'node:path';
import { conflict, EngineError, invalidArgument, notFound } from '../../../common/errors.js';
import type { LayerClient } from '../../../common/grpc.js';
import type { TaskInfo__Output } from '../../../common/proto-types/tersane/common/v1/TaskInfo.js';
import type { Change } from '../../../common/proto-types/tersane/containerd/v1/Change.js';
import type { PathStat } from '../../../common/proto-types/tersane/containerd/v1/PathStat.js';
import type { ShimClient } from '../../../common/proto-types/tersane/shim/v1/Shim.js';
import { mountedUnder, type ContainerService } from '../containers.js';
import type { ImageService } from '../images.js';
import type { ContainerRow } from '../store.js';
import { readAccounts, resolveUser } from '../user.js';
import { RootGoneError, runArchive, type ArchiveRun } from './tool.js';

/**
 * Docker's init layer: what the engine (here: the runtime, as mount points) creates in every
 * container and keeps out of `docker diff` and `docker commit` (moby daemon/initlayer).
 */
export const INIT_LAYER: readonly string[] = [
  '/dev/pts:dir',
  '/dev/shm:dir',
  '/proc:dir',
  '/sys:dir',
  '/.dockerenv:file',
  '/etc/resolv.conf:file',
  '/etc/hosts:file',
  '/etc/hostname:file',
  '/dev/console:file',
  '/etc/mtab:file',
];

export interface OverlayDirs {
  upper: string;
  /** Topmost first. */
  lowers: string[];
  /** The overlay's mount data (lowerdir=…,upperdir=…,workdir=…). */
  options: string;
}

interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export class ContainerFiles {
  constructor(
    readonly images: ImageService,
    readonly containers: ContainerService,
    private readonly shim: LayerClient<ShimClient>,
    readonly binary: string,
  ) {}

  row(id: string): ContainerRow {
    return this.containers.row(id);
  }

  overlay(row: ContainerRow): OverlayDirs {
    const options = this.containers.rootfsMount(row).options ?? [];
    const value = (key: string) => options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
    return { upper: value('upperdir'), lowers: value('lowerdir').split(':').filter(Boolean), options: options.join(',') };
  }

  private rootfs(id: string): string {
    return join(this.containers.bundle(id), 'rootfs');
  }

  private async task(id: string): Promise<TaskInfo__Output | undefined> {
    try {
      return await this.shim.call('GetTask', { id });
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'not_found') return undefined;
      throw err;
    }
  }

  /** The container's bind mounts and volumes (from its OCI spec) as SRC:DST[:ro]. */
  private binds(row: ContainerRow): string[] {
    let mounts: OciMount[] = [];
    try {
      mounts = (JSON.parse(row.runtime_spec) as { mounts?: OciMount[] }).mounts ?? [];
    } catch {
      mounts = [];
    }
    return mounts
      .filter((m) => m.source && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')))
      .map((m) => `${m.source}:${m.destination}${(m.options ?? []).includes('ro') ? ':ro' : ''}`);
  }

  /** tersane-archive's root options for docker cp (see the header). */
  private async cpRoot(row: ContainerRow, stopped: boolean): Promise<string[]> {
    const rootfs = this.rootfs(row.id);
    const task = stopped ? undefined : await this.task(row.id);
    if (task && task.status !== 'stopped' && task.pid > 0) return ['--root', `/proc/${task.pid}/root`, '--expect-root', rootfs];
    return ['--overlay', this.overlay(row).options, '--mountpoint', rootfs, ...this.binds(row).flatMap((b) => ['--bind', b])];
  }

  private async exportRoot(row: ContainerRow): Promise<string[]> {
    const rootfs = this.rootfs(row.id);
    const task = await this.task(row.id);
    if (task && task.status !== 'stopped' && mountedUnder(rootfs)) return ['--root', rootfs];
    return ['--overlay', this.overlay(row).options, '--mountpoint', rootfs];
  }

  /** Runs `command` on the container's cp root; once more on its stopped root if it stopped meanwhile. */
  private async onRoot<T>(id: string, command: (root: string[]) => Promise<T>): Promise<T> {
    const row = this.row(id);
    try {
      return await command(await this.cpRoot(row, false));
    } catch (err) {
      if (!(err instanceof RootGoneError)) throw err;
      return command(await this.cpRoot(row, true));
    }
  }

  statPath(id: string, path: string): Promise<PathStat> {
    if (!path) throw invalidArgument('path is required');
    return this.onRoot(id, async (root) => parseStat(await runArchive(this.binary, ['stat', ...root, path]).text()));
  }

  /**
   * The tar of `path`: `onStat` gets the path's stat first, then `write` every piece of the tar
   * (its promise is the back-pressure). `signal` aborts (the client went away).
   */
  async readArchive(id: string, path: string, onStat: (s: PathStat) => Promise<void>, write: (b: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    if (!path) throw invalidArgument('path is required');
    await this.onRoot(id, async (root) => {
      const run = runArchive(this.binary, ['read', ...root, path]);
      const stop = () => run.kill();
      signal.addEventListener('abort', stop, { once: true });
      try {
        let head = Buffer.alloc(0);
        let statSeen = false;
        for await (const piece of run.stdout as AsyncIterable<Buffer>) {
          if (statSeen) {
            await write(piece);
            continue;
          }
          head = Buffer.concat([head, piece]);
          const nl = head.indexOf(0x0a);
          if (nl < 0) continue;
          statSeen = true;
          await onStat(parseStat(head.subarray(0, nl).toString('utf8')));
          if (head.length > nl + 1) await write(head.subarray(nl + 1));
        }
        await run.done;
        if (!statSeen) throw notFound(`no such path ${path}`);
      } finally {
        signal.removeEventListener('abort', stop);
        run.kill();
      }
    });
  }

  /** Extracts the tar in `chunks` into the directory `path` of the container. */
  async writeArchive(
    req: { id: string; path: string; noOverwriteDirNonDir: boolean; copyUidGid: boolean },
    chunks: AsyncIterable<Buffer>,
    signal: AbortSignal,
  ): Promise<void> {
    if (!req.path) throw invalidArgument('path is required');
    const row = this.row(req.id);
    const extra: string[] = [];
    if (req.noOverwriteDirNonDir) extra.push('--no-overwrite-dir-non-dir');
    if (req.copyUidGid) {
      const owner = this.containerUser(row);
      if (owner) extra.push('--chown', `${owner.uid}:${owner.gid}`);
    }
    const root = await this.cpRoot(row, false);
    let run: ArchiveRun | undefined;
    const stop = () => run?.kill();
    signal.addEventListener('abort', stop, { once: true });
    try {
      run = runArchive(this.binary, ['write', ...root, ...extra, req.path], { stdin: true });
      const pump = (async () => {
        const stdin = run!.stdin;
        stdin.on('error', () => undefined);
        for await (const piece of chunks) {
          if (stdin.destroyed) break;
          if (!stdin.write(piece)) await new Promise<void>((r) => { stdin.once('drain', r); stdin.once('close', r); });
        }
        stdin.end();
      })();
      run.stdout.resume();
      try {
        await run.done;
      } catch (err) {
        // The tar arrives once: a container that stopped as the copy began gets no second attempt.
        if (err instanceof RootGoneError) throw conflict(`container ${req.id} stopped while the archive was being extracted`);
        throw err;
      }
      await pump;
    } finally {
      signal.removeEventListener('abort', stop);
      run?.kill();
    }
  }

  /** The container's user (Config.User) as ids from its own /etc/passwd and /etc/group. */
  private containerUser(row: ContainerRow): { uid: number; gid: number } | undefined {
    let user = '';
    try {
      user = (JSON.parse(row.spec_input) as { user?: string }).user ?? '';
    } catch {
      user = '';
    }
    if (!user) return undefined;
    const dirs = this.overlay(row);
    const accounts = readAccounts([dirs.upper, ...dirs.lowers]);
    const resolved = resolveUser(user, [], accounts.passwd, accounts.group);
    return { uid: resolved.uid, gid: resolved.gid };
  }

  /** docker export: the rootfs as a tar, through `write`. */
  async exportTar(id: string, write: (b: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    const row = this.row(id);
    const run = runArchive(this.binary, ['export', ...(await this.exportRoot(row))]);
    const stop = () => run.kill();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const piece of run.stdout as AsyncIterable<Buffer>) await write(piece);
      await run.done;
    } finally {
      signal.removeEventListener('abort', stop);
      run.kill();
    }
  }

  /** tersane-archive's arguments naming a container's layer, its image's and the init layer. */
  layerArgs(row: ContainerRow): string[] {
    const dirs = this.overlay(row);
    return ['--upper', dirs.upper, ...dirs.lowers.flatMap((l) => ['--lower', l]), ...INIT_LAYER.flatMap((p) => ['--init', p])];
  }

  async changes(id: string): Promise<Change[]> {
    const row = this.row(id);
    const out = await runArchive(this.binary, ['changes', ...this.layerArgs(row)]).text();
    const parsed = JSON.parse(out) as Array<{ Path: string; Kind: number }> | null;
    return (parsed ?? []).map((c) => ({ path: c.Path, kind: c.Kind }));
  }

  /** The container's layer as a tar (docker commit), as a stream; `done` settles with the tool. */
  layerTar(row: ContainerRow): ArchiveRun {
    return runArchive(this.binary, ['layer', ...this.layerArgs(row)]);
  }
}

function parseStat(line: string): PathStat {
  const s = JSON.parse(line.split('\n')[0]) as { name: string; size: number; mode: number; mtime_sec: number; mtime_nsec: number; link_target: string };
  return { name: s.name, size: s.size, mode: s.mode, mtime_sec: s.mtime_sec, mtime_nsec: s.mtime_nsec, link_target: s.link_target };
}

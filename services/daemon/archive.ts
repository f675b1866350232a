/**
 * Docker's container file endpoints over containerd: docker cp (stat, read, extract), export and
 * diff. containerd (with runtime-native's tersane-archive) resolves every path inside the
 * container's root; this module speaks Docker: its ContainerPathStat (Go FileMode bits, RFC 3339
 * mtime), its errors ("Could not find the file … in container …", read-only rootfs and volumes),
 * its events (archive-path, extract-to-dir, export), and its rule that a container's filesystem is
 * not mounted twice: a non-running container's operations hold its lock, so a start waits for them.
 *
 * @example
 *   const stat = await archive.statPath('ctr1', '/etc/passwd'); // Docker's ContainerPathStat
 */
import { conflict, EngineError, invalidArgument, notFound, permissionDenied } from '../../common/errors.js';
import type { PathStat__Output } from '../../common/proto-types/tersane/containerd/v1/PathStat.js';
import { streamError } from '../../common/grpc.js';
import { recordContainerEvent } from './dockerEvents.js';
import { isRunning, parsedHostConfig, type Lifecycle, type LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';
import type { ContainerRow } from './store.js';

/** Go's os.FileMode type bits, as Docker's ContainerPathStat carries them. */
export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

const S_IFMT = 0o170000;

/** Go's FileMode of a Unix st_mode (os.fillFileStatFromSys). */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & S_IFMT) {
    case 0o060000:
      m += GO_MODE.device;
      break;
    case 0o020000:
      m += GO_MODE.device + GO_MODE.charDevice;
      break;
    case 0o040000:
      m += GO_MODE.dir;
      break;
    case 0o010000:
      m += GO_MODE.namedPipe;
      break;
    case 0o120000:
      m += GO_MODE.symlink;
      break;
    case 0o140000:
      m += GO_MODE.socket;
      break;
  }
  if (mode & 0o4000) m += GO_MODE.setuid;
  if (mode & 0o2000) m += GO_MODE.setgid;
  if (mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

/** Go's time.Time JSON (RFC 3339 with the fraction's trailing zeros dropped), in UTC. */
export function goTime(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString().slice(0, 19);
  const frac = nsec > 0 ? `.${String(nsec).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${base}${frac}Z`;
}

/** Docker's ContainerPathStat document. */
export function dockerPathStat(s: PathStat__Output): Record<string, unknown> {
  return {
    name: s.name,
    size: Number(s.size),
    mode: goFileMode(s.mode),
    mtime: goTime(Number(s.mtime_sec), Number(s.mtime_nsec)),
    linkTarget: s.link_target,
  };
}

/** Docker's lexical form of a path in the container: absolute and cleaned. */
function cleanAbs(path: string): string {
  const out: string[] = [];
  for (const part of `/${path}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

function within(path: string, dir: string): boolean {
  const d = cleanAbs(dir);
  return d === '/' || path === d || path.startsWith(`${d}/`);
}

export class ContainerArchive {
  constructor(
    private readonly d: LifecycleDeps,
    private readonly lifecycle: Lifecycle,
  ) {}

  /**
   * Runs `fn` for a container: under its lock when it is not running, so that the start of a
   * stopped container (whose rootfs tersane-archive mounts for the operation) waits for it.
   */
  private guarded<T>(row: ContainerRow, fn: () => Promise<T>): Promise<T> {
    if (isRunning(row) && row.status !== 'restarting') return fn();
    return this.lifecycle.locks.run(row.id, fn);
  }

  private fileError(err: unknown, ref: string, path: string): unknown {
    if (err instanceof EngineError && err.kind === 'not_found') return notFound(`Could not find the file ${path} in container ${ref}`);
    return err;
  }

  async statPath(ref: string, path: string): Promise<Record<string, unknown>> {
    if (!path) throw invalidArgument('path is required');
    const row = findContainer(this.d.store, ref);
    return this.guarded(row, async () => {
      try {
        return dockerPathStat(await this.d.containerd.containers.call('StatPath', { container_id: row.id, path }));
      } catch (err) {
        throw this.fileError(err, ref, path);
      }
    });
  }

  /**
   * The tar of a path: `onStat` gets Docker's ContainerPathStat once the path is found, then
   * `write` each piece (its promise is the back-pressure). `signal` ends it (the client went away).
   */
  async readArchive(
    ref: string,
    path: string,
    onStat: (stat: Record<string, unknown>) => Promise<void>,
    write: (data: Buffer) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    if (!path) throw invalidArgument('path is required');
    const row = findContainer(this.d.store, ref);
    await this.guarded(row, async () => {
      const { containers } = this.d.containerd;
      await containers.ready();
      const call = containers.raw.ReadArchive({ container_id: row.id, path }, containers.metadata());
      call.on('error', () => undefined);
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for await (const msg of call as AsyncIterable<{ stat?: PathStat__Output | null; data?: Buffer }>) {
          if (msg.stat) {
            await onStat(dockerPathStat(msg.stat));
            this.d.store.tx(() => recordContainerEvent(this.d.bus, 'archive-path', row));
          } else if (msg.data?.length) {
            await write(msg.data);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        throw this.fileError(streamError('containerd', err), ref, path);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    });
  }

  /** Extracts a tar into the directory `path` of the container (docker cp into a container). */
  async writeArchive(
    open: { ref: string; path: string; noOverwriteDirNonDir: boolean; copyUidGid: boolean },
    chunks: AsyncIterable<Buffer>,
    signal: AbortSignal,
  ): Promise<void> {
    const { ref, path } = open;
    if (!path) throw invalidArgument('path is required');
    const row = findContainer(this.d.store, ref);
    this.checkWritable(row, path);
    await this.guarded(row, async () => {
      const { containers } = this.d.containerd;
      await containers.ready();
      const result = new Promise<void>((resolve, reject) => {
        const call = containers.raw.WriteArchive(containers.metadata(), (err) => (err ? reject(streamError('containerd', err)) : resolve()));
        const cancel = () => call.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        void (async () => {
          try {
            call.write({
              open: { container_id: row.id, path, no_overwrite_dir_non_dir: open.noOverwriteDirNonDir, copy_uid_gid: open.copyUidGid },
            });
            for await (const data of chunks) {
              if (call.destroyed || call.writableEnded) break;
              if (!call.write({ data })) await new Promise<void>((r) => call.once('drain', r));
            }
            call.end();
          } catch {
            call.cancel();
          } finally {
            signal.removeEventListener('abort', cancel);
          }
        })();
      });
      try {
        await result;
      } catch (err) {
        if (err instanceof EngineError && err.kind === 'permission_denied') throw this.readOnlyError(row, path);
        throw this.fileError(err, ref, path);
      }
      this.d.store.tx(() => recordContainerEvent(this.d.bus, 'extract-to-dir', row));
    });
  }

  /** Docker refuses to copy into a read-only volume, or a read-only rootfs outside any volume. */
  private checkWritable(row: ContainerRow, path: string): void {
    const target = cleanAbs(path);
    let inVolume = false;
    for (const m of this.d.mounts.inspect(row)) {
      if (m.Type === 'tmpfs' || typeof m.Destination !== 'string' || !within(target, m.Destination)) continue;
      if (m.RW === false) throw permissionDenied('mounted volume is marked read-only');
      inVolume = true;
    }
    if (!inVolume && parsedHostConfig(row).ReadonlyRootfs) throw permissionDenied('container rootfs is marked read-only');
  }

  private readOnlyError(row: ContainerRow, path: string): EngineError {
    const target = cleanAbs(path);
    const inVolume = this.d.mounts.inspect(row).some((m) => m.Type !== 'tmpfs' && typeof m.Destination === 'string' && within(target, m.Destination));
    return permissionDenied(inVolume ? 'mounted volume is marked read-only' : 'container rootfs is marked read-only');
  }

  /** docker export: the container's filesystem as a tar. */
  async exportTar(ref: string, write: (data: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    const row = findContainer(this.d.store, ref);
    if (row.status === 'dead') throw conflict(`You cannot export container ${row.id} which is Dead`);
    if (row.status === 'removing') throw conflict(`You cannot export container ${row.id} which is being removed`);
    await this.guarded(row, async () => {
      const { containers } = this.d.containerd;
      await containers.ready();
      const call = containers.raw.Export({ id: row.id }, containers.metadata());
      call.on('error', () => undefined);
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for await (const msg of call as AsyncIterable<{ data: Buffer }>) if (msg.data?.length) await write(msg.data);
      } catch (err) {
        if (signal.aborted) return;
        throw streamError('containerd', err);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
      this.d.store.tx(() => recordContainerEvent(this.d.bus, 'export', row));
    });
  }

  /** docker diff: Docker's changes list ([{Kind, Path}]), or null when nothing changed. */
  async changes(ref: string): Promise<Array<{ Kind: number; Path: string }> | null> {
    const row = findContainer(this.d.store, ref);
    const res = await this.d.containerd.containers.call('Changes', { id: row.id });
    const out = res.changes.map((c) => ({ Kind: c.kind, Path: c.path }));
    return out.length > 0 ? out : null;
  }
}

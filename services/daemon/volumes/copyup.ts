/**
 * Filling an empty volume from the image, as Docker does on a volume's first use: the image's
 * directory at the mount's destination is copied in with its ownership, modes and times, and the
 * volume's root takes the directory's own owner and mode.
 *
 * The image is read through the container's lower layers as containerd reports them (its rootfs
 * overlay's lowerdir, topmost first): one layer is read as it is; several are merged by a read-only
 * overlay mounted for the copy (so whiteouts and opaque directories mean what they mean) and
 * unmounted after. A create pays this only when an image volume has content to copy.
 *
 * @example
 *   await copyImageContent(['/…/snapshots/3/fs', '/…/snapshots/2/fs'], '/data', '/…/volumes/x/_data', tmp);
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, statSync, symlinkSync, utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { internal } from '../../../common/errors.js';

const run = promisify(execFile);
/** Symlinks followed while resolving a path inside the image, at most (a loop otherwise). */
const MAX_SYMLINKS = 40;

/** Resolves `path` inside `root` as the container would see it (symlinks stay inside the root). */
export function resolveInRoot(root: string, path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    let st;
    try {
      st = lstatSync(here);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) return undefined;
      const target = readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

function isEmptyDir(p: string): boolean {
  try {
    return readdirSync(p).length === 0;
  } catch {
    return false;
  }
}

/** Copies a tree, keeping owners, modes and times; device nodes and sockets are skipped. */
export function copyTree(src: string, dest: string): void {
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    const d = join(dest, name);
    const st = lstatSync(s);
    if (st.isDirectory()) {
      mkdirSync(d, { mode: st.mode & 0o7777 });
      copyTree(s, d);
      lchownSync(d, st.uid, st.gid);
      chmodSync(d, st.mode & 0o7777);
      utimesSync(d, st.atime, st.mtime);
    } else if (st.isFile()) {
      copyFileSync(s, d);
      lchownSync(d, st.uid, st.gid);
      chmodSync(d, st.mode & 0o7777);
      utimesSync(d, st.atime, st.mtime);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(s), d);
      lchownSync(d, st.uid, st.gid);
      lutimesSync(d, st.atime, st.mtime);
    }
  }
}

/**
 * Copies the image's content at `path` into `dest` when `dest` is empty and the image has a
 * directory there. `lowerdirs` topmost first; `tmpDir` holds the temporary merge mount.
 */
export async function copyImageContent(lowerdirs: string[], path: string, dest: string, tmpDir: string): Promise<boolean> {
  if (!isEmptyDir(dest) || lowerdirs.length === 0) return false;
  let root = lowerdirs[0];
  let mountpoint: string | undefined;
  if (lowerdirs.length > 1) {
    mountpoint = join(tmpDir, `copyup-${randomBytes(6).toString('hex')}`);
    mkdirSync(mountpoint, { recursive: true, mode: 0o700 });
    try {
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowerdirs.join(':')}`, mountpoint]);
    } catch (err) {
      rmdirSync(mountpoint);
      throw internal(`cannot read the image to fill a volume: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    root = mountpoint;
  }
  try {
    const src = resolveInRoot(root, path);
    if (!src) return false;
    let st;
    try {
      st = statSync(src);
    } catch {
      return false;
    }
    if (!st.isDirectory()) return false;
    copyTree(src, dest);
    lchownSync(dest, st.uid, st.gid);
    chmodSync(dest, st.mode & 0o7777);
    return true;
  } finally {
    if (mountpoint) {
      await run('umount', [mountpoint]).catch(() => run('umount', ['-l', mountpoint!]));
      rmdirSync(mountpoint);
    }
  }
}

/** The lowerdirs of an overlay rootfs mount as containerd reports it. */
export function lowerdirsOf(rootfs: Array<{ type?: string; options?: string[] }>): string[] {
  const m = rootfs.find((r) => r.type === 'overlay');
  const opt = m?.options?.find((o) => o.startsWith('lowerdir='));
  return opt ? opt.slice('lowerdir='.length).split(':') : [];
}

/**
 * Resolves a container's user ("", "uid", "uid:gid", "name", "name:group", plus additional groups)
 * to numeric ids from the image's /etc/passwd and /etc/group, read from the snapshot layers top
 * down as the overlay would show them, the way Docker (runc's user lookup) does it.
 *
 * The files are found by walking the layers' directories without ever following a symlink on the
 * host: a symlink inside the image is resolved in the image's own root, so a hostile image cannot
 * make containerd read a host file.
 */
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/errors.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** Symlink hops allowed while resolving a path inside an image (as the kernel's 40). */
const MAX_SYMLINK_HOPS = 40;
/** passwd and group files beyond this are not what Docker images carry. */
const MAX_ACCOUNT_FILE = 4 * 1024 * 1024;
const UID_MAX = 2 ** 31 - 1;

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === '' || f[3] === '') continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid) || f[2] === '') continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

function numeric(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= UID_MAX ? n : undefined;
}

/**
 * runc's GetExecUser semantics: a name must exist in passwd; a number need not; the group of a
 * found user is its primary group unless one is given; supplementary groups are the groups that
 * list the user as a member, plus `extraGroups` (names or numbers).
 */
export function resolveUser(
  user: string,
  extraGroups: readonly string[],
  passwd: PasswdEntry[] | undefined,
  group: GroupEntry[] | undefined,
): ResolvedUser {
  const [userPart, groupPart] = user === '' ? ['', undefined] : ((i) => (i < 0 ? [user, undefined] : [user.slice(0, i), user.slice(i + 1)]))(user.indexOf(':'));
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (userPart === '') {
    const root = passwd?.find((p) => p.uid === 0);
    if (root) {
      name = root.name;
      gid = root.gid;
      home = root.home || '/';
    }
  } else {
    const n = numeric(userPart);
    const found = passwd?.find((p) => (n !== undefined ? p.uid === n : p.name === userPart));
    if (found) {
      name = found.name;
      uid = found.uid;
      gid = found.gid;
      home = found.home || '/';
    } else if (n !== undefined) {
      uid = n;
    } else {
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    const n = numeric(groupPart);
    const found = group?.find((g) => (n !== undefined ? g.gid === n : g.name === groupPart));
    if (found) gid = found.gid;
    else if (n !== undefined) gid = n;
    else throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  const additional: number[] = [];
  if (name !== undefined && groupPart === undefined) {
    for (const g of group ?? []) if (g.members.includes(name) && !additional.includes(g.gid)) additional.push(g.gid);
  }
  for (const extra of extraGroups) {
    const n = numeric(extra);
    const found = group?.find((g) => (n !== undefined ? g.gid === n : g.name === extra));
    const id = found ? found.gid : n;
    if (id === undefined) throw invalidArgument(`unable to find group ${extra}: no matching entries in group file`);
    if (!additional.includes(id)) additional.push(id);
  }
  return { uid, gid, additionalGids: additional, home };
}

// ---- reading files from the layers --------------------------------------------------------------

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** The topmost layer's entry at a symlink-free path, as the overlay shows it; undefined if absent. */
function lookupInLayers(layers: readonly string[], comps: string[]): { path: string; st: Stats } | undefined {
  for (const layer of layers) {
    // Every directory on the way must be a real directory in this layer; a non-directory hides
    // everything below it in lower layers, a missing one lets the search continue downwards.
    let blocked = false;
    let missing = false;
    for (let i = 0; i < comps.length - 1; i++) {
      const st = lstatOrUndefined(join(layer, ...comps.slice(0, i + 1)));
      if (!st) {
        missing = true;
        break;
      }
      if (!st.isDirectory()) {
        blocked = true;
        break;
      }
    }
    if (blocked) return undefined;
    if (missing) continue;
    const path = join(layer, ...comps);
    const st = lstatOrUndefined(path);
    if (!st) continue;
    if (isWhiteout(st)) return undefined;
    return { path, st };
  }
  return undefined;
}

/** Reads a file of the image (layers top first), resolving its symlinks inside the image. */
export function readImageFile(layers: readonly string[], path: string, maxBytes = MAX_ACCOUNT_FILE): Buffer | undefined {
  let pending = path.split('/').filter((c) => c && c !== '.');
  let resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === '..') {
      resolved.pop();
      continue;
    }
    const entry = lookupInLayers(layers, [...resolved, comp]);
    if (!entry) return undefined;
    if (entry.st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) return undefined;
      const target = readlinkSync(entry.path);
      if (target.startsWith('/')) resolved = [];
      pending = [...target.split('/').filter((c) => c && c !== '.'), ...pending];
      continue;
    }
    resolved.push(comp);
  }
  const entry = lookupInLayers(layers, resolved);
  if (!entry || !entry.st.isFile() || entry.st.size > maxBytes) return undefined;
  return readFileSync(entry.path);
}

/** The image's passwd and group entries (undefined where the file is absent). */
export function readAccounts(layers: readonly string[]): { passwd?: PasswdEntry[]; group?: GroupEntry[] } {
  const passwd = readImageFile(layers, '/etc/passwd');
  const group = readImageFile(layers, '/etc/group');
  return {
    passwd: passwd ? parsePasswd(passwd.toString('utf8')) : undefined,
    group: group ? parseGroup(group.toString('utf8')) : undefined,
  };
}

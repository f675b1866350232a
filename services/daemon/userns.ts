/**
 * Docker's `userns-remap` ranges: a user (and group) whose subordinate ids, from /etc/subuid and
 * /etc/subgid, become the ids of every remapped container — container id 0 is the first id of the
 * first range, and the ranges follow one another (Docker's idtools). `default` is the user
 * `tersane-remap`, made here (a system user with no login) and given a 65536-id range above every
 * range already taken when it has none, as dockerd does for `dockremap`.
 *
 * @example
 *   const remap = resolveRemap('default');
 *   remap.uidMappings; // [{ container_id: 0, host_id: 165536, size: 65536 }]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { invalidArgument } from '../../common/errors.js';

/** Docker's `default` user is dockremap; ours is named after the engine. */
export const DEFAULT_REMAP_USER = 'tersane-remap';
/** The size of the range given to the default user, and where ranges start (Docker's numbers). */
export const REMAP_RANGE_SIZE = 65536;
const FIRST_SUBORDINATE_ID = 100000;

export interface IdMapping {
  container_id: number;
  host_id: number;
  size: number;
}

export interface Remap {
  user: string;
  group: string;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

export interface RemapFiles {
  passwd: string;
  group: string;
  subuid: string;
  subgid: string;
}

const SYSTEM_FILES: RemapFiles = { passwd: '/etc/passwd', group: '/etc/group', subuid: '/etc/subuid', subgid: '/etc/subgid' };

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

interface Account {
  name: string;
  id: number;
}

function lookup(file: string, nameOrId: string): Account | undefined {
  for (const line of read(file).split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    if (name === nameOrId || (/^\d+$/.test(nameOrId) && Number(id) === Number(nameOrId))) return { name, id: Number(id) };
  }
  return undefined;
}

/** The ranges of /etc/subuid or /etc/subgid lines naming the account (by name or by id). */
export function subordinateRanges(text: string, account: Account): Array<{ start: number; size: number }> {
  const out: Array<{ start: number; size: number }> = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(':');
    if (parts.length !== 3 || !/^\d+$/.test(parts[1]) || !/^\d+$/.test(parts[2])) continue;
    if (parts[0] === account.name || parts[0] === String(account.id)) out.push({ start: Number(parts[1]), size: Number(parts[2]) });
  }
  return out;
}

/** Docker's concatenation: container ids run through the ranges in order. */
export function mappingsOf(ranges: Array<{ start: number; size: number }>): IdMapping[] {
  let next = 0;
  return ranges.map((r) => {
    const m = { container_id: next, host_id: r.start, size: r.size };
    next += r.size;
    return m;
  });
}

/** The first free range of `size` ids at or above 100000 that overlaps no range in the file. */
export function freeRange(text: string, size = REMAP_RANGE_SIZE): number {
  const taken = text
    .split('\n')
    .map((l) => l.trim().split(':'))
    .filter((p) => p.length === 3 && /^\d+$/.test(p[1]) && /^\d+$/.test(p[2]))
    .map((p) => ({ start: Number(p[1]), end: Number(p[1]) + Number(p[2]) }))
    .sort((a, b) => a.start - b.start);
  let start = FIRST_SUBORDINATE_ID;
  for (const t of taken) {
    if (t.end <= start) continue;
    if (t.start >= start + size) break;
    start = t.end;
  }
  return start;
}

/** Makes the default user when missing (a system account without login or home). */
function ensureDefaultUser(files: RemapFiles): void {
  if (lookup(files.passwd, DEFAULT_REMAP_USER)) return;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', DEFAULT_REMAP_USER], { stdio: 'pipe' });
  } catch (err) {
    throw invalidArgument(`userns-remap: cannot create the user ${DEFAULT_REMAP_USER}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
}

/** Gives the default user a range in a subordinate-id file when it has none there. */
function ensureRange(file: string, account: Account): void {
  const text = read(file);
  if (subordinateRanges(text, account).length > 0) return;
  const start = freeRange(text);
  const line = `${account.name}:${start}:${REMAP_RANGE_SIZE}\n`;
  writeFileSync(file, text === '' || text.endsWith('\n') ? text + line : `${text}\n${line}`, { mode: 0o644 });
}

/**
 * The remapping for `default` or `USER[:GROUP]` (names or ids). Errors in Docker's words when the
 * user, group or their ranges are missing.
 */
export function resolveRemap(spec: string, files: RemapFiles = SYSTEM_FILES): Remap {
  let [userPart, groupPart] = spec.split(':', 2);
  if (spec === 'default') {
    ensureDefaultUser(files);
    userPart = DEFAULT_REMAP_USER;
    groupPart = DEFAULT_REMAP_USER;
  }
  const user = lookup(files.passwd, userPart);
  if (!user) throw invalidArgument(`Error during uid lookup for "${userPart}": user: unknown user ${userPart}`);
  const groupName = groupPart || user.name;
  const group = lookup(files.group, groupName);
  if (!group) throw invalidArgument(`Error during gid lookup for "${groupName}": group: unknown group ${groupName}`);
  if (spec === 'default') {
    ensureRange(files.subuid, user);
    ensureRange(files.subgid, group);
  }
  const uids = subordinateRanges(read(files.subuid), user);
  const gids = subordinateRanges(read(files.subgid), group);
  if (uids.length === 0) throw invalidArgument(`no subuid ranges found for user "${user.name}"`);
  if (gids.length === 0) throw invalidArgument(`no subgid ranges found for group "${group.name}"`);
  return { user: user.name, group: group.name, uidMappings: mappingsOf(uids), gidMappings: mappingsOf(gids) };
}

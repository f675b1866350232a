/**
 * The Docker socket's file: a stale one left by a killed predecessor is replaced, a live one is
 * never stolen, and the socket is born private (umask) and then opened to its group only: mode
 * 0660 with the configured group when that group exists on the machine, else 0600 (root only).
 * Never world-writable: whoever can write to it is root on this machine.
 *
 * @example
 *   await clearStaleSocket(path);
 *   await withPrivateUmask(() => listen(path));
 *   restrictSocket(path, 'docker');
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';

/** How long a probe of an existing socket may take before it is judged dead. */
const PROBE_TIMEOUT_MS = 1000;

export const SOCKET_MODE_GROUP = 0o660;
export const SOCKET_MODE_PRIVATE = 0o600;

/** The gid of a group name, from /etc/group; undefined if the group does not exist. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  if (!name) return undefined;
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, PROBE_TIMEOUT_MS);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Makes the socket's directory; removes a socket file nobody answers on; refuses a live one. */
export async function clearStaleSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  if (await answers(path)) throw new Error(`another server already answers on ${path}`);
  rmSync(path, { force: true });
}

/** Runs `fn` with a umask that creates the socket readable and writable by its owner only. */
export async function withPrivateUmask<T>(fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o177);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

/** Opens the socket to `group` (0660) if it exists, else leaves it to root alone (0600). */
export function restrictSocket(path: string, group: string): { mode: number; gid?: number } {
  const gid = groupId(group);
  if (gid === undefined) {
    chmodSync(path, SOCKET_MODE_PRIVATE);
    return { mode: SOCKET_MODE_PRIVATE };
  }
  chownSync(path, process.getuid?.() ?? 0, gid);
  chmodSync(path, SOCKET_MODE_GROUP);
  return { mode: SOCKET_MODE_GROUP, gid };
}

/**
 * The daemon's security settings (Docker's daemon options) and what follows from them per
 * container:
 *
 * - `TERSANE_NO_NEW_PRIVILEGES=1` — Docker's `--no-new-privileges` daemon option: every container
 *   runs with no_new_privs unless it asks `--security-opt no-new-privileges=false`.
 * - `TERSANE_USERNS_REMAP=default|USER[:GROUP]` — Docker's `--userns-remap`: every container (but
 *   those run with `--userns=host`) gets a user namespace whose root is the first subordinate id of
 *   USER (/etc/subuid) and GROUP (/etc/subgid; USER's own name when not given). `default` makes and
 *   uses the user `tersane-remap` (Docker's dockremap), giving it a 65536-id range when it has none.
 *   See userns.ts for the ranges.
 *
 * `docker info` shows them in SecurityOptions (name=userns, name=no-new-privileges), as Docker does.
 *
 * @example
 *   const sec = daemonSecurity();              // read once from the environment
 *   if (sec.remap) spec.uid_mappings = sec.remap.uidMappings;
 */
import { chmodSync, chownSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { invalidArgument } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { resolveRemap, type IdMapping, type Remap } from './userns.js';

export interface DaemonSecurity {
  noNewPrivileges: boolean;
  /** The user-namespace remapping every container gets, or undefined when remapping is off. */
  remap?: Remap;
}

let current: DaemonSecurity = { noNewPrivileges: false };

function flag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/**
 * Reads the daemon's security options from the environment and prepares what they need (the
 * remap user and its subordinate ranges). Call once at start; throws on a bad setting so the
 * daemon refuses to start rather than run containers less isolated than configured.
 */
export function initDaemonSecurity(env: NodeJS.ProcessEnv = process.env, log?: Logger): DaemonSecurity {
  const spec = (env.TERSANE_USERNS_REMAP ?? '').trim();
  current = {
    noNewPrivileges: flag(env.TERSANE_NO_NEW_PRIVILEGES),
    remap: spec ? resolveRemap(spec) : undefined,
  };
  if (current.remap) log?.info('user namespaces: containers run remapped', { user: current.remap.user, group: current.remap.group, uid: current.remap.uidMappings[0].host_id, gid: current.remap.gidMappings[0].host_id });
  if (current.noNewPrivileges) log?.info('no-new-privileges is the default for every container');
  return current;
}

export function daemonSecurity(): DaemonSecurity {
  return current;
}

/** Docker's SecurityOptions of /info. */
export function securityOptions(cgroupV2: boolean, sec: DaemonSecurity = current): string[] {
  const out = ['name=seccomp,profile=builtin'];
  if (sec.remap) out.push('name=userns');
  if (cgroupV2) out.push('name=cgroupns');
  if (sec.noNewPrivileges) out.push('name=no-new-privileges');
  return out;
}

/** HostConfig fields the user-namespace decisions look at. */
export interface UsernsFields {
  UsernsMode: string;
  Privileged: boolean;
  NetworkMode: string;
  PidMode: string;
}

/**
 * The id mappings a container gets, checked as Docker checks them (verifyPlatformContainerSettings):
 * none without remapping or with `--userns=host`.
 */
export function userNamespaceOf(h: UsernsFields, sec: DaemonSecurity = current): { uid: IdMapping[]; gid: IdMapping[] } | undefined {
  const mode = h.UsernsMode ?? '';
  if (mode !== '' && mode !== 'host') throw invalidArgument(`invalid USER mode: ${mode}`);
  if (!sec.remap || mode === 'host') return undefined;
  if (h.Privileged) {
    throw invalidArgument('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  }
  if (h.NetworkMode === 'host') throw invalidArgument("cannot share the host's network namespace when user namespaces are enabled");
  if (h.PidMode === 'host') throw invalidArgument('cannot share the host PID namespace when user namespaces are enabled');
  return { uid: sec.remap.uidMappings, gid: sec.remap.gidMappings };
}

/** For tests: replace the settings. */
export function setDaemonSecurity(sec: DaemonSecurity): void {
  current = sec;
}

/**
 * What a remapped container's root (a host id of its range) must reach on the host, made
 * reachable as Docker's remapped root dirs are: every directory on the way to the container's own
 * files and to the engine's volumes it mounts gets search permission for others (x only — nothing
 * becomes listable), and a volume directory still owned by the host's root becomes the container
 * root's, so it can write there and what it writes belongs to its range. Bind mounts of the user's
 * own host paths are left as they are: their owner decides (as with Docker).
 */
export function prepareUsernsPaths(spec: { uid_mappings?: Partial<IdMapping>[] | null; gid_mappings?: Partial<IdMapping>[] | null; mounts?: Array<{ type?: string; source?: string }> | null }, containerDir: string, stateDir: string): void {
  const uid = hostIdOf(spec.uid_mappings, 0);
  const gid = hostIdOf(spec.gid_mappings, 0);
  if (uid === undefined || gid === undefined) return;
  ensureTraversable(containerDir);
  const volumes = resolve(stateDir) + sep;
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'bind' || !m.source || !resolve(m.source).startsWith(volumes)) continue;
    ensureTraversable(dirname(m.source));
    try {
      const st = statSync(m.source);
      if (st.isDirectory() && st.uid === 0 && st.gid === 0) chownSync(m.source, uid, gid);
    } catch {
      /* a file bind (hosts, resolv.conf …) or gone: nothing to own */
    }
  }
}

/** Adds search permission for others to `dir` and each directory above it that lacks it. */
export function ensureTraversable(dir: string): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      const st = statSync(d);
      if (st.isDirectory() && (st.mode & 0o001) === 0) chmodSync(d, (st.mode & 0o7777) | 0o001);
    } catch {
      /* not there yet */
    }
    if (d === dirname(d)) break;
  }
}

function hostIdOf(maps: Partial<IdMapping>[] | null | undefined, id: number): number | undefined {
  for (const m of maps ?? []) {
    const c = m.container_id ?? 0;
    if (id >= c && id < c + (m.size ?? 0)) return (m.host_id ?? 0) + (id - c);
  }
  return undefined;
}

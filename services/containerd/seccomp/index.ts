/**
 * The `linux.seccomp` of a container, as Docker decides it: none when privileged or with
 * `seccomp=unconfined`; the default profile (default.ts) when nothing or `builtin` is asked;
 * otherwise the profile the client sent (Docker's JSON, which the CLI read from the file named by
 * `--security-opt seccomp=FILE`).
 *
 * The default profile's conversion depends only on the capability set: it is computed once per
 * set and shared (the default set is the one nearly every container has), so generating a spec
 * costs no conversion.
 *
 * @example
 *   linux.seccomp = seccompFor(containerSpec, caps); // undefined: no filter
 */
import { defaultProfile } from './default.js';
import { kernelVersion, nativeArch, parseProfile, toOciSeccomp, type OciSeccomp, type Target } from './profile.js';

export const SECCOMP_UNCONFINED = 'unconfined';
/** Docker's name of its default profile (`docker info`: name=seccomp,profile=builtin). */
export const SECCOMP_BUILTIN = 'builtin';

const PROFILE = defaultProfile();
const HOST = { arch: nativeArch(), kernel: kernelVersion() };
/** Converted default profiles by capability set; a handful of sets exist in practice. */
const cache = new Map<string, OciSeccomp>();
const CACHE_MAX = 64;

/** The default profile for a capability set (shared: callers must not modify it). */
export function defaultSeccomp(caps: readonly string[], host: Omit<Target, 'caps'> = HOST): OciSeccomp {
  const key = `${host.arch}|${host.kernel.join('.')}|${[...caps].sort().join(',')}`;
  let oci = cache.get(key);
  if (!oci) {
    oci = toOciSeccomp(PROFILE, { caps, ...host })!;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, oci);
  }
  return oci;
}

/** What a container runs with: undefined for no filter. */
export function seccompFor(spec: { privileged?: boolean; seccomp_profile?: string }, caps: readonly string[]): OciSeccomp | undefined {
  const profile = (spec.seccomp_profile ?? '').trim();
  if (spec.privileged || profile === SECCOMP_UNCONFINED) return undefined;
  if (profile === '' || profile === SECCOMP_BUILTIN) return defaultSeccomp(caps);
  return toOciSeccomp(parseProfile(profile), { caps, ...HOST });
}

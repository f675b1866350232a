/**
 * Docker Engine API versions: the one advertised, the oldest accepted, and the check every request
 * goes through. A request names its version in the path (`/v1.41/containers/json`); without one it
 * speaks the advertised version. Clients negotiate down from the API-Version header of `/_ping`.
 *
 * @example
 *   checkApiVersion('1.41');  // ok
 *   checkApiVersion('1.99');  // throws invalid_argument: "client version 1.99 is too new. ..."
 *   versionAtLeast('1.41', '1.42'); // false
 */
import { invalidArgument } from '../../common/errors.js';

/** What Docker Engine 28.2 speaks; the docker CLI v28 negotiates down from here when it must. */
export const API_VERSION = '1.50';
/** The oldest version Docker 28 accepts: the docker CLI v28 may negotiate down to it. */
export const MIN_API_VERSION = '1.24';

/** A version segment of a request path: `/v1.41/...`; moby routes only digits and dots. */
export const VERSIONED_PATH = /^\/v([0-9.]+)(\/.*)$/;

/**
 * Compares dotted numeric versions the way moby's api/types/versions does: segment by segment,
 * a missing segment counting as 0. Returns -1, 0 or 1.
 */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = Number.parseInt(x[i] ?? '0', 10) || 0;
    const q = Number.parseInt(y[i] ?? '0', 10) || 0;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(version: string, min: string): boolean {
  return compareVersions(version, min) >= 0;
}

/** Throws Docker's own 400 for a version outside [MIN_API_VERSION, API_VERSION]. */
export function checkApiVersion(version: string): void {
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw invalidArgument(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(version, API_VERSION) > 0) {
    throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
}

/**
 * Splits a request URL into its API version and the unversioned URL; a URL without a version
 * segment speaks the advertised version.
 */
export function splitVersion(url: string): { version: string; url: string; explicit: boolean } {
  const m = VERSIONED_PATH.exec(url);
  if (m) return { version: m[1], url: m[2], explicit: true };
  return { version: API_VERSION, url, explicit: false };
}

/**
 * Which registry a reference names and how to reach it: Docker Hub's name (docker.io) is served at
 * registry-1.docker.io; every other registry is its host[:port]. HTTPS with verified certificates,
 * except for insecure registries — 127.0.0.0/8 and ::1 by default, as Docker has it, plus the
 * entries of TERSANE_INSECURE_REGISTRIES (CIDRs, hosts or host:port, comma-separated) — which are
 * tried over HTTPS without verification first and over plain HTTP after, as Docker does.
 *
 * @example
 *   isInsecure('127.0.0.1:5000', []) // true
 *   registryHost('docker.io')        // 'registry-1.docker.io'
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DEFAULT_REGISTRY } from '../../../common/reference.js';

/** Where Docker Hub's registry API answers. */
export const DOCKER_HUB_HOST = 'registry-1.docker.io';
/** Docker's index address, as `docker login` without a server names Docker Hub. */
export const DOCKER_INDEX_SERVER = 'https://index.docker.io/v1/';
/** How long the name of a registry may take to resolve when deciding whether it is insecure. */
const INSECURE_LOOKUP_TIMEOUT_MS = 5_000;
/** Docker's default insecure registry ranges. */
const DEFAULT_INSECURE_CIDRS = ['127.0.0.0/8', '::1/128'];

export function registryHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_HOST : registry;
}

/** The registry a `docker login` server address names: "https://host:5000/v1/" → "host:5000". */
export function registryOfServerAddress(address: string): string {
  let s = address.trim();
  if (!s) return DEFAULT_REGISTRY;
  s = s.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === DOCKER_HUB_HOST || s === DEFAULT_REGISTRY) return DEFAULT_REGISTRY;
  return s;
}

/** host and port of a host[:port] (IPv6 literals in brackets). */
export function splitHost(hostPort: string): { host: string; port?: string } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (m) return { host: m[1], port: m[2] };
  const colon = hostPort.lastIndexOf(':');
  if (colon > 0 && hostPort.indexOf(':') === colon) return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
  return { host: hostPort };
}

/** The configured insecure entries: TERSANE_INSECURE_REGISTRIES, comma or space separated. */
export function insecureFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.TERSANE_INSECURE_REGISTRIES ?? '').split(/[\s,]+/).filter(Boolean);
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of [...DEFAULT_INSECURE_CIDRS, ...entries.filter((e) => e.includes('/'))]) {
    const [net, bits] = cidr.split('/');
    const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(net) && Number.isInteger(Number(bits))) list.addSubnet(net, Number(bits), family);
  }
  return list;
}

function addressInsecure(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * True when the registry may be reached without verified TLS: its host:port or host is listed, or
 * its address (a literal, or what the name resolves to) is in an insecure range.
 */
export async function isInsecure(registry: string, entries: readonly string[]): Promise<boolean> {
  const { host } = splitHost(registry);
  if (entries.includes(registry) || entries.includes(host)) return true;
  const list = blockList(entries);
  if (isIP(host)) return addressInsecure(list, host);
  if (registry === DEFAULT_REGISTRY || host === DOCKER_HUB_HOST) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const addresses = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), INSECURE_LOOKUP_TIMEOUT_MS))),
    ]);
    return addresses.length > 0 && addresses.every((a) => addressInsecure(list, a.address));
  } catch {
    // Unresolvable (or too slow to say): treated as secure; the request itself reports the failure.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

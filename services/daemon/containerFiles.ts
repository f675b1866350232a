/**
 * The files the daemon keeps per container in <daemon state>/containers/<id>/: hostname, hosts
 * and resolv.conf (bind-mounted into the container, as Docker does) and the json-file log that
 * the container's monitor writes.
 *
 * Written at create: hosts maps the container's hostname to a loopback address and resolv.conf is
 * the host's without loopback nameservers (not reachable from the container's namespace). At start
 * network/sandbox.ts rewrites them with the container's addresses, and on a user-defined network
 * points resolv.conf at the network's embedded resolver.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerPaths {
  dir: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
  log: string;
}

export function containerPaths(stateDir: string, id: string): ContainerPaths {
  const dir = join(stateDir, 'containers', id);
  return {
    dir,
    hostname: join(dir, 'hostname'),
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
    log: join(dir, `${id}-json.log`),
  };
}

/** Docker's default nameservers when the host has none the container can reach. */
export const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];
export const HOST_RESOLV_CONF = '/etc/resolv.conf';
export const HOST_HOSTS = '/etc/hosts';

export interface NetworkFilesInput {
  hostname: string;
  domainname: string;
  hostNetwork: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
  /** The container's addresses on its networks; none: the name resolves to loopback. */
  addresses?: string[];
}

/** The hosts file: Docker's loopback entries, the container's own name, then --add-host entries. */
export function hostsFile(input: NetworkFilesInput, hostHosts?: string): string {
  if (input.hostNetwork && hostHosts !== undefined) return appendExtraHosts(hostHosts, input.extraHosts);
  const fqdn = input.domainname ? `${input.hostname}.${input.domainname} ${input.hostname}` : input.hostname;
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    // Without an interface address (no network, or not started yet) the name resolves to loopback.
    ...(input.addresses && input.addresses.length > 0 ? input.addresses.map((ip) => `${ip}\t${fqdn}`) : [`127.0.1.1\t${fqdn}`]),
  ];
  return appendExtraHosts(lines.join('\n') + '\n', input.extraHosts);
}

function appendExtraHosts(base: string, extra: string[]): string {
  let out = base.endsWith('\n') || base === '' ? base : base + '\n';
  for (const entry of extra) {
    // "name:ip" (Docker's --add-host) or "name=ip" (newer CLIs); the ip may itself hold colons.
    const sep = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
    let ip = entry.slice(sep + 1);
    if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    out += `${ip}\t${entry.slice(0, sep)}\n`;
  }
  return out;
}

/**
 * resolv.conf: the host's, minus loopback nameservers (Docker's filtering), with --dns,
 * --dns-search and --dns-option replacing the host's lines of that kind; Docker's default
 * nameservers when none is left. With the host's network the host's file is used as it is.
 */
export function resolvConf(input: NetworkFilesInput, hostResolv: string): string {
  if (input.hostNetwork && input.dns.length === 0 && input.dnsSearch.length === 0 && input.dnsOptions.length === 0) return hostResolv;
  const lines = hostResolv.split('\n');
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  const other: string[] = [];
  for (const line of lines) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const [key, ...rest] = t.split(/\s+/);
    if (key === 'nameserver') {
      const ns = rest[0] ?? '';
      if (input.hostNetwork || !isLoopback(ns)) nameservers.push(ns);
    } else if (key === 'search' || key === 'domain') search.push(...rest);
    else if (key === 'options') options.push(...rest);
    else other.push(t);
  }
  const ns = input.dns.length > 0 ? input.dns : nameservers.length > 0 ? nameservers : DEFAULT_NAMESERVERS;
  const srch = input.dnsSearch.length > 0 ? input.dnsSearch.filter((s) => s !== '.') : search;
  const opts = input.dnsOptions.length > 0 ? input.dnsOptions : options;
  let out = '';
  for (const n of ns) out += `nameserver ${n}\n`;
  if (srch.length > 0) out += `search ${srch.join(' ')}\n`;
  if (opts.length > 0) out += `options ${opts.join(' ')}\n`;
  for (const o of other) out += `${o}\n`;
  return out;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/** Creates the container's dir and its three network files. */
export function writeContainerFiles(paths: ContainerPaths, input: NetworkFilesInput): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o710 });
  writeFileSync(paths.hostname, `${input.hostname}\n`, { mode: 0o644 });
  writeFileSync(paths.hosts, hostsFile(input, readOptional(HOST_HOSTS)), { mode: 0o644 });
  writeFileSync(paths.resolvConf, resolvConf(input, readOptional(HOST_RESOLV_CONF) ?? ''), { mode: 0o644 });
}

export function removeContainerFiles(paths: ContainerPaths): void {
  rmSync(paths.dir, { recursive: true, force: true });
}

export function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

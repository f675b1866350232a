/**
 * Published ports: what a container asks for (HostConfig.PortBindings, -P over Config.ExposedPorts),
 * the host ports it gets at start (fixed, from a range, or ephemeral), and Docker's views of them
 * (inspect's NetworkSettings.Ports, the list's Ports).
 *
 * A host port is free when no tersane stack on the host has published it (the host registry) and
 * nothing on the host listens on it (a bind probe): DNAT would otherwise silently steal traffic
 * from whichever process holds it.
 *
 * @example
 *   const wanted = portRequests(config, hostConfig);      // [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', … }]
 *   portsDocument(config, bindings);                      // {"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { invalidArgument } from '../../../common/errors.js';
import type { DockerConfig, HostConfig } from '../createConfig.js';
import { parseIp } from './ipv4.js';
import type { PortBindingRow } from './store.js';

export const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
/** How many kernel-chosen ports are tried before an ephemeral allocation gives up. */
const EPHEMERAL_ATTEMPTS = 20;

export interface PortRequest {
  proto: string;
  containerPort: number;
  /** "0.0.0.0" for every address. */
  hostIp: string;
  /** [0, 0] for an ephemeral port; [p, p] for a fixed one; [lo, hi] for a range. */
  hostRange: [number, number];
}

/** "80/tcp" → [80, "tcp"] with Docker's default protocol; throws on nonsense. */
export function parsePortKey(key: string): [number, string] {
  const [port, proto = 'tcp'] = key.split('/');
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535 || !(PROTOCOLS as readonly string[]).includes(proto.toLowerCase())) {
    throw invalidArgument(`invalid port specification: "${key}"`);
  }
  return [n, proto.toLowerCase()];
}

function parseHostPort(text: string, key: string): [number, number] {
  if (text === '' || text === undefined) return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || lo > hi) throw invalidArgument(`invalid port specification: "${text}" (for ${key})`);
  return [lo, hi];
}

interface Binding {
  HostIp?: string;
  HostPort?: string;
}

/** What the container wants published, checked (Docker's messages) but not yet allocated. */
export function portRequests(config: DockerConfig, h: HostConfig): PortRequest[] {
  const out: PortRequest[] = [];
  const bound = new Set<string>();
  for (const [key, list] of Object.entries((h.PortBindings ?? {}) as Record<string, Binding[] | null>)) {
    const [containerPort, proto] = parsePortKey(key);
    bound.add(`${containerPort}/${proto}`);
    for (const b of list ?? [{}]) {
      const hostIp = b.HostIp || '0.0.0.0';
      if (parseIp(hostIp) === undefined) {
        if (hostIp.includes(':')) throw invalidArgument(`invalid host IP ${hostIp}: IPv6 port publishing is not supported by this engine`);
        throw invalidArgument(`invalid IP address: ${hostIp}`);
      }
      out.push({ proto, containerPort, hostIp, hostRange: parseHostPort(b.HostPort ?? '', key) });
    }
  }
  if (h.PublishAllPorts === true) {
    for (const key of Object.keys(config.ExposedPorts ?? {})) {
      const [containerPort, proto] = parsePortKey(key);
      if (bound.has(`${containerPort}/${proto}`)) continue;
      out.push({ proto, containerPort, hostIp: '0.0.0.0', hostRange: [0, 0] });
    }
  }
  return out;
}

/** Whether the host lets us bind ip:port/proto right now (nothing else listens there). */
export function probe(proto: string, hostIp: string, port: number): Promise<{ ok: true; port: number } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = createSocket({ type: 'udp4' });
      s.once('error', (err: NodeJS.ErrnoException) => {
        s.close();
        resolve({ ok: false, code: err.code ?? 'EADDRINUSE' });
      });
      s.bind({ address: hostIp, port, exclusive: true }, () => {
        const got = s.address().port;
        s.close();
        resolve({ ok: true, port: got });
      });
      return;
    }
    // tcp (and sctp, whose port space Node cannot probe: the registry alone guards it)
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? 'EADDRINUSE' }));
    server.listen({ host: hostIp, port, exclusive: true }, () => {
      const got = (server.address() as { port: number }).port;
      server.close(() => resolve({ ok: true, port: got }));
    });
  });
}

/** A kernel-chosen free port for an ephemeral binding (the caller still checks the registry). */
export async function ephemeralCandidate(proto: string, hostIp: string): Promise<number> {
  const r = await probe(proto === 'udp' ? 'udp' : 'tcp', hostIp, 0);
  if (!r.ok) throw new Error(`cannot find a free port: ${r.code}`);
  return r.port;
}

export { EPHEMERAL_ATTEMPTS };

/** inspect's NetworkSettings.Ports: every exposed or published port, with its host bindings or null. */
export function portsDocument(config: DockerConfig, bindings: PortBindingRow[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(config.ExposedPorts ?? {})) {
    const [port, proto] = parsePortKeyLoose(key);
    out[`${port}/${proto}`] = null;
  }
  for (const b of bindings) {
    const key = `${b.container_port}/${b.proto}`;
    (out[key] ??= []).push({ HostIp: b.host_ip, HostPort: String(b.host_port) });
  }
  return out;
}

/** The list's Ports: one entry per binding, and one per exposed port without any. */
export function listPorts(config: DockerConfig, bindings: PortBindingRow[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const published = new Set<string>();
  for (const b of bindings) {
    published.add(`${b.container_port}/${b.proto}`);
    out.push({ IP: b.host_ip, PrivatePort: b.container_port, PublicPort: b.host_port, Type: b.proto });
  }
  for (const key of Object.keys(config.ExposedPorts ?? {})) {
    const [port, proto] = parsePortKeyLoose(key);
    if (!published.has(`${port}/${proto}`)) out.push({ PrivatePort: port, Type: proto });
  }
  return out;
}

function parsePortKeyLoose(key: string): [number, string] {
  const [port, proto = 'tcp'] = key.split('/');
  return [Number(port), proto.toLowerCase()];
}

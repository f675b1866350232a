/**
 * Helpers for the network and volume tests: free host ports, the host's own address, HTTP GETs that
 * wait for a server to come up, and what one stack has on the host (its veths, bridges, namespace
 * files, iptables lines and host-registry rows), found by the names the stack gives them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { get, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { netNames } from '../../services/daemon/network/names.js';
import { HOST_NET_DIR } from '../../services/daemon/network/registry.js';
import type { Stack } from './stack.js';
import { sleep } from './stack.js';

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Holds a host port (a listening socket) until closed. */
export async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  return { port: (server.address() as { port: number }).port, server };
}

/** The host's first non-loopback IPv4 address that is not one of tersane's or Docker's bridges. */
export function hostAddress(): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(lo|tn|tersane-|docker|br-|veth|tv)/.test(name)) continue;
    const v4 = (addrs ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error('the host has no non-loopback IPv4 address');
}

/** GET url; retried until it answers or `timeoutMs` passes (a server in a new container takes a moment). */
export async function httpGet(url: string, timeoutMs = 20_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise((resolve, reject) => {
        const req = get(url, { timeout: 3000 }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`GET ${url}: ${(last as Error)?.message}`);
}

export interface StackNetState {
  veths: string[];
  bridges: string[];
  netnsFiles: string[];
  /** iptables-save lines that name the stack's chains. */
  rules: string[];
  /** Host-registry rows (subnets, ports) the stack owns. */
  registry: string[];
}

/** Everything of the stack's networking on the host right now. */
export function stackNetState(stack: Stack): StackNetState {
  const names = netNames(stack.cfg);
  const links = readdirSync('/sys/class/net');
  const tag = names.chains.fwd.replace(/-FWD$/, '');
  const saved = ['filter', 'nat'].map((t) => spawnSync('iptables-save', ['-t', t], { encoding: 'utf8' }).stdout).join('\n');
  const registry: string[] = [];
  const db = join(HOST_NET_DIR, 'registry.db');
  if (existsSync(db)) {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      for (const r of d.prepare(`SELECT cidr FROM subnets WHERE owner = ?`).all(stack.cfg.stateDir) as Array<{ cidr: string }>) registry.push(`subnet ${r.cidr}`);
      for (const r of d.prepare(`SELECT proto, host_port FROM ports WHERE owner = ?`).all(stack.cfg.stateDir) as Array<{ proto: string; host_port: number }>) {
        registry.push(`port ${r.host_port}/${r.proto}`);
      }
    } finally {
      d.close();
    }
  }
  return {
    veths: links.filter((l) => l.startsWith(names.vethPrefix)),
    bridges: links.filter((l) => names.bridgePattern.test(l)),
    netnsFiles: existsSync(names.netnsDir) ? readdirSync(names.netnsDir) : [],
    rules: saved.split('\n').filter((l) => l.includes(tag)),
    registry,
  };
}

/** Polls until `check` holds (the kernel frees a namespace's veths asynchronously). */
export async function eventually<T>(fn: () => T, check: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = fn();
  while (!check(v) && Date.now() < deadline) {
    await sleep(100);
    v = fn();
  }
  return v;
}

/** One Docker API request to the stack (for what the CLI checks before the engine sees it). */
export function api(stack: Stack, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      { socketPath: stack.cfg.dockerSocket, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

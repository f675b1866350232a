/**
 * What every tersane stack on the host must agree on, in one small SQLite database under
 * /run/tersane-net (tmpfs: it lives as long as the kernel state it describes):
 *
 *   subnets   each bridge network's subnet, so two stacks never pick the same one
 *   ports     each published host port, so a second stack's DNAT rule cannot silently steal it
 *   meta      the host's ip_forward setting before the first stack turned it on
 *
 * Each decision runs in one IMMEDIATE transaction, which SQLite serializes across processes: that is
 * the host-wide lock. A row whose owner (a stack's state directory) no longer exists is stale — a
 * stack whose root was deleted — and is dropped before each decision.
 *
 * @example
 *   const reg = new HostRegistry(cfg.stateDir);
 *   reg.exclusive(() => { if (!reg.subnetTaken(c)) reg.reserveSubnet(c, networkId); });
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCidr, overlaps, parseCidr, type Cidr } from './ipv4.js';

export const HOST_NET_DIR = '/run/tersane-net';
/** How long a stack waits for another's host-wide decision. */
const REGISTRY_BUSY_MS = 10_000;

export interface SubnetReservation {
  cidr: string;
  owner: string;
  network: string;
}

export interface PortReservation {
  proto: string;
  host_ip: string;
  host_port: number;
  owner: string;
  container: string;
}

export class HostRegistry {
  private db?: Database.Database;

  constructor(
    readonly owner: string,
    private readonly dir: string = HOST_NET_DIR,
  ) {}

  private open(): Database.Database {
    if (this.db) return this.db;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const db = new Database(join(this.dir, 'registry.db'));
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${REGISTRY_BUSY_MS}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS subnets (cidr TEXT PRIMARY KEY, owner TEXT NOT NULL, network TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ports (
        proto TEXT NOT NULL, host_ip TEXT NOT NULL, host_port INTEGER NOT NULL, owner TEXT NOT NULL, container TEXT NOT NULL,
        PRIMARY KEY (proto, host_ip, host_port));
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    this.db = db;
    return db;
  }

  /** Runs fn as one transaction that no other stack's decision interleaves with. */
  exclusive<T>(fn: () => T): T {
    const db = this.open();
    return db.transaction(() => {
      this.dropStale();
      return fn();
    }).immediate();
  }

  private dropStale(): void {
    const db = this.open();
    const owners = db.prepare(`SELECT owner FROM subnets UNION SELECT owner FROM ports`).pluck().all() as string[];
    for (const owner of owners) {
      if (owner === this.owner || existsSync(owner)) continue;
      db.prepare(`DELETE FROM subnets WHERE owner = ?`).run(owner);
      db.prepare(`DELETE FROM ports WHERE owner = ?`).run(owner);
    }
  }

  subnets(): SubnetReservation[] {
    return this.open().prepare(`SELECT * FROM subnets`).all() as SubnetReservation[];
  }

  /** The reservation overlapping `c`, if any (any stack's, this one's included). */
  subnetOverlapping(c: Cidr): SubnetReservation | undefined {
    return this.subnets().find((s) => overlaps(parseCidr(s.cidr)!, c));
  }

  reserveSubnet(c: Cidr, network: string): void {
    this.open().prepare(`INSERT OR REPLACE INTO subnets (cidr, owner, network) VALUES (?, ?, ?)`).run(formatCidr(c), this.owner, network);
  }

  releaseSubnet(cidr: string): void {
    this.open().prepare(`DELETE FROM subnets WHERE cidr = ? AND owner = ?`).run(cidr, this.owner);
  }

  ownSubnets(): SubnetReservation[] {
    return this.open().prepare(`SELECT * FROM subnets WHERE owner = ?`).all(this.owner) as SubnetReservation[];
  }

  /** The reservation that a binding of host_ip:host_port/proto would clash with. */
  portClash(proto: string, hostIp: string, hostPort: number): PortReservation | undefined {
    const rows = this.open().prepare(`SELECT * FROM ports WHERE proto = ? AND host_port = ?`).all(proto, hostPort) as PortReservation[];
    return rows.find((r) => r.host_ip === hostIp || r.host_ip === '0.0.0.0' || hostIp === '0.0.0.0');
  }

  reservePort(proto: string, hostIp: string, hostPort: number, container: string): void {
    this.open()
      .prepare(`INSERT INTO ports (proto, host_ip, host_port, owner, container) VALUES (?, ?, ?, ?, ?)`)
      .run(proto, hostIp, hostPort, this.owner, container);
  }

  releasePortsOf(container: string): void {
    this.open().prepare(`DELETE FROM ports WHERE owner = ? AND container = ?`).run(this.owner, container);
  }

  ownPorts(): PortReservation[] {
    return this.open().prepare(`SELECT * FROM ports WHERE owner = ?`).all(this.owner) as PortReservation[];
  }

  meta(key: string): string | undefined {
    return (this.open().prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(key) as string | undefined) ?? undefined;
  }

  setMeta(key: string, value: string | undefined): void {
    if (value === undefined) this.open().prepare(`DELETE FROM meta WHERE key = ?`).run(key);
    else this.open().prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(key, value);
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

export interface HostRoute {
  cidr: Cidr;
  iface: string;
}

/** The host's IPv4 routes (main table) other than default routes, from /proc/net/route. */
export function hostRoutes(text: string = readFileSync('/proc/net/route', 'utf8')): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = littleEndianHex(f[1]);
    const m = littleEndianHex(f[7]);
    if (m === 0) continue;
    const prefix = 32 - Math.log2((~m >>> 0) + 1);
    if (!Number.isInteger(prefix)) continue;
    out.push({ cidr: { ip: dest, prefix }, iface: f[0] });
  }
  return out;
}

function littleEndianHex(hex: string): number {
  const n = parseInt(hex, 16) >>> 0;
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

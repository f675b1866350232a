/**
 * The network tables of the daemon's database (appended to DAEMON_MIGRATIONS in ../store.ts):
 *
 *   networks       one row per Docker network (the predefined bridge, host and none, and the user's
 *                  bridge networks): its subnet, gateway, bridge device and Docker's fields. `status`
 *                  is `creating` or `removing` while the kernel side is being made or unmade, so a
 *                  daemon killed halfway finishes or undoes it at its next start.
 *   endpoints      a container's attachment to a network: its configuration (aliases, --ip) from
 *                  create or connect, and, while the container runs, its lease: endpoint id, address,
 *                  MAC and host-side veth. `ip` is empty when the container does not run.
 *   port_bindings  the host ports a running container holds: what its DNAT rules say.
 *
 * @example
 *   const store = new NetworkStore(db);
 *   store.networkByName('bridge');
 */
import type { Db } from '../../../common/db.js';

export const NETWORK_MIGRATION = `
  CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    created TEXT NOT NULL,
    subnet TEXT NOT NULL DEFAULT '',
    gateway TEXT NOT NULL DEFAULT '',
    ip_range TEXT NOT NULL DEFAULT '',
    user_subnet INTEGER NOT NULL DEFAULT 0,
    internal INTEGER NOT NULL DEFAULT 0,
    attachable INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    bridge TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'ready',
    next_ip INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE endpoints (
    container_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks (id),
    position INTEGER NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    ipv4_config TEXT NOT NULL DEFAULT '',
    endpoint_id TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT '',
    veth TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (container_id, network_id)
  );
  CREATE INDEX endpoints_network ON endpoints (network_id);
  CREATE UNIQUE INDEX endpoints_lease ON endpoints (network_id, ip) WHERE ip != '';
  CREATE TABLE port_bindings (
    container_id TEXT NOT NULL,
    proto TEXT NOT NULL,
    container_port INTEGER NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_ip TEXT NOT NULL,
    PRIMARY KEY (container_id, proto, container_port, host_ip, host_port)
  );`;

/** --mac-address per endpoint (a later migration). */
export const ENDPOINT_MAC_MIGRATION = `ALTER TABLE endpoints ADD COLUMN mac_config TEXT NOT NULL DEFAULT ''`;

export type NetworkStatus = 'creating' | 'ready' | 'removing';

export interface NetworkRow {
  id: string;
  name: string;
  /** bridge | host | null */
  driver: string;
  created: string;
  /** "10.92.0.0/24"; empty for host and none, and for the default bridge until first allocated. */
  subnet: string;
  gateway: string;
  ip_range: string;
  /** The subnet came from the user (Docker then allows --ip on it). */
  user_subnet: number;
  internal: number;
  attachable: number;
  labels: string;
  options: string;
  /** The bridge device ("" for host and none). */
  bridge: string;
  status: NetworkStatus;
  /** Where the next dynamic address search starts (offset in the subnet): addresses are not reused at once. */
  next_ip: number;
}

export interface EndpointRow {
  container_id: string;
  network_id: string;
  position: number;
  /** JSON array of the user's aliases. */
  aliases: string;
  /** The address asked for with --ip; empty for a dynamic one. */
  ipv4_config: string;
  /** The MAC asked for with --mac-address; empty for one derived from the address. */
  mac_config: string;
  endpoint_id: string;
  /** The leased address while the container runs; empty otherwise. */
  ip: string;
  mac: string;
  veth: string;
}

export interface PortBindingRow {
  container_id: string;
  proto: string;
  container_port: number;
  host_ip: string;
  host_port: number;
  container_ip: string;
}

const NETWORK_COLUMNS = [
  'id', 'name', 'driver', 'created', 'subnet', 'gateway', 'ip_range', 'user_subnet', 'internal', 'attachable',
  'labels', 'options', 'bridge', 'status', 'next_ip',
] as const;

export class NetworkStore {
  constructor(readonly db: Db) {}

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- networks -----------------------------------------------------------------------------------

  networks(): NetworkRow[] {
    return this.db.prepare(`SELECT * FROM networks ORDER BY created`).all() as NetworkRow[];
  }

  network(id: string): NetworkRow | undefined {
    return this.db.prepare(`SELECT * FROM networks WHERE id = ?`).get(id) as NetworkRow | undefined;
  }

  networkByName(name: string): NetworkRow | undefined {
    return this.db.prepare(`SELECT * FROM networks WHERE name = ?`).get(name) as NetworkRow | undefined;
  }

  networksByPrefix(prefix: string): NetworkRow[] {
    return this.db.prepare(`SELECT * FROM networks WHERE id >= ? AND id < ? LIMIT 2`).all(prefix, prefix + '\uffff') as NetworkRow[];
  }

  insertNetwork(row: NetworkRow): void {
    this.db.prepare(`INSERT INTO networks (${NETWORK_COLUMNS.join(', ')}) VALUES (${NETWORK_COLUMNS.map((c) => `@${c}`).join(', ')})`).run(row);
  }

  updateNetwork(id: string, fields: Partial<Omit<NetworkRow, 'id'>>): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE networks SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
  }

  deleteNetwork(id: string): void {
    this.db.prepare(`DELETE FROM networks WHERE id = ?`).run(id);
  }

  // ---- endpoints ----------------------------------------------------------------------------------

  endpointsOf(containerId: string): EndpointRow[] {
    return this.db.prepare(`SELECT * FROM endpoints WHERE container_id = ? ORDER BY position`).all(containerId) as EndpointRow[];
  }

  endpointsOn(networkId: string): EndpointRow[] {
    return this.db.prepare(`SELECT * FROM endpoints WHERE network_id = ? ORDER BY position`).all(networkId) as EndpointRow[];
  }

  endpoint(containerId: string, networkId: string): EndpointRow | undefined {
    return this.db.prepare(`SELECT * FROM endpoints WHERE container_id = ? AND network_id = ?`).get(containerId, networkId) as EndpointRow | undefined;
  }

  /** Every endpoint that holds a lease. */
  leases(): EndpointRow[] {
    return this.db.prepare(`SELECT * FROM endpoints WHERE ip != ''`).all() as EndpointRow[];
  }

  insertEndpoint(row: EndpointRow): void {
    this.db
      .prepare(
        `INSERT INTO endpoints (container_id, network_id, position, aliases, ipv4_config, mac_config, endpoint_id, ip, mac, veth)
         VALUES (@container_id, @network_id, @position, @aliases, @ipv4_config, @mac_config, @endpoint_id, @ip, @mac, @veth)`,
      )
      .run(row);
  }

  setLease(containerId: string, networkId: string, lease: { endpoint_id: string; ip: string; mac: string; veth: string }): void {
    this.db
      .prepare(`UPDATE endpoints SET endpoint_id = @endpoint_id, ip = @ip, mac = @mac, veth = @veth WHERE container_id = @c AND network_id = @n`)
      .run({ ...lease, c: containerId, n: networkId });
  }

  clearLeases(containerId: string): void {
    this.db.prepare(`UPDATE endpoints SET endpoint_id = '', ip = '', mac = '', veth = '' WHERE container_id = ?`).run(containerId);
  }

  clearLease(containerId: string, networkId: string): void {
    this.db.prepare(`UPDATE endpoints SET endpoint_id = '', ip = '', mac = '', veth = '' WHERE container_id = ? AND network_id = ?`).run(containerId, networkId);
  }

  deleteEndpoint(containerId: string, networkId: string): void {
    this.db.prepare(`DELETE FROM endpoints WHERE container_id = ? AND network_id = ?`).run(containerId, networkId);
  }

  deleteEndpointsOf(containerId: string): void {
    this.db.prepare(`DELETE FROM endpoints WHERE container_id = ?`).run(containerId);
  }

  // ---- port bindings ------------------------------------------------------------------------------

  portBindings(): PortBindingRow[] {
    return this.db.prepare(`SELECT * FROM port_bindings ORDER BY container_id, proto, container_port, host_ip`).all() as PortBindingRow[];
  }

  portBindingsOf(containerId: string): PortBindingRow[] {
    return this.db.prepare(`SELECT * FROM port_bindings WHERE container_id = ? ORDER BY container_port, proto, host_ip`).all(containerId) as PortBindingRow[];
  }

  insertPortBinding(row: PortBindingRow): void {
    this.db
      .prepare(
        `INSERT INTO port_bindings (container_id, proto, container_port, host_ip, host_port, container_ip)
         VALUES (@container_id, @proto, @container_port, @host_ip, @host_port, @container_ip)`,
      )
      .run(row);
  }

  deletePortBindingsOf(containerId: string): void {
    this.db.prepare(`DELETE FROM port_bindings WHERE container_id = ?`).run(containerId);
  }
}

/**
 * Docker's network API over the daemon's records: create, inspect, list, remove, prune, connect
 * and disconnect, with Docker's JSON shapes and error wording (Docker 28). A network's bridge is
 * made in its create (status `creating` until it exists) and unmade in its remove (`removing`), so
 * a daemon killed in between finishes or undoes it at its next start (reconcile.ts).
 *
 * @example
 *   const { Id } = await networks.create(Buffer.from('{"Name":"n1","IPAM":{"Config":[{"Subnet":"10.99.0.0/24"}]}}'));
 *   networks.inspect('n1');
 */
import { EngineError, invalidArgument, notFound } from '../../../common/errors.js';
import type { EventBus } from '../../../common/events.js';
import type { Logger } from '../../../common/log.js';
import { nowRfc3339Nano, parseRfc3339Nano } from '../../../common/time.js';
import { recordDockerEvent } from '../dockerEvents.js';
import { parseFilters, parseTimestampFilter } from '../filters.js';
import type { KeyedLock } from '../locks.js';
import { findContainer } from '../lookup.js';
import type { ContainerStore } from '../store.js';
import { base, contains, formatCidr, formatIp, hostAt, parseCidr, parseIp, size, type Cidr } from './ipv4.js';
import { newNetworkId, PREDEFINED, USER_POOL, type NetworkManager } from './manager.js';
import type { ContainerNetworking, EndpointSettings } from './sandbox.js';
import type { NetworkRow } from './store.js';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];
const PRUNE_FILTERS = ['until', 'label', 'label!'];

interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string> | null;
}

interface CreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  EnableIPv6?: boolean | null;
  IPAM?: { Driver?: string; Config?: IpamConfig[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface NetworkServiceDeps {
  log: Logger;
  bus: EventBus;
  containers: ContainerStore;
  /** The lifecycle's per-container lock: connect and disconnect serialize with start and stop. */
  locks: KeyedLock;
}

export class NetworkService {
  constructor(
    private readonly m: NetworkManager,
    private readonly sandbox: ContainerNetworking,
    private readonly d: NetworkServiceDeps,
  ) {}

  private get store() {
    return this.m.d.store;
  }

  async create(raw: Buffer | string): Promise<{ Id: string; Warning: string }> {
    const body = parseBody<CreateBody>(raw);
    const name = body.Name ?? '';
    if (name.trim() === '') throw invalidArgument('invalid name: name is empty');
    if (this.store.networkByName(name)) throw new EngineError('conflict', `network with name ${name} already exists`);
    const driver = body.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new EngineError('permission_denied', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (body.Ingress) throw invalidArgument('ingress networks require swarm mode');
    if (body.ConfigOnly) throw invalidArgument('configuration-only networks are not supported by this engine');
    if (body.EnableIPv6) throw invalidArgument('IPv6 networks are not supported by this engine');
    const ipamDriver = body.IPAM?.Driver || 'default';
    if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
    const configs = (body.IPAM?.Config ?? []).filter((c) => !c.Subnet?.includes(':'));
    if ((body.IPAM?.Config ?? []).some((c) => c.Subnet?.includes(':'))) throw invalidArgument('IPv6 networks are not supported by this engine');
    if (configs.length > 1) throw invalidArgument('this engine supports one IPv4 subnet per network');
    const wanted = validateIpam(configs[0]);

    const id = newNetworkId();
    let subnet: Cidr;
    if (wanted.subnet) {
      subnet = wanted.subnet;
      this.m.reserveSubnet(subnet, id);
    } else {
      subnet = this.m.allocateSubnet(USER_POOL, id);
    }
    const row: NetworkRow = {
      id,
      name,
      driver: 'bridge',
      created: nowRfc3339Nano(),
      subnet: formatCidr(subnet),
      gateway: wanted.gateway ?? formatIp(hostAt(subnet, 1)),
      ip_range: wanted.ipRange ? formatCidr(wanted.ipRange) : '',
      user_subnet: wanted.subnet ? 1 : 0,
      internal: body.Internal ? 1 : 0,
      attachable: body.Attachable ? 1 : 0,
      labels: JSON.stringify(body.Labels ?? {}),
      options: JSON.stringify(body.Options ?? {}),
      bridge: this.m.nextBridgeName(),
      status: 'creating',
      next_ip: 0,
    };
    try {
      this.store.insertNetwork(row);
    } catch (err) {
      this.m.releaseSubnet(row.subnet);
      if (String((err as Error).message).includes('UNIQUE constraint failed: networks.name')) {
        throw new EngineError('conflict', `network with name ${name} already exists`);
      }
      throw err;
    }
    try {
      await this.m.ensureBridge(id);
    } catch (err) {
      await this.m.dropBridge(id).catch(() => undefined);
      this.store.deleteNetwork(id);
      this.m.releaseSubnet(row.subnet);
      throw err;
    }
    this.d.containers.tx(() => {
      this.store.updateNetwork(id, { status: 'ready' });
      recordDockerEvent(this.d.bus, 'network', 'create', id, { name, type: 'bridge' });
    });
    return { Id: id, Warning: '' };
  }

  /** A network a reader may see (not one being created or removed). */
  private find(ref: string): NetworkRow {
    const net = this.sandbox.findNetwork(ref);
    if (net.status !== 'ready') throw notFound(`network ${ref} not found`);
    return net;
  }

  inspect(ref: string): Record<string, unknown> {
    return this.document(this.find(ref), true);
  }

  list(filtersJson: string): Array<Record<string, unknown>> {
    const f = parseFilters(filtersJson, LIST_FILTERS);
    for (const v of f.get('dangling')) if (!['true', 'false', '1', '0'].includes(v)) throw invalidArgument(`invalid filter 'dangling=${v}'`);
    for (const v of f.get('type')) if (v !== 'custom' && v !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${v}'`);
    return this.store
      .networks()
      .filter((n) => n.status === 'ready')
      .filter((n) => {
        const predefined = (PREDEFINED as readonly string[]).includes(n.name);
        if (!f.matchAny('driver', (v) => v === n.driver)) return false;
        if (!f.matchAny('id', (v) => n.id.startsWith(v))) return false;
        if (!f.matchAny('name', (v) => n.name.includes(v))) return false;
        if (!f.matchAny('scope', (v) => v === 'local')) return false;
        if (!f.matchAny('type', (v) => (v === 'builtin') === predefined)) return false;
        if (!f.matchLabels('label', JSON.parse(n.labels))) return false;
        if (f.has('dangling')) {
          const dangling = f.get('dangling')[0] === 'true' || f.get('dangling')[0] === '1';
          const used = predefined || this.store.endpointsOn(n.id).length > 0;
          if (dangling === used) return false;
        }
        return true;
      })
      .map((n) => this.document(n, false));
  }

  async remove(ref: string): Promise<void> {
    const net = this.find(ref);
    if ((PREDEFINED as readonly string[]).includes(net.name)) {
      throw new EngineError('permission_denied', `${net.name} is a pre-defined network and cannot be removed`);
    }
    const active = this.store.endpointsOn(net.id).filter((e) => e.ip);
    if (active.length > 0) {
      const list = active.map((e) => `name:"${this.d.containers.get(e.container_id)?.name.slice(1) ?? ''}" id:"${e.endpoint_id.slice(0, 12)}"`).join(', ');
      throw new EngineError('permission_denied', `error while removing network: network ${net.name} has active endpoints (${list})`);
    }
    await this.removeRow(net);
  }

  /** Unmakes a network (marked `removing` first, so a crash here is finished at the next start). */
  async removeRow(net: NetworkRow): Promise<void> {
    this.store.updateNetwork(net.id, { status: 'removing' });
    await this.m.dropBridge(net.id);
    this.m.releaseSubnet(net.subnet);
    this.d.containers.tx(() => {
      // Stopped containers configured on it keep nothing pointing at it (their next start fails, as Docker's).
      for (const e of this.store.endpointsOn(net.id)) this.store.deleteEndpoint(e.container_id, net.id);
      this.store.deleteNetwork(net.id);
      recordDockerEvent(this.d.bus, 'network', 'destroy', net.id, { name: net.name, type: net.driver });
    });
  }

  async prune(filtersJson: string): Promise<{ NetworksDeleted: string[] | null }> {
    const f = parseFilters(filtersJson, PRUNE_FILTERS);
    const until = f.get('until').map((v) => parseTimestampFilter(v));
    const deleted: string[] = [];
    for (const net of this.store.networks()) {
      if (net.status !== 'ready' || (PREDEFINED as readonly string[]).includes(net.name)) continue;
      if (this.store.endpointsOn(net.id).length > 0) continue;
      const labels = JSON.parse(net.labels) as Record<string, string>;
      if (!f.matchLabels('label', labels)) continue;
      if (f.get('label!').some((sel) => labelHolds(sel, labels))) continue;
      if (until.length > 0 && !until.every((t) => Number(parseRfc3339Nano(net.created) / 1_000_000n) < t)) continue;
      try {
        await this.removeRow(net);
        deleted.push(net.name);
      } catch (err) {
        this.d.log.warn('prune could not remove a network', { network: net.name, err: (err as Error).message });
      }
    }
    this.d.containers.tx(() => recordDockerEvent(this.d.bus, 'network', 'prune', '', { reclaimed: '0' }));
    return { NetworksDeleted: deleted.length > 0 ? deleted : null };
  }

  async connect(ref: string, raw: Buffer | string): Promise<void> {
    const body = parseBody<{ Container?: string; EndpointConfig?: EndpointSettings | null }>(raw);
    const net = this.find(ref);
    const first = findContainer(this.d.containers, body.Container ?? '');
    await this.d.locks.run(first.id, async () => {
      const row = this.d.containers.get(first.id);
      if (!row) throw notFound(`No such container: ${body.Container}`);
      await this.sandbox.connect(row, net, body.EndpointConfig ?? null);
    });
  }

  async disconnect(ref: string, raw: Buffer | string): Promise<void> {
    const body = parseBody<{ Container?: string; Force?: boolean }>(raw);
    const net = this.find(ref);
    const first = findContainer(this.d.containers, body.Container ?? '');
    await this.d.locks.run(first.id, async () => {
      const row = this.d.containers.get(first.id);
      if (!row) throw notFound(`No such container: ${body.Container}`);
      await this.sandbox.disconnect(row, net);
    });
  }

  /** Docker's network document (inspect: with its running containers). */
  document(n: NetworkRow, withContainers: boolean): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    if (withContainers) {
      const prefix = n.subnet.split('/')[1];
      for (const e of this.store.endpointsOn(n.id)) {
        if (!e.ip) continue;
        const row = this.d.containers.get(e.container_id);
        containers[e.container_id] = { Name: row?.name.slice(1) ?? '', EndpointID: e.endpoint_id, MacAddress: e.mac, IPv4Address: `${e.ip}/${prefix}`, IPv6Address: '' };
      }
    }
    const config: Record<string, string>[] = [];
    if (n.subnet) config.push({ Subnet: n.subnet, ...(n.ip_range ? { IPRange: n.ip_range } : {}), Gateway: n.gateway });
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: n.driver,
      EnableIPv4: n.driver === 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: config },
      Internal: n.internal === 1,
      Attachable: n.attachable === 1,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: JSON.parse(n.options),
      Labels: JSON.parse(n.labels),
    };
  }
}

function parseBody<T>(raw: Buffer | string): T {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.trim() === '') return {} as T;
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as T;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
}

function labelHolds(sel: string, labels: Record<string, string>): boolean {
  const eq = sel.indexOf('=');
  if (eq < 0) return sel in labels;
  return labels[sel.slice(0, eq)] === sel.slice(eq + 1);
}

/** Docker's ValidateIPAM for one IPv4 config: every problem, one per line, after "invalid network config:". */
export function validateIpam(c: IpamConfig | undefined): { subnet?: Cidr; ipRange?: Cidr; gateway?: string } {
  if (!c) return {};
  const errors: string[] = [];
  const block = (text: string, what: string): Cidr | undefined => {
    const parsed = parseCidr(text);
    if (!parsed) {
      errors.push(`invalid ${what} ${text}: invalid CIDR block notation`);
      return undefined;
    }
    if (base(parsed) !== parsed.ip) errors.push(`invalid ${what} ${text}: it should be ${formatCidr(parsed)}`);
    return parsed;
  };
  const subnet = c.Subnet ? block(c.Subnet, 'subnet') : undefined;
  let ipRange: Cidr | undefined;
  if (c.IPRange) {
    ipRange = block(c.IPRange, 'ip-range');
    if (ipRange && subnet) {
      if (ipRange.prefix < subnet.prefix) errors.push(`invalid ip-range ${c.IPRange}: CIDR block is bigger than its parent subnet ${c.Subnet}`);
      else if (!contains(subnet, base(ipRange))) errors.push(`invalid ip-range ${c.IPRange}: parent subnet ${c.Subnet} doesn't contain ip-range`);
    }
  }
  if (c.Gateway) {
    const gw = parseIp(c.Gateway);
    if (gw === undefined) errors.push(`invalid gateway ${c.Gateway}: invalid address`);
    else if (subnet && !contains(subnet, gw)) errors.push(`invalid gateway ${c.Gateway}: parent subnet ${c.Subnet} doesn't contain this address`);
  }
  if ((c.IPRange || c.Gateway) && !c.Subnet) errors.push('subnet is required when ip-range or gateway is set');
  if (subnet && size(subnet) < 4 && errors.length === 0) errors.push(`invalid subnet ${c.Subnet}: too small for a bridge network`);
  if (errors.length > 0) throw invalidArgument(`invalid network config:\n${errors.join('\n')}`);
  return { subnet, ipRange, gateway: c.Gateway || undefined };
}

/**
 * The networks' shared machinery: the predefined networks, subnet allocation across every stack on
 * the host, bridge devices (made when a network needs one, unmade with it), the embedded DNS of
 * user networks, ip_forward, and the stack's packet filter rewritten from the records. Container
 * attachment is sandbox.ts; Docker's network API is service.ts.
 *
 * Address pools (none of them Docker's 172.17.0.0/16 … or 192.168.0.0/16):
 *   default bridge   a /20 from 10.88.0.0/14
 *   user networks    a /24 from 10.92.0.0/14
 * A candidate is skipped when any tersane stack holds an overlapping subnet (registry.ts) or the
 * host has an overlapping route (/proc/net/route).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { EngineError, invalidArgument } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { nowRfc3339Nano } from '../../../common/time.js';
import { KeyedLock } from '../locks.js';
import type { ContainerStore } from '../store.js';
import { DnsServer, type DnsDirectory } from './dns.js';
import { Firewall, type FirewallState } from './firewall.js';
import { base, formatCidr, formatIp, hostAt, overlaps, parseCidr, size, type Cidr } from './ipv4.js';
import type { KernelNet } from './kernel.js';
import { ANY_TERSANE_BRIDGE, DOCKER_BRIDGE, type NetNames } from './names.js';
import { hostRoutes, type HostRegistry } from './registry.js';
import type { NetworkRow, NetworkStore } from './store.js';

export const DEFAULT_POOL = { cidr: '10.88.0.0/14', prefix: 20 };
export const USER_POOL = { cidr: '10.92.0.0/14', prefix: 24 };
export const PREDEFINED = ['bridge', 'host', 'none'] as const;
const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** Docker's nameservers when the host has none. */
const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const SYS_NET = '/sys/class/net';

export function newNetworkId(): string {
  return randomBytes(32).toString('hex');
}

/** Docker's "could not find an available … pool" when a pool is exhausted. */
export function poolExhausted(): EngineError {
  return invalidArgument('all predefined address pools have been fully subnetted');
}

export interface ManagerDeps {
  log: Logger;
  store: NetworkStore;
  containers: ContainerStore;
  names: NetNames;
  registry: HostRegistry;
  kernel: KernelNet;
  firewall: Firewall;
}

export class NetworkManager {
  /** Networks whose bridge device this daemon has made or seen in this run. */
  private readonly up = new Set<string>();
  private readonly dns = new Map<string, DnsServer>();
  private readonly bridgeLocks = new KeyedLock();
  private firewallTail: Promise<unknown> = Promise.resolve();

  constructor(readonly d: ManagerDeps) {}

  // ---- predefined networks ----------------------------------------------------------------------

  /** Makes sure bridge, host and none exist (at the first start of a daemon, and after a lost database). */
  ensurePredefined(): void {
    const { store, names } = this.d;
    for (const name of PREDEFINED) {
      if (store.networkByName(name)) continue;
      store.insertNetwork({
        id: newNetworkId(),
        name,
        driver: name === 'none' ? 'null' : name,
        created: nowRfc3339Nano(),
        subnet: '',
        gateway: '',
        ip_range: '',
        user_subnet: 0,
        internal: 0,
        attachable: 0,
        labels: '{}',
        options: name === 'bridge' ? JSON.stringify(DEFAULT_BRIDGE_OPTIONS(names.bridge(0))) : '{}',
        bridge: name === 'bridge' ? names.bridge(0) : '',
        status: 'ready',
        next_ip: 0,
      });
    }
  }

  defaultBridge(): NetworkRow {
    return this.d.store.networkByName('bridge')!;
  }

  /**
   * The default bridge's subnet, reserved host-wide while the daemon runs (an idle default bridge
   * gives its reservation up at a graceful stop): the one it had, unless another stack took it
   * meanwhile, else a new one from the pool.
   */
  ensureDefaultSubnet(): NetworkRow {
    const { registry } = this.d;
    const net = this.defaultBridge();
    if (net.subnet) {
      const c = parseCidr(net.subnet)!;
      const kept = registry.exclusive(() => {
        const clash = registry.subnetOverlapping(c);
        if (clash && (clash.owner !== registry.owner || clash.network !== net.id)) return false;
        if (!clash) registry.reserveSubnet(c, net.id);
        return true;
      });
      // A subnet its running containers still use is kept whatever the registry says.
      if (kept || this.d.store.endpointsOn(net.id).some((e) => e.ip)) return net;
    }
    const c = this.allocateSubnet(DEFAULT_POOL, net.id);
    const gateway = formatIp(hostAt(c, 1));
    this.d.store.updateNetwork(net.id, { subnet: formatCidr(c), gateway });
    return this.d.store.network(net.id)!;
  }

  // ---- subnets ------------------------------------------------------------------------------------

  /** The first free block of `pool` (no stack's reservation, no host route overlaps it), reserved. */
  allocateSubnet(pool: { cidr: string; prefix: number }, networkId: string): Cidr {
    const { registry } = this.d;
    const p = parseCidr(pool.cidr)!;
    const count = size(p) / 2 ** (32 - pool.prefix);
    return registry.exclusive(() => {
      const routes = hostRoutes();
      for (let i = 0; i < count; i++) {
        const c: Cidr = { ip: (base(p) + i * 2 ** (32 - pool.prefix)) >>> 0, prefix: pool.prefix };
        if (registry.subnetOverlapping(c)) continue;
        if (routes.some((r) => overlaps(r.cidr, c))) continue;
        registry.reserveSubnet(c, networkId);
        return c;
      }
      throw poolExhausted();
    });
  }

  /** Reserves a subnet the user chose; Docker's overlap error when any network on the host has it. */
  reserveSubnet(c: Cidr, networkId: string): void {
    const { registry } = this.d;
    registry.exclusive(() => {
      if (registry.subnetOverlapping(c)) {
        throw new EngineError('permission_denied', 'invalid pool request: Pool overlaps with other one on this address space');
      }
      registry.reserveSubnet(c, networkId);
    });
  }

  releaseSubnet(cidr: string): void {
    if (!cidr) return;
    this.d.registry.exclusive(() => this.d.registry.releaseSubnet(cidr));
  }

  /** The next free bridge device number (1…; 0 is the default bridge). */
  nextBridgeName(): string {
    const used = new Set(this.d.store.networks().map((n) => n.bridge).filter(Boolean));
    for (let n = 1; ; n++) {
      const name = this.d.names.bridge(n);
      if (!used.has(name) && !existsSync(`${SYS_NET}/${name}`)) return name;
    }
  }

  // ---- bridges ------------------------------------------------------------------------------------

  isUp(networkId: string): boolean {
    return this.up.has(networkId);
  }

  /**
   * Makes the network's bridge (and, for a user network, its resolver) exist: the default bridge
   * when its first container starts, a user network when it is created or after a host reboot.
   */
  ensureBridge(networkId: string): Promise<NetworkRow> {
    return this.bridgeLocks.run(networkId, async () => {
      let net = this.d.store.network(networkId);
      if (!net) throw invalidArgument(`network ${networkId} not found`);
      if (net.driver !== 'bridge') return net;
      let changed = false;
      if (!this.up.has(net.id) || !existsSync(`${SYS_NET}/${net.bridge}`)) {
        if (net.name === 'bridge') net = this.ensureDefaultSubnet();
        const prefix = net.subnet.split('/')[1];
        await this.d.kernel.run([['bridge-create', { name: net.bridge, addr: `${net.gateway}/${prefix}`, mac: bridgeMac(net.id) }]]);
        this.up.add(net.id);
        this.ensureForwarding();
        changed = true;
      }
      if (net.name !== 'bridge' && !this.dns.has(net.id)) {
        await this.startDns(net);
        changed = true;
      }
      if (changed) await this.applyFirewall();
      return net;
    });
  }

  /** Unmakes the network's bridge, resolver and rules (network removal, idle default bridge at stop). */
  dropBridge(networkId: string): Promise<void> {
    return this.bridgeLocks.run(networkId, async () => {
      const net = this.d.store.network(networkId);
      const server = this.dns.get(networkId);
      if (server) {
        server.close();
        this.dns.delete(networkId);
      }
      if (!net || !net.bridge) return;
      await this.d.kernel.run([['bridge-delete', { name: net.bridge }]]);
      this.up.delete(networkId);
      await this.applyFirewall();
      this.restoreForwarding();
    });
  }

  /** Adopts bridges that exist (a daemon restart while containers run): their rules are rewritten. */
  adoptExisting(): void {
    for (const net of this.d.store.networks()) {
      if (net.driver === 'bridge' && net.bridge && existsSync(`${SYS_NET}/${net.bridge}`)) this.up.add(net.id);
    }
  }

  /** Bridge devices of this stack on the host that no network claims (a crash between kernel and records). */
  strayBridges(): string[] {
    const known = new Set(this.d.store.networks().map((n) => n.bridge));
    return readdirSync(SYS_NET).filter((n) => this.d.names.bridgePattern.test(n) && !known.has(n));
  }

  // ---- ip_forward ---------------------------------------------------------------------------------

  /** Turns forwarding on, remembering (host-wide, once) what it was so the last stack can put it back. */
  private ensureForwarding(): void {
    const { registry } = this.d;
    registry.exclusive(() => {
      const now = readFileSync(IP_FORWARD, 'utf8').trim();
      if (now === '1') return;
      if (registry.meta('ip_forward') === undefined) registry.setMeta('ip_forward', now);
      writeFileSync(IP_FORWARD, '1');
    });
  }

  /**
   * When no tersane bridge is left on the host, ip_forward goes back to what it was — unless a
   * Docker Engine's bridges need it meanwhile.
   */
  restoreForwarding(): void {
    const { registry } = this.d;
    registry.exclusive(() => {
      const saved = registry.meta('ip_forward');
      if (saved === undefined) return;
      if (readdirSync(SYS_NET).some((n) => ANY_TERSANE_BRIDGE.test(n) || DOCKER_BRIDGE.test(n))) return;
      writeFileSync(IP_FORWARD, saved);
      registry.setMeta('ip_forward', undefined);
    });
  }

  // ---- DNS ----------------------------------------------------------------------------------------

  private async startDns(net: NetworkRow): Promise<void> {
    const server = await DnsServer.start(net.gateway, () => this.directory(net.id), this.d.log);
    this.dns.set(net.id, server);
  }

  dnsPort(networkId: string): number | undefined {
    return this.dns.get(networkId)?.port;
  }

  /** What the resolver of a network knows: its running containers' names, aliases and short ids. */
  directory(networkId: string): DnsDirectory {
    const { store, containers } = this.d;
    const entries = () =>
      store
        .endpointsOn(networkId)
        .filter((e) => e.ip)
        .map((e) => {
          const row = containers.get(e.container_id);
          const names = row ? [row.name.slice(1), ...(JSON.parse(e.aliases) as string[]), row.id.slice(0, 12)] : [];
          return { ip: e.ip, names: names.map((n) => n.toLowerCase()), row };
        });
    const searches = hostSearchDomains();
    return {
      lookup(name) {
        const candidates = [name, ...searches.filter((s) => name.endsWith(`.${s}`)).map((s) => name.slice(0, -s.length - 1))];
        return entries()
          .filter((e) => candidates.some((c) => e.names.includes(c)))
          .map((e) => e.ip);
      },
      reverse(ip) {
        const e = entries().find((x) => x.ip === ip);
        return e?.names[0];
      },
      upstreams(clientIp) {
        const e = entries().find((x) => x.ip === clientIp);
        const own = e?.row ? ((JSON.parse(e.row.host_config).Dns as string[] | null) ?? []) : [];
        return own.length > 0 ? own : hostNameservers();
      },
    };
  }

  // ---- packet filter ------------------------------------------------------------------------------

  firewallState(): FirewallState {
    const networks = this.d.store
      .networks()
      .filter((n) => n.driver === 'bridge' && this.up.has(n.id))
      .map((n) => ({ bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, internal: n.internal === 1, dnsPort: this.dnsPort(n.id) }));
    const bindings = this.d.store.portBindings().map((b) => ({
      proto: b.proto,
      hostIp: b.host_ip,
      hostPort: b.host_port,
      containerIp: b.container_ip,
      containerPort: b.container_port,
    }));
    return { networks, bindings };
  }

  /** Rewrites the stack's rules from the records; calls are serialized, each sees the latest records. */
  applyFirewall(): Promise<void> {
    const next = this.firewallTail.then(
      () => this.d.firewall.apply(this.firewallState()),
      () => this.d.firewall.apply(this.firewallState()),
    );
    this.firewallTail = next.catch(() => undefined);
    return next;
  }

  /** At a graceful stop: resolvers closed; an idle default bridge and, with no bridge left, every rule removed. */
  async shutdown(): Promise<void> {
    for (const server of this.dns.values()) server.close();
    this.dns.clear();
    const def = this.d.store.networkByName('bridge');
    if (def && !this.d.store.endpointsOn(def.id).some((e) => e.ip)) {
      if (this.up.has(def.id)) {
        await this.dropBridge(def.id).catch((err) => this.d.log.warn('cannot remove the idle default bridge', { err: (err as Error).message }));
      }
      // Its subnet goes back to the host's pool until the daemon runs again.
      if (!this.up.has(def.id)) this.releaseSubnet(def.subnet);
    }
    if (this.up.size === 0) {
      await this.firewallTail;
      await this.d.firewall.removeAll().catch((err) => this.d.log.warn('cannot remove the packet filter rules', { err: (err as Error).message }));
      this.restoreForwarding();
    }
    this.d.registry.close();
  }
}

/** A fixed, locally administered MAC for a network's bridge (from its id: stable across re-creation). */
export function bridgeMac(networkId: string): string {
  return ['02', ...networkId.slice(0, 10).match(/../g)!].join(':');
}

/** Docker's options on the default bridge network, with our device name. */
export function DEFAULT_BRIDGE_OPTIONS(bridge: string): Record<string, string> {
  return {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': bridge,
    'com.docker.network.driver.mtu': '1500',
  };
}

function readResolvConf(): string {
  try {
    return readFileSync(HOST_RESOLV_CONF, 'utf8');
  } catch {
    return '';
  }
}

/** The host's nameservers (loopback ones included: the daemon runs in the host's namespace). */
export function hostNameservers(): string[] {
  const out = readResolvConf()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === 'nameserver' && f[1])
    .map((f) => f[1]);
  return out.length > 0 ? out : FALLBACK_NAMESERVERS;
}

function hostSearchDomains(): string[] {
  return readResolvConf()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === 'search' || f[0] === 'domain')
    .flatMap((f) => f.slice(1))
    .map((s) => s.toLowerCase().replace(/\.$/, ''));
}

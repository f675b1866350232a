/**
 * A container's networking: what its create asks for (checked with Docker's messages and recorded
 * as endpoints), what its start makes (a network namespace bound at <runDir>/netns/<id>, one veth
 * per network with a leased address, published ports, /etc/hosts and /etc/resolv.conf), and what
 * its exit unmakes — everything, whatever failed, so a container is never left half-started.
 *
 *   start:  bridges exist → leases (one transaction) → host ports (registry + bind probe) →
 *           tersane-net (namespace + veths, one process) → rules (only with ports) → files
 *   exit:   tersane-net netns-delete (the kernel takes the veths with the namespace) → leases and
 *           ports released → rules (only if it had ports)
 *
 * The namespace path is fixed at create (containerd writes it into the OCI spec); the namespace
 * behind it exists from start to exit. `--network container:X` joins X's path; `host` and `none`
 * need nothing here (none is the runtime's own private namespace, loopback only).
 *
 * @example
 *   const plan = sandbox.plan(userConfig, hostConfig, networkingConfig, id);  // at create
 *   sandbox.record(id, plan);
 *   await sandbox.setup(row);                                                 // at start
 *   await sandbox.teardown(id);                                               // at exit, remove
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { conflict, EngineError, internal, invalidArgument, notFound } from '../../../common/errors.js';
import type { EventBus } from '../../../common/events.js';
import type { Logger } from '../../../common/log.js';
import { hostsFile, readOptional, resolvConf, HOST_RESOLV_CONF, type ContainerPaths, type NetworkFilesInput } from '../containerFiles.js';
import type { DockerConfig, HostConfig } from '../createConfig.js';
import { recordDockerEvent } from '../dockerEvents.js';
import { findContainer, tryFindContainer } from '../lookup.js';
import type { ContainerRow, ContainerStore } from '../store.js';
import { contains, formatIp, hostAt, macFor, parseCidr, parseIp, size, type Cidr } from './ipv4.js';
import type { NetworkManager } from './manager.js';
import { ephemeralCandidate, EPHEMERAL_ATTEMPTS, listPorts, parsePortKey, portRequests, portsDocument, probe, type PortRequest } from './ports.js';
import type { EndpointRow, NetworkRow, PortBindingRow } from './store.js';

const RUNNING = new Set(['running', 'paused', 'restarting']);

/**
 * A failure of the network set-up at start: Docker words these itself ("failed to set up container
 * networking: …"), so the lifecycle must not dress them as a task-creation failure.
 */
export class NetworkSetupError extends EngineError {}

export interface PlannedEndpoint {
  networkId: string;
  aliases: string[];
  ipv4: string;
  mac: string;
}

export interface NetworkPlan {
  /** For the spec: a namespace path, "host", or "" (the runtime's own private namespace). */
  netns: string;
  endpoints: PlannedEndpoint[];
  /** `container:X`: the hostname X has (Docker shares it). */
  hostname?: string;
  warnings: string[];
}

interface Lease {
  ep: EndpointRow;
  net: NetworkRow;
  cidr: Cidr;
  ip: string;
  mac: string;
  veth: string;
  endpointId: string;
}

export interface SandboxDeps {
  log: Logger;
  bus: EventBus;
  containers: ContainerStore;
  paths(id: string): ContainerPaths;
}

function parse<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function isContainerMode(mode: string): boolean {
  return mode.startsWith('container:');
}

/** Modes whose container has endpoints of its own (the default bridge or user networks). */
export function hasOwnEndpoints(mode: string): boolean {
  return mode !== 'host' && mode !== 'none' && !isContainerMode(mode);
}

export class ContainerNetworking {
  constructor(
    readonly m: NetworkManager,
    private readonly d: SandboxDeps,
  ) {}

  private get store() {
    return this.m.d.store;
  }

  /** A network by full id, exact name, or unique id prefix (Docker's order). */
  findNetwork(ref: string): NetworkRow {
    const { store } = this;
    const byId = /^[a-f0-9]{64}$/.test(ref) ? store.network(ref) : undefined;
    if (byId) return byId;
    const byName = store.networkByName(ref);
    if (byName) return byName;
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = store.networksByPrefix(ref);
      if (matches.length > 1) throw invalidArgument(`network ${ref} is ambiguous (${matches.length} matches found based on ID)`);
      if (matches.length === 1) return matches[0];
    }
    throw notFound(`network ${ref} not found`);
  }

  // ---- create -------------------------------------------------------------------------------------

  /** Checks a create's network settings (Docker's rules and messages); nothing is recorded yet. */
  plan(user: DockerConfig, h: HostConfig, networkingConfig: Record<string, unknown>, id: string): NetworkPlan {
    const mode = h.NetworkMode;
    const warnings: string[] = [];
    const endpointsConfig = ((networkingConfig as { EndpointsConfig?: Record<string, EndpointSettings | null> }).EndpointsConfig ?? {}) as Record<
      string,
      EndpointSettings | null
    >;
    for (const key of Object.keys(h.PortBindings ?? {})) parsePortKey(key);
    if (mode === 'host' || mode === 'none' || isContainerMode(mode)) {
      const others = Object.keys(endpointsConfig).filter((n) => n !== mode && n !== mode.split(':')[0]);
      if (others.length > 0) throw invalidArgument('container sharing network namespace with another container or host cannot be connected to any other network');
      if (Object.values(endpointsConfig).some((e) => (e?.Aliases ?? []).length > 0)) {
        throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
      }
    }
    if (mode === 'host') {
      if (Object.keys(h.PortBindings ?? {}).length > 0 || h.PublishAllPorts === true) warnings.push('Published ports are discarded when using host network mode');
      return { netns: 'host', endpoints: [], warnings };
    }
    if (mode === 'none') return { netns: '', endpoints: [], warnings };
    if (isContainerMode(mode)) {
      const ref = mode.slice('container:'.length);
      if (Object.keys(h.PortBindings ?? {}).length > 0 || h.PublishAllPorts === true) {
        throw invalidArgument('conflicting options: port publishing and the container type network mode');
      }
      if (user.Hostname) throw invalidArgument('conflicting options: hostname and the network mode');
      if ((h.Dns ?? []).length > 0 || (h.DnsSearch ?? []).length > 0 || (h.DnsOptions ?? []).length > 0) {
        throw invalidArgument('conflicting options: dns and the network mode');
      }
      if ((h.ExtraHosts ?? []).length > 0) throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
      if (user.MacAddress) throw invalidArgument('conflicting options: mac-address and the network mode');
      const other = findContainer(this.d.containers, ref);
      if (other.id === id) throw invalidArgument('cannot join own network');
      return { netns: this.netnsOf(other, ref), endpoints: [], hostname: parse<DockerConfig>(other.config).Hostname, warnings };
    }
    // The default bridge or user networks: the mode's network first, then any other the body names.
    const primary = this.findNetwork(mode);
    if (primary.driver !== 'bridge') throw invalidArgument(`network ${mode} cannot be used as a container network mode`);
    const endpoints: PlannedEndpoint[] = [];
    const add = (net: NetworkRow, settings: EndpointSettings | null | undefined, key: string) => {
      if (endpoints.some((e) => e.networkId === net.id)) return;
      if (net.driver !== 'bridge') throw invalidArgument('container sharing network namespace with another container or host cannot be connected to any other network');
      endpoints.push(this.endpointFor(net, settings, key));
    };
    // The CLI names the default network "default" in EndpointsConfig when --network is not given.
    const isPrimary = (key: string) => key === mode || key === primary.name || key === primary.id || (key === 'default' && primary.name === 'bridge');
    const primaryKey = Object.keys(endpointsConfig).find(isPrimary);
    // --mac-address: the endpoint's (API 1.44+) or, from older clients, Config.MacAddress.
    const primarySettings = primaryKey ? endpointsConfig[primaryKey] : undefined;
    add(primary, user.MacAddress && !primarySettings?.MacAddress ? { ...(primarySettings ?? {}), MacAddress: user.MacAddress } : primarySettings, mode);
    for (const [key, settings] of Object.entries(endpointsConfig)) {
      if (isPrimary(key)) continue;
      add(this.findNetwork(key), settings, key);
    }
    return { netns: 'pending', endpoints, warnings };
  }

  /** Docker's checks of one endpoint's settings against its network. */
  private endpointFor(net: NetworkRow, settings: EndpointSettings | null | undefined, key: string): PlannedEndpoint {
    const aliases = [...new Set(settings?.Aliases ?? [])];
    const ipv4 = settings?.IPAMConfig?.IPv4Address ?? '';
    const mac = (settings?.MacAddress ?? '').toLowerCase();
    if (mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw invalidArgument(`invalid MAC address: ${settings?.MacAddress}`);
    if (mac && parseInt(mac.slice(0, 2), 16) & 1) throw invalidArgument(`invalid MAC address: ${settings?.MacAddress}: a multicast address`);
    if (net.name === 'bridge' && aliases.length > 0) throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    if (ipv4) {
      const ip = parseIp(ipv4);
      if (ip === undefined) throw invalidArgument(`invalid config for network ${key}: invalid endpoint settings:\ninvalid IPv4 address: ${ipv4}`);
      if (net.user_subnet !== 1) {
        throw invalidArgument(
          `invalid config for network ${key}: invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets`,
        );
      }
      const range = parseCidr(net.ip_range || net.subnet)!;
      if (!contains(range, ip)) {
        throw invalidArgument(`invalid config for network ${key}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${ipv4}`);
      }
    }
    return { networkId: net.id, aliases, ipv4, mac };
  }

  /** The namespace a container's spec names (its own file, or what it joins). */
  private netnsOf(row: ContainerRow, ref: string): string {
    const mode = parse<HostConfig>(row.host_config).NetworkMode;
    if (mode === 'host') return 'host';
    if (mode === 'none') {
      if (!RUNNING.has(row.status) || row.pid === 0) throw conflict(`cannot join network namespace of a non running container: ${ref}`);
      return `/proc/${row.pid}/ns/net`;
    }
    if (isContainerMode(mode)) {
      const next = mode.slice('container:'.length);
      return this.netnsOf(findContainer(this.d.containers, next), next);
    }
    return this.m.d.names.netnsPath(row.id);
  }

  /** The namespace value for a new container's spec. */
  netnsFor(plan: NetworkPlan, id: string): string {
    return plan.netns === 'pending' ? this.m.d.names.netnsPath(id) : plan.netns;
  }

  /** Records the planned endpoints (inside the create; forget() undoes it). */
  record(id: string, plan: NetworkPlan): void {
    this.store.tx(() => {
      plan.endpoints.forEach((e, i) =>
        this.store.insertEndpoint({
          container_id: id,
          network_id: e.networkId,
          position: i,
          aliases: JSON.stringify(e.aliases),
          ipv4_config: e.ipv4,
          mac_config: e.mac,
          endpoint_id: '',
          ip: '',
          mac: '',
          veth: '',
        }),
      );
    });
  }

  forget(id: string): void {
    this.store.deleteEndpointsOf(id);
  }

  // ---- start and exit -----------------------------------------------------------------------------

  /** Makes the container's network before its task is created; on failure nothing is left. */
  async setup(row: ContainerRow): Promise<void> {
    const h = parse<HostConfig>(row.host_config);
    const mode = h.NetworkMode;
    if (mode === 'host' || mode === 'none') return;
    if (isContainerMode(mode)) return this.joinOther(row, mode.slice('container:'.length));
    try {
      await this.setupOwn(row, h);
    } catch (err) {
      await this.teardown(row.id).catch((e) => this.d.log.warn('cannot undo a failed network set-up', { id: row.id, err: (e as Error).message }));
      const e = err instanceof EngineError ? err : new EngineError('internal', String((err as Error)?.message ?? err));
      throw new NetworkSetupError(e.kind, `failed to set up container networking: ${e.message}`);
    }
  }

  private async setupOwn(row: ContainerRow, h: HostConfig): Promise<void> {
    const { kernel, names } = this.m.d;
    const eps = this.store.endpointsOf(row.id);
    const nets: NetworkRow[] = [];
    for (const ep of eps) {
      if (!this.store.network(ep.network_id)) throw notFound(`network ${ep.network_id} not found`);
      nets.push(await this.m.ensureBridge(ep.network_id));
    }
    const leases = this.lease(row.id, eps, nets);
    const gateway = leases.find((l) => l.net.internal !== 1);
    const config = parse<DockerConfig>(row.config);
    const requests = portRequests(config, h);
    const bindings = requests.length > 0 && gateway ? await this.allocatePorts(row, requests, gateway) : [];
    const path = names.netnsPath(row.id);
    mkdirSync(names.netnsDir, { recursive: true, mode: 0o755 });
    await kernel.run([
      ['netns-delete', { path }],
      ['netns-create', { path }],
      ...leases.map(
        (l, i): [string, Record<string, string | undefined>] => [
          'veth-create',
          {
            netns: path,
            bridge: l.net.bridge,
            host: l.veth,
            name: `eth${i}`,
            addr: `${l.ip}/${l.cidr.prefix}`,
            mac: l.mac,
            gw: l === gateway ? l.net.gateway : undefined,
          },
        ],
      ),
    ]);
    if (bindings.length > 0) await this.m.applyFirewall();
    this.writeFiles(row, leases.map((l) => l.ip));
    this.d.containers.tx(() => {
      for (const l of leases) recordDockerEvent(this.d.bus, 'network', 'connect', l.net.id, { container: row.id, name: l.net.name, type: l.net.driver });
    });
  }

  /** Leases an address on each network (one transaction: all or none). */
  private lease(id: string, eps: EndpointRow[], nets: NetworkRow[]): Lease[] {
    return this.store.tx(() =>
      eps.map((ep, i) => {
        const net = this.store.network(nets[i].id)!;
        const cidr = parseCidr(net.subnet)!;
        const ip = ep.ipv4_config ? this.staticAddress(id, net, ep.ipv4_config) : this.nextAddress(id, net, cidr);
        const mac = ep.mac_config || macFor(parseIp(ip)!);
        const lease: Lease = { ep, net, cidr, ip, mac, veth: this.m.d.names.newVeth(), endpointId: randomBytes(32).toString('hex') };
        this.store.setLease(id, net.id, { endpoint_id: lease.endpointId, ip, mac: lease.mac, veth: lease.veth });
        return lease;
      }),
    );
  }

  private staticAddress(id: string, net: NetworkRow, ip: string): string {
    const taken = this.store.endpointsOn(net.id).some((e) => e.ip === ip && e.container_id !== id);
    if (taken || ip === net.gateway) throw new EngineError('permission_denied', 'Address already in use');
    return ip;
  }

  /** The next free address after the network's cursor (Docker does not hand an address out again at once). */
  private nextAddress(id: string, net: NetworkRow, cidr: Cidr): string {
    const range = net.ip_range ? parseCidr(net.ip_range)! : cidr;
    const used = new Set<string>([net.gateway]);
    for (const e of this.store.endpointsOn(net.id)) {
      if (e.container_id === id) continue;
      if (e.ip) used.add(e.ip);
      if (e.ipv4_config) used.add(e.ipv4_config);
    }
    const total = size(cidr);
    for (let step = 0; step < total; step++) {
      const offset = (net.next_ip + step) % total;
      if (offset === 0 || offset === total - 1) continue; // network and broadcast addresses
      const ip = hostAt(cidr, offset);
      if (!contains(range, ip)) continue;
      const text = formatIp(ip);
      if (used.has(text)) continue;
      this.store.updateNetwork(net.id, { next_ip: offset + 1 });
      return text;
    }
    throw new EngineError('unavailable', `no available IPv4 addresses on this network's address pools: ${net.name} (${net.id.slice(0, 12)})`);
  }

  /** Host ports for the container's requests: free on the host and in every stack, then reserved. */
  private async allocatePorts(row: ContainerRow, requests: PortRequest[], lease: Lease): Promise<PortBindingRow[]> {
    const { registry } = this.m.d;
    const name = row.name.slice(1);
    const fail = (msg: string) => internal(`driver failed programming external connectivity on endpoint ${name} (${lease.endpointId}): ${msg}`);
    const chosen: PortBindingRow[] = [];
    const clashes = (proto: string, hostIp: string, port: number) =>
      registry.portClash(proto, hostIp, port) !== undefined || chosen.some((c) => c.proto === proto && c.host_port === port && (c.host_ip === hostIp || c.host_ip === '0.0.0.0' || hostIp === '0.0.0.0'));
    for (const r of requests) {
      const target = `${lease.ip}:${r.containerPort}/${r.proto}`;
      let port = 0;
      if (r.hostRange[0] === 0) {
        for (let i = 0; i < EPHEMERAL_ATTEMPTS && port === 0; i++) {
          const candidate = await ephemeralCandidate(r.proto, r.hostIp);
          if (!clashes(r.proto, r.hostIp, candidate)) port = candidate;
        }
        if (port === 0) throw fail(`Bind for ${r.hostIp}:0 failed: no free host port`);
      } else {
        const [lo, hi] = r.hostRange;
        let lastCode = '';
        for (let p = lo; p <= hi && port === 0; p++) {
          if (clashes(r.proto, r.hostIp, p)) {
            lastCode = 'allocated';
            continue;
          }
          const res = r.proto === 'sctp' ? ({ ok: true } as const) : await probe(r.proto, r.hostIp, p);
          if (res.ok) port = p;
          else lastCode = res.code;
        }
        if (port === 0) {
          const spec = lo === hi ? `${lo}` : `${lo}-${hi}`;
          if (lastCode === 'allocated') throw fail(`Bind for ${r.hostIp}:${spec} failed: port is already allocated`);
          throw fail(`failed to bind host port for ${r.hostIp}:${spec}:${target}: ${errnoText(lastCode)}`);
        }
      }
      chosen.push({ container_id: row.id, proto: r.proto, container_port: r.containerPort, host_ip: r.hostIp, host_port: port, container_ip: lease.ip });
    }
    registry.exclusive(() => {
      for (const c of chosen) {
        if (registry.portClash(c.proto, c.host_ip, c.host_port)) throw fail(`Bind for ${c.host_ip}:${c.host_port} failed: port is already allocated`);
        registry.reservePort(c.proto, c.host_ip, c.host_port, row.id);
      }
    });
    this.store.tx(() => chosen.forEach((c) => this.store.insertPortBinding(c)));
    return chosen;
  }

  /** `--network container:X`: X must run; its hosts and resolv.conf are the container's too. */
  private async joinOther(row: ContainerRow, ref: string): Promise<void> {
    const other = tryFindContainer(this.d.containers, ref);
    if (!other || !RUNNING.has(other.status)) {
      throw new NetworkSetupError('conflict', `cannot join network namespace of a non running container: ${ref}`);
    }
    const mine = this.d.paths(row.id);
    const theirs = this.d.paths(other.id);
    for (const f of ['hosts', 'resolvConf'] as const) {
      const text = readOptional(theirs[f]);
      if (text !== undefined) writeFileSync(mine[f], text);
    }
  }

  /** Unmakes what setup made; safe to call any number of times. */
  async teardown(id: string): Promise<void> {
    const { kernel, names, registry } = this.m.d;
    const path = names.netnsPath(id);
    const leased = this.store.endpointsOf(id).filter((e) => e.ip);
    const bindings = this.store.portBindingsOf(id);
    // The namespace's veths go with it (the kernel destroys them as it frees the namespace).
    if (existsSync(path)) await kernel.run([['netns-delete', { path }]]);
    this.store.tx(() => {
      this.store.clearLeases(id);
      this.store.deletePortBindingsOf(id);
      for (const e of leased) {
        const net = this.store.network(e.network_id);
        if (net) recordDockerEvent(this.d.bus, 'network', 'disconnect', net.id, { container: id, name: net.name, type: net.driver });
      }
    });
    if (bindings.length > 0) {
      registry.exclusive(() => registry.releasePortsOf(id));
      await this.m.applyFirewall();
    }
  }

  // ---- connect and disconnect (docker network connect/disconnect) --------------------------------

  /** Adds an endpoint; a running container gets its veth and address now. Caller holds the container's lock. */
  async connect(row: ContainerRow, net: NetworkRow, settings: EndpointSettings | null): Promise<void> {
    const mode = parse<HostConfig>(row.host_config).NetworkMode;
    if (!hasOwnEndpoints(mode)) throw invalidArgument('container sharing network namespace with another container or host cannot be connected to any other network');
    if (net.driver !== 'bridge') throw invalidArgument('container cannot be disconnected from host network or connected to host network');
    if (this.store.endpoint(row.id, net.id)) throw new EngineError('permission_denied', `endpoint with name ${row.name.slice(1)} already exists in network ${net.name}`);
    const planned = this.endpointFor(net, settings, net.name);
    const position = Math.max(-1, ...this.store.endpointsOf(row.id).map((e) => e.position)) + 1;
    this.store.insertEndpoint({
      container_id: row.id,
      network_id: net.id,
      position,
      aliases: JSON.stringify(planned.aliases),
      ipv4_config: planned.ipv4,
      mac_config: planned.mac,
      endpoint_id: '',
      ip: '',
      mac: '',
      veth: '',
    });
    if (!RUNNING.has(row.status) || !existsSync(this.m.d.names.netnsPath(row.id))) return;
    try {
      const ready = await this.m.ensureBridge(net.id);
      const ep = this.store.endpoint(row.id, net.id)!;
      const [l] = this.lease(row.id, [ep], [ready]);
      // Named after its position, past every name the namespace's interfaces already have.
      await this.m.d.kernel.run([
        ['veth-create', { netns: this.m.d.names.netnsPath(row.id), bridge: l.net.bridge, host: l.veth, name: `eth${position}`, addr: `${l.ip}/${l.cidr.prefix}`, mac: l.mac }],
      ]);
      this.writeFiles(row, this.store.endpointsOf(row.id).filter((e) => e.ip).map((e) => e.ip));
      this.d.containers.tx(() => recordDockerEvent(this.d.bus, 'network', 'connect', net.id, { container: row.id, name: net.name, type: net.driver }));
    } catch (err) {
      this.store.deleteEndpoint(row.id, net.id);
      throw err;
    }
  }

  /** Removes an endpoint; a running container loses its veth now. Caller holds the container's lock. */
  async disconnect(row: ContainerRow, net: NetworkRow): Promise<void> {
    const mode = parse<HostConfig>(row.host_config).NetworkMode;
    if (!hasOwnEndpoints(mode) || net.driver !== 'bridge') throw invalidArgument('container cannot be disconnected from host network or connected to host network');
    const ep = this.store.endpoint(row.id, net.id);
    if (!ep) throw invalidArgument(`container ${row.id} is not connected to network ${net.name}`);
    if (ep.ip && ep.veth) await this.m.d.kernel.run([['link-delete', { name: ep.veth }]]);
    this.store.tx(() => {
      this.store.deleteEndpoint(row.id, net.id);
      if (ep.ip) recordDockerEvent(this.d.bus, 'network', 'disconnect', net.id, { container: row.id, name: net.name, type: net.driver });
    });
    if (ep.ip) this.writeFiles(row, this.store.endpointsOf(row.id).filter((e) => e.ip).map((e) => e.ip));
  }

  // ---- files --------------------------------------------------------------------------------------

  /** /etc/hosts with the container's addresses; resolv.conf pointing at the embedded DNS on user networks. */
  private writeFiles(row: ContainerRow, addresses: string[]): void {
    const config = parse<DockerConfig>(row.config);
    const h = parse<HostConfig>(row.host_config);
    const paths = this.d.paths(row.id);
    const input: NetworkFilesInput = {
      hostname: config.Hostname,
      domainname: config.Domainname,
      hostNetwork: false,
      dns: h.Dns ?? [],
      dnsSearch: h.DnsSearch ?? [],
      dnsOptions: h.DnsOptions ?? [],
      extraHosts: h.ExtraHosts ?? [],
      addresses,
    };
    writeFileSync(paths.hosts, hostsFile(input));
    const userNet = this.store
      .endpointsOf(row.id)
      .filter((e) => e.ip)
      .map((e) => this.store.network(e.network_id))
      .find((n) => n && n.name !== 'bridge');
    if (userNet) {
      // The embedded resolver answers for the network and forwards the rest (to --dns if given).
      const options = input.dnsOptions.length > 0 ? input.dnsOptions : ['ndots:0'];
      writeFileSync(paths.resolvConf, resolvConf({ ...input, dns: [userNet.gateway], dnsOptions: options }, readOptional(HOST_RESOLV_CONF) ?? ''));
    }
  }

  // ---- views --------------------------------------------------------------------------------------

  /** Names of the networks a container is on (the list's `network` filter). */
  networkNames(row: ContainerRow): string[] {
    const mode = parse<HostConfig>(row.host_config).NetworkMode;
    if (mode === 'host' || mode === 'none') return [mode];
    if (isContainerMode(mode)) return [];
    return this.store
      .endpointsOf(row.id)
      .map((e) => this.store.network(e.network_id))
      .filter((n): n is NetworkRow => n !== undefined)
      .flatMap((n) => [n.name, n.id]);
  }

  /** The published ports (the list's `publish` filter and Ports). */
  bindings(row: ContainerRow): PortBindingRow[] {
    return this.store.portBindingsOf(row.id);
  }

  listPorts(row: ContainerRow): Array<Record<string, unknown>> {
    if (!RUNNING.has(row.status)) return [];
    return listPorts(parse<DockerConfig>(row.config), this.bindings(row));
  }

  /** Docker's NetworkSettings (inspect: `full`; the list: Networks only). */
  settings(row: ContainerRow, full: boolean): Record<string, unknown> {
    const mode = parse<HostConfig>(row.host_config).NetworkMode;
    const networks: Record<string, Record<string, unknown>> = {};
    let primary: Record<string, unknown> | undefined;
    if (mode === 'host' || mode === 'none') {
      const net = this.store.networkByName(mode);
      networks[mode] = endpointDocument(row, net, undefined);
    } else if (!isContainerMode(mode)) {
      for (const ep of this.store.endpointsOf(row.id)) {
        const net = this.store.network(ep.network_id);
        if (!net) continue;
        networks[net.name] = endpointDocument(row, net, ep);
        if (net.name === 'bridge') primary = networks[net.name];
      }
    }
    if (!full) return { Networks: networks };
    const running = RUNNING.has(row.status);
    const leased = this.store.endpointsOf(row.id).some((e) => e.ip);
    return {
      Bridge: '',
      SandboxID: leased ? row.id : '',
      SandboxKey: leased ? this.m.d.names.netnsPath(row.id) : '',
      Ports: running && hasOwnEndpoints(mode) ? portsDocument(parse<DockerConfig>(row.config), this.bindings(row)) : {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: primary?.EndpointID ?? '',
      Gateway: primary?.Gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: primary?.IPAddress ?? '',
      IPPrefixLen: primary?.IPPrefixLen ?? 0,
      IPv6Gateway: '',
      MacAddress: primary?.MacAddress ?? '',
      Networks: networks,
    };
  }
}

export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** One entry of NetworkSettings.Networks. */
function endpointDocument(row: ContainerRow, net: NetworkRow | undefined, ep: EndpointRow | undefined): Record<string, unknown> {
  const aliases = ep ? (JSON.parse(ep.aliases) as string[]) : [];
  const leased = ep !== undefined && ep.ip !== '';
  const prefix = net?.subnet ? Number(net.subnet.split('/')[1]) : 0;
  return {
    IPAMConfig: ep?.ipv4_config ? { IPv4Address: ep.ipv4_config } : null,
    Links: null,
    Aliases: aliases.length > 0 ? aliases : null,
    MacAddress: leased ? ep.mac : '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: net?.id ?? '',
    EndpointID: leased ? ep.endpoint_id : '',
    Gateway: leased ? net!.gateway : '',
    IPAddress: leased ? ep.ip : '',
    IPPrefixLen: leased ? prefix : 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: leased && net && net.name !== 'bridge' ? [row.name.slice(1), ...aliases, row.id.slice(0, 12)] : null,
  };
}

function errnoText(code: string): string {
  const texts: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'cannot assign requested address',
    EACCES: 'permission denied',
  };
  return texts[code] ?? code.toLowerCase();
}

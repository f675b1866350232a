/**
 * Making the kernel and the host registry agree with the daemon's network records, at every daemon
 * start (after the containers' own reconciliation, so the set of running containers is final). A
 * daemon killed at any point leaves at most: a network half made or half unmade, leases and port
 * bindings of containers that no longer run, namespace files, veths, bridges and rules nobody
 * claims, registry rows of networks or ports that are gone. Each is finished or undone here.
 *
 * @example
 *   await reconcileNetworks({ manager, sandbox, service, containers, log });
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from '../../../common/log.js';
import type { ContainerStore } from '../store.js';
import type { NetworkManager } from './manager.js';
import type { ContainerNetworking } from './sandbox.js';
import type { NetworkService } from './service.js';

const SYS_NET = '/sys/class/net';

export interface NetworkReconcileDeps {
  manager: NetworkManager;
  sandbox: ContainerNetworking;
  service: NetworkService;
  containers: ContainerStore;
  log: Logger;
}

export async function reconcileNetworks(d: NetworkReconcileDeps): Promise<void> {
  const { manager: m, sandbox, service, containers, log } = d;
  const { store, names, kernel, registry, firewall } = m.d;
  m.ensurePredefined();
  m.ensureDefaultSubnet();
  m.adoptExisting();

  // Networks a killed daemon was making or unmaking.
  for (const net of store.networks()) {
    if (net.status === 'creating') {
      await m.dropBridge(net.id).catch((err) => log.warn('cannot remove a half-made bridge', { network: net.name, err: (err as Error).message }));
      m.releaseSubnet(net.subnet);
      store.tx(() => {
        for (const e of store.endpointsOn(net.id)) store.deleteEndpoint(e.container_id, net.id);
        store.deleteNetwork(net.id);
      });
      log.info('rolled back an interrupted network create', { network: net.name });
    } else if (net.status === 'removing') {
      await service.removeRow(net);
      log.info('finished an interrupted network removal', { network: net.name });
    }
  }

  // Endpoints of containers that are gone; leases, ports and namespaces of containers that do not run.
  const running = new Set(containers.list().filter((r) => r.status === 'running' || r.status === 'paused').map((r) => r.id));
  for (const e of store.leases()) {
    if (!containers.get(e.container_id)) store.deleteEndpoint(e.container_id, e.network_id);
  }
  const idle = new Set<string>();
  for (const e of store.leases()) if (!running.has(e.container_id)) idle.add(e.container_id);
  for (const b of store.portBindings()) if (!running.has(b.container_id)) idle.add(b.container_id);
  if (existsSync(names.netnsDir)) for (const f of readdirSync(names.netnsDir)) if (!running.has(f)) idle.add(f);
  for (const id of idle) {
    await sandbox.teardown(id).catch((err) => log.warn('cannot release the network of a stopped container', { id, err: (err as Error).message }));
    if (!containers.get(id)) store.deleteEndpointsOf(id);
    log.info('released the network of a container that does not run', { id });
  }

  // Kernel objects nobody claims: host-side veths of this stack, bridges of no network.
  const veths = new Set(store.leases().map((e) => e.veth));
  for (const ifname of readdirSync(SYS_NET)) {
    if (ifname.startsWith(names.vethPrefix) && !veths.has(ifname)) {
      await kernel.run([['link-delete', { name: ifname }]]).catch(() => undefined);
      log.info('removed a veth without a lease', { ifname });
    }
  }
  for (const bridge of m.strayBridges()) {
    await kernel.run([['bridge-delete', { name: bridge }]]).catch(() => undefined);
    log.info('removed a bridge without a network', { bridge });
  }

  // Host-wide records of this stack that the daemon's records no longer hold.
  const subnets = new Set(store.networks().map((n) => n.subnet).filter(Boolean));
  const withPorts = new Set(store.portBindings().map((b) => b.container_id));
  registry.exclusive(() => {
    for (const s of registry.ownSubnets()) if (!subnets.has(s.cidr)) registry.releaseSubnet(s.cidr);
    for (const p of registry.ownPorts()) if (!withPorts.has(p.container)) registry.releasePortsOf(p.container);
  });

  // User networks have their bridge and resolver (again, after a reboot or a daemon restart); the rules follow.
  for (const net of store.networks()) {
    if (net.driver === 'bridge' && net.name !== 'bridge' && net.status === 'ready') {
      await m.ensureBridge(net.id).catch((err) => log.warn('cannot bring a network up', { network: net.name, err: (err as Error).message }));
    }
  }
  if (store.networks().some((n) => m.isUp(n.id))) await m.applyFirewall();
  else await firewall.removeAll();
  m.restoreForwarding();
}

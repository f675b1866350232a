/**
 * Wiring of the daemon's networks (network/) and volumes (volumes/): built once in main.ts, given
 * to the lifecycle (networking, mounts), reconciled after the containers at start, served as the
 * Networks and Volumes gRPC services, shut down with the daemon.
 */
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Config } from '../../common/config.js';
import type { Db } from '../../common/db.js';
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { ProtoGrpcType as DaemonProto } from '../../common/proto-types/daemon.js';
import { containerExtras } from './containerExtras.js';
import { containerPaths } from './containerFiles.js';
import type { KeyedLock } from './locks.js';
import { Firewall } from './network/firewall.js';
import { networksHandlers } from './network/grpc.js';
import { KernelNet } from './network/kernel.js';
import { NetworkManager } from './network/manager.js';
import { netNames } from './network/names.js';
import { reconcileNetworks } from './network/reconcile.js';
import { HostRegistry } from './network/registry.js';
import { ContainerNetworking } from './network/sandbox.js';
import { NetworkService } from './network/service.js';
import { NetworkStore } from './network/store.js';
import type { ContainerStore } from './store.js';
import { ContainerMounts } from './volumes/containerMounts.js';
import { volumesHandlers } from './volumes/grpc.js';
import { VolumeService } from './volumes/service.js';
import { VolumeStore } from './volumes/store.js';
import { useContainerExtras } from './views.js';

export interface NetworksAndVolumes {
  networking: ContainerNetworking;
  mounts: ContainerMounts;
  volumes: VolumeService;
  /** After the containers' reconciliation, before serving. */
  reconcile(locks: KeyedLock): Promise<void>;
  /** The Networks and Volumes services, for serve(). */
  services(pkg: DaemonProto['tersane']['daemon']['v1']): Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>;
  stop(): Promise<void>;
}

export function networksAndVolumes(deps: { cfg: Config; log: Logger; db: Db; bus: EventBus; containers: ContainerStore }): NetworksAndVolumes {
  const { cfg, log, db, bus, containers } = deps;
  const stateDir = cfg.layerState('daemon');
  const names = netNames(cfg);
  const manager = new NetworkManager({
    log,
    store: new NetworkStore(db),
    containers,
    names,
    registry: new HostRegistry(cfg.stateDir),
    kernel: new KernelNet(cfg.nativeBinary('tersane-net')),
    firewall: new Firewall(names.chains, log),
  });
  const networking = new ContainerNetworking(manager, { log, bus, containers, paths: (id) => containerPaths(stateDir, id) });
  const volumes = new VolumeService({ log, bus, store: new VolumeStore(db), containers, dir: join(stateDir, 'volumes') });
  const mounts = new ContainerMounts(volumes, containers, join(stateDir, 'tmp'), log);
  useContainerExtras(containerExtras(networking, mounts));
  let service: NetworkService | undefined;
  // The predefined networks exist before any create can name them.
  manager.ensurePredefined();
  return {
    networking,
    mounts,
    volumes,
    async reconcile(locks) {
      service = new NetworkService(manager, networking, { log, bus, containers, locks });
      try {
        await reconcileNetworks({ manager, sandbox: networking, service, containers, log });
      } catch (err) {
        // Containers on host or none networks still work; bridge networking reports its own errors.
        log.error('network reconciliation failed', { err: (err as Error).message });
      }
    },
    services(pkg) {
      if (!service) throw new Error('networks: reconcile() first');
      return [
        [pkg.Networks.service, networksHandlers(service) as unknown as grpc.UntypedServiceImplementation],
        [pkg.Volumes.service, volumesHandlers(volumes) as unknown as grpc.UntypedServiceImplementation],
      ];
    },
    async stop() {
      await manager.shutdown();
    },
  };
}

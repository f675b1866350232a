/**
 * The networks' and volumes' part of a container's inspect and list documents (views.ts): its
 * NetworkSettings, Ports, Mounts and the networks it is on.
 */
import type { ContainerNetworking } from './network/sandbox.js';
import type { ContainerExtras } from './views.js';
import type { ContainerMounts } from './volumes/containerMounts.js';

export function containerExtras(networking: ContainerNetworking, mounts: ContainerMounts): ContainerExtras {
  return {
    networkSettings: (row, full) => networking.settings(row, full),
    mounts: (row) => mounts.inspect(row),
    ports: (row) => networking.listPorts(row),
    networks: (row) => networking.networkNames(row),
  };
}

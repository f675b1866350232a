/**
 * The networks and volumes backends over the daemon's Networks and Volumes services: the api side
 * of proto/daemon.proto for `docker network …` and `docker volume …`.
 */
import type { DaemonClients } from '../daemon/client.js';
import type { NetworksBackend } from './networks/backend.js';
import type { VolumesBackend } from './volumes/backend.js';

export function daemonNetworksBackend(daemon: DaemonClients): NetworksBackend {
  const n = daemon.networks;
  return {
    async create(body) {
      return (await n.call('Create', { config_json: body })).json;
    },
    async inspect(id) {
      return (await n.call('Inspect', { id })).json;
    },
    async list(filters) {
      return (await n.call('List', { filters })).json;
    },
    async remove(id) {
      await n.call('Remove', { id });
    },
    async connect(id, body) {
      await n.call('Connect', { network: id, config_json: body });
    },
    async disconnect(id, body) {
      await n.call('Disconnect', { network: id, config_json: body });
    },
    async prune(filters) {
      return (await n.call('Prune', { filters })).json;
    },
  };
}

export function daemonVolumesBackend(daemon: DaemonClients): VolumesBackend {
  const v = daemon.volumes;
  return {
    async create(body) {
      return (await v.call('Create', { config_json: body })).json;
    },
    async inspect(name) {
      return (await v.call('Inspect', { name })).json;
    },
    async list(filters) {
      return (await v.call('List', { filters })).json;
    },
    async remove(name, force) {
      await v.call('Remove', { name, force });
    },
    async prune(filters, apiVersion) {
      return (await v.call('Prune', { filters, api_version: apiVersion })).json;
    },
  };
}

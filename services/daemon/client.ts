/**
 * The daemon's typed client, for the layer above (services/api).
 *
 * @example
 *   const daemon = connectDaemon(loadConfig());
 *   const { id } = await daemon.containers.call('Create', { name: 'ctr1', config_json: Buffer.from(body) });
 *   const stream = daemon.containers.raw.Wait({ id, condition: 'next-exit' }, daemon.containers.metadata());
 */
import type { Config } from '../../common/config.js';
import { connect, loadContract, type LayerClient } from '../../common/grpc.js';
import type { ProtoGrpcType as DaemonProto } from '../../common/proto-types/daemon.js';
import type { ContainersClient } from '../../common/proto-types/tersane/daemon/v1/Containers.js';
import type { ImagesClient } from '../../common/proto-types/tersane/daemon/v1/Images.js';
import type { NetworksClient } from '../../common/proto-types/tersane/daemon/v1/Networks.js';
import type { VolumesClient } from '../../common/proto-types/tersane/daemon/v1/Volumes.js';
import type { SystemClient } from '../../common/proto-types/tersane/daemon/v1/System.js';

export interface DaemonClients {
  containers: LayerClient<ContainersClient>;
  images: LayerClient<ImagesClient>;
  system: LayerClient<SystemClient>;
  networks: LayerClient<NetworksClient>;
  volumes: LayerClient<VolumesClient>;
  close(): void;
}

export function connectDaemon(cfg: Config): DaemonClients {
  const pkg = loadContract<DaemonProto>('daemon').tersane.daemon.v1;
  const socket = cfg.socket('daemon');
  const containers = connect('daemon', socket, pkg.Containers, cfg.layerWaitMs);
  const images = connect('daemon', socket, pkg.Images, cfg.layerWaitMs);
  const system = connect('daemon', socket, pkg.System, cfg.layerWaitMs);
  const networks = connect('daemon', socket, pkg.Networks, cfg.layerWaitMs);
  const volumes = connect('daemon', socket, pkg.Volumes, cfg.layerWaitMs);
  return {
    containers,
    images,
    system,
    networks,
    volumes,
    close() {
      containers.close();
      images.close();
      system.close();
      networks.close();
      volumes.close();
    },
  };
}

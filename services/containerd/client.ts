/**
 * containerd's typed client, for the layer above (services/daemon).
 *
 * @example
 *   const containerd = connectContainerd(loadConfig());
 *   const image = await containerd.images.call('Get', { ref: 'busybox' });
 */
import type { Config } from '../../common/config.js';
import { connect, loadContract, type LayerClient } from '../../common/grpc.js';
import type { ProtoGrpcType as ContainerdProto } from '../../common/proto-types/containerd.js';
import type { ContainersClient } from '../../common/proto-types/tersane/containerd/v1/Containers.js';
import type { ImagesClient } from '../../common/proto-types/tersane/containerd/v1/Images.js';
import type { TasksClient } from '../../common/proto-types/tersane/containerd/v1/Tasks.js';

export interface ContainerdClients {
  images: LayerClient<ImagesClient>;
  containers: LayerClient<ContainersClient>;
  tasks: LayerClient<TasksClient>;
  close(): void;
}

export function connectContainerd(cfg: Config): ContainerdClients {
  const pkg = loadContract<ContainerdProto>('containerd').tersane.containerd.v1;
  const socket = cfg.socket('containerd');
  const images = connect('containerd', socket, pkg.Images, cfg.layerWaitMs);
  const containers = connect('containerd', socket, pkg.Containers, cfg.layerWaitMs);
  const tasks = connect('containerd', socket, pkg.Tasks, cfg.layerWaitMs);
  return {
    images,
    containers,
    tasks,
    close() {
      images.close();
      containers.close();
      tasks.close();
    },
  };
}

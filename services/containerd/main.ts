/**
 * The containerd service: images and their content, overlayfs snapshots, container metadata and
 * OCI bundles, tasks through the shim. Wiring only: stores → services → reconcile → serve.
 */
import { join } from 'node:path';
import { loadContract, serve, shutdown } from '../../common/grpc.js';
import type { ProtoGrpcType } from '../../common/proto-types/containerd.js';
import { runService } from '../../common/service.js';
import { Trash } from '../../common/trash.js';
import { connectShim } from '../shim/client.js';
import { ContainerService } from './containers.js';
import { ContentStore } from './content.js';
import { ContainerFiles } from './files/files.js';
import { containersHandlers, imagesHandlers, tasksHandlers } from './grpc.js';
import { ImageService } from './images.js';
import { Mutex } from './lock.js';
import { reconcile } from './reconcile.js';
import { Snapshotter } from './snapshots.js';
import { readHostFacts } from './spec.js';
import { CONTAINERD_MIGRATIONS, Store } from './store.js';
import { TaskService } from './tasks.js';
import { containerdMetrics } from './metrics.js';

runService({
  layer: 'containerd',
  migrations: CONTAINERD_MIGRATIONS,
  async start(ctx) {
    // Registered before serving, so every series exists from the first scrape.
    containerdMetrics();
    const dir = ctx.config.layerState('containerd');
    const unpack = ctx.config.nativeBinary('tersane-unpack');
    const store = new Store(ctx.db);
    const content = new ContentStore(join(dir, 'content'));
    const trash = new Trash(join(dir, 'trash'), ctx.log);
    await trash.empty();
    const snapshots = new Snapshotter(join(dir, 'snapshots'), store, unpack, trash);
    const images = new ImageService(store, content, snapshots, ctx.events, new Mutex());
    const shim = connectShim(ctx.config);
    const containers = new ContainerService(images, dir, shim, ctx.config.cgroupParent, readHostFacts(), ctx.config.nativeBinary('tersane-init'));
    const tasks = new TaskService(containers, shim);
    const files = new ContainerFiles(images, containers, shim, ctx.config.nativeBinary('tersane-archive'));

    reconcile(images, containers, ctx.log);

    const contract = loadContract<ProtoGrpcType>('containerd').tersane.containerd.v1;
    const server = await serve(ctx.config.socket('containerd'), [
      [contract.Images.service, imagesHandlers(images, unpack, files) as never],
      [contract.Containers.service, containersHandlers(containers, files) as never],
      [contract.Tasks.service, tasksHandlers(tasks) as never],
    ]);
    return {
      stop: async () => {
        await shutdown(server);
        shim.close();
      },
    };
  },
});

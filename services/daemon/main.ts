/**
 * The daemon layer's entry point: Docker's object model over containerd. Wires the store, the
 * lifecycle, the attach hub, images and system, reconciles with containerd, starts the durable
 * task-exit consumer, then serves proto/daemon.proto on its unix socket.
 */
import { loadContract, serve, shutdown } from '../../common/grpc.js';
import type { ProtoGrpcType as DaemonProto } from '../../common/proto-types/daemon.js';
import { runService } from '../../common/service.js';
import { connectContainerd } from '../containerd/client.js';
import { AttachHubs } from './attach.js';
import { containersHandlers, imagesHandlers, systemHandlers } from './grpc.js';
import { imagesRegistryHandlers, systemRegistryHandlers } from './grpcRegistry.js';
import { ImageService } from './images.js';
import { RegistryService } from './registry.js';
import { Lifecycle, type LifecycleDeps } from './lifecycle.js';
import { consumeExits, reconcileAtStart, watchReconnects } from './reconcile.js';
import { ContainerStore, DAEMON_MIGRATIONS } from './store.js';
import { DaemonMetrics } from './metrics.js';
import { SystemService } from './system.js';
import { Waiters } from './waiters.js';
import { networksAndVolumes } from './networksAndVolumes.js';
import { ExecService } from './execs.js';
import { HealthMonitor } from './health.js';
import { containerOpsHandlers } from './grpcOps.js';
import { initDaemonSecurity } from './security.js';

/** Pause between attempts to reconcile while containerd is not reachable yet. */
const RECONCILE_RETRY_MS = 1000;

runService({
  layer: 'daemon',
  migrations: DAEMON_MIGRATIONS,
  async start(ctx) {
    const { config: cfg, log, db, events } = ctx;
    // Security options (no-new-privileges default, userns-remap) before anything runs a container.
    initDaemonSecurity(process.env, log);
    const containerd = connectContainerd(cfg);
    const store = new ContainerStore(db);
    const waiters = new Waiters();
    let lifecycle!: Lifecycle;
    const hubs = new AttachHubs(
      containerd,
      log,
      (id, exit) => {
        void lifecycle.applyExit(id, exit, 'upstream').catch((err) => log.warn('cannot apply an exit seen on attach', { id, err }));
      },
      (id) => {
        const row = store.get(id);
        return row !== undefined && row.status === 'running';
      },
    );
    const metrics = new DaemonMetrics(ctx.metrics, store);
    const netvol = networksAndVolumes({ cfg, log, db, bus: events, containers: store });
    const deps: LifecycleDeps = { cfg, log, store, bus: events, containerd, waiters, hubs, metrics, networking: netvol.networking, mounts: netvol.mounts };
    lifecycle = new Lifecycle(deps);
    const images = new ImageService(containerd, store, events);
    const system = new SystemService(cfg, db, store, containerd);
    const registry = new RegistryService(containerd, store, events);
    const execs = new ExecService(deps);
    const health = new HealthMonitor(deps, execs);
    lifecycle.observers.push((id, change) => {
      health.change(id, change);
      if (change === 'remove') execs.forget(id);
    });

    await lifecycle.trash.empty();
    // Reconcile before serving: until containerd answers, the daemon does not pretend to know.
    for (;;) {
      try {
        await reconcileAtStart(deps, lifecycle);
        break;
      } catch (err) {
        log.warn('reconciliation with containerd failed; retrying', { err });
        await new Promise((r) => setTimeout(r, RECONCILE_RETRY_MS));
      }
    }
    await netvol.reconcile(lifecycle.locks);
    consumeExits(events, lifecycle, log);
    const stopWatching = watchReconnects(events, deps, lifecycle);
    health.resumeAll();

    const pkg = loadContract<DaemonProto>('daemon').tersane.daemon.v1;
    const server = await serve(cfg.socket('daemon'), [
      [pkg.Containers.service, { ...containersHandlers(deps, lifecycle, hubs, images, (id) => execs.idsOf(id)), ...containerOpsHandlers(deps, lifecycle, execs) }],
      [pkg.Images.service, { ...imagesHandlers(images), ...imagesRegistryHandlers(registry, images, store, events, log) }],
      [pkg.System.service, { ...systemHandlers(system), ...systemRegistryHandlers(registry, { containerd, store }) }],
      ...netvol.services(pkg),
    ]);
    return {
      async stop() {
        stopWatching();
        health.stopAll();
        await shutdown(server);
        await netvol.stop();
        containerd.close();
      },
    };
  },
});

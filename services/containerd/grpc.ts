/**
 * containerd's gRPC adapter: translates the Images, Containers and Tasks contracts
 * (proto/containerd.proto) to the services' calls. No logic lives here.
 */
import { duplex, serverStream, unary } from '../../common/grpc.js';
import { serviceMetrics } from '../../common/metrics.js';
import type { Chunk__Output } from '../../common/proto-types/tersane/common/v1/Chunk.js';
import type { ContainersHandlers } from '../../common/proto-types/tersane/containerd/v1/Containers.js';
import type { ImagesHandlers } from '../../common/proto-types/tersane/containerd/v1/Images.js';
import type { TasksHandlers } from '../../common/proto-types/tersane/containerd/v1/Tasks.js';
import type { ContainerService } from './containers.js';
import { exportArchive } from './export.js';
import type { ImageService } from './images.js';
import { loadArchive } from './load.js';
import { registryHandlers } from './registry/handlers.js';
import type { ContainerFiles } from './files/files.js';
import { commitHandlers, fileHandlers } from './files/handlers.js';
import type { TaskService } from './tasks.js';
import { dataOf, messagesOf, writeMessage } from '../../common/grpc-streams.js';

/** Export output is sent in messages of about this size (headers and padding coalesced). */
const EXPORT_CHUNK = 256 * 1024;

export function imagesHandlers(images: ImageService, unpackBinary: string, files: ContainerFiles): ImagesHandlers {
  return {
    Load: duplex(async (call) => {
      const loaded = await loadArchive(images, dataOf(messagesOf<Chunk__Output>(call)), (p) => call.write(p));
      for (const l of loaded) await writeMessage(call, { loaded: l });
    }),
    Export: serverStream(async (req, call) => {
      let pending: Buffer[] = [];
      let size = 0;
      const flush = async () => {
        if (size === 0) return;
        const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        pending = [];
        size = 0;
        await writeMessage(call, { data });
      };
      await exportArchive(images, req.refs, unpackBinary, async (chunk) => {
        if (chunk.length >= EXPORT_CHUNK) {
          await flush();
          await writeMessage(call, { data: chunk });
          return;
        }
        pending.push(chunk);
        size += chunk.length;
        if (size >= EXPORT_CHUNK) await flush();
      });
      await flush();
    }),
    List: unary(async () => ({ images: images.list() })),
    Get: unary(async (req) => images.get(req.ref)),
    Tag: unary(async (req) => images.tag(req.source, req.name)),
    Untag: unary(async (req) => images.untag(req.name)),
    Delete: unary(async (req) => images.delete(req.id)),
    ...registryHandlers(images, unpackBinary),
    ...commitHandlers(files),
  };
}

export function containersHandlers(containers: ContainerService, files: ContainerFiles): ContainersHandlers {
  return {
    Create: unary(async (req) => {
      const info = await containers.create({ id: req.id, image: req.image, spec: req.spec ?? ({} as never), labels: req.labels ?? {} });
      const m = serviceMetrics();
      m?.observePhaseNs('containerd_snapshot', Number(info.snapshot?.begin_ns ?? 0), Number(info.snapshot?.end_ns ?? 0));
      m?.observePhaseNs('containerd_spec', Number(info.spec?.begin_ns ?? 0), Number(info.spec?.end_ns ?? 0));
      return info;
    }),
    Delete: unary(async (req) => {
      await containers.delete(req.id, req.with_task);
      return {};
    }),
    Get: unary(async (req) => containers.get(req.id)),
    List: unary(async () => ({ containers: containers.list() })),
    Update: unary(async (req) => containers.update(req.id, req.resources ?? ({} as never))),
    ...fileHandlers(files),
  };
}

export function tasksHandlers(tasks: TaskService): TasksHandlers {
  return {
    Create: unary(async (req) => {
      const begin = process.hrtime.bigint();
      const task = await tasks.create(req);
      serviceMetrics()?.startPhaseSeconds.observe({ phase: 'containerd_task' }, Number(process.hrtime.bigint() - begin) / 1e9);
      return task;
    }),
    Start: unary(async (req) => tasks.start(req.container_id)),
    Kill: unary(async (req) => {
      await tasks.kill(req.container_id, req.signal, req.all);
      return {};
    }),
    Delete: unary(async (req) => tasks.delete(req.container_id, req.force)),
    Wait: unary(async (req) => tasks.wait(req.container_id)),
    Get: unary(async (req) => tasks.get(req.container_id)),
    List: unary(async () => tasks.list()),
    Attach: duplex((call) => tasks.attach(call)),
    Resize: unary(async (req) => {
      await tasks.resize(req.id, req.rows, req.cols);
      return {};
    }),
    Exec: duplex((call) => tasks.exec(call)),
    ResizeExec: unary(async (req) => {
      await tasks.resizeExec(req.id, req.exec_id, req.rows, req.cols);
      return {};
    }),
    KillExec: unary(async (req) => {
      await tasks.killExec(req.id, req.exec_id, req.signal);
      return {};
    }),
    Pause: unary(async (req) => {
      await tasks.pause(req.container_id, true);
      return {};
    }),
    Resume: unary(async (req) => {
      await tasks.pause(req.container_id, false);
      return {};
    }),
    Stats: unary(async (req) => tasks.stats(req.container_id)),
    Pids: unary(async (req) => tasks.pids(req.container_id)),
    Update: unary(async (req) => {
      await tasks.update(req.container_id, req.resources ?? ({} as never));
      return {};
    }),
  };
}

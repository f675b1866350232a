/**
 * Tasks: a pass-through to the shim, adding what only containerd knows — the container's bundle
 * and its rootfs mount (the overlay of its active snapshot on the image's layers).
 */
import type * as grpc from '@grpc/grpc-js';
import { streamError, type LayerClient } from '../../common/grpc.js';
import type { AttachInput__Output } from '../../common/proto-types/tersane/common/v1/AttachInput.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { AttachOutput__Output } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExitStatus__Output } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import type { TaskInfo__Output } from '../../common/proto-types/tersane/common/v1/TaskInfo.js';
import type { CreateTaskRequest__Output } from '../../common/proto-types/tersane/containerd/v1/CreateTaskRequest.js';
import type { ShimClient } from '../../common/proto-types/tersane/shim/v1/Shim.js';
import type { ContainerService } from './containers.js';

export class TaskService {
  constructor(
    private readonly containers: ContainerService,
    private readonly shim: LayerClient<ShimClient>,
  ) {}

  create(req: CreateTaskRequest__Output): Promise<TaskInfo__Output> {
    const row = this.containers.row(req.container_id);
    return this.shim.call('CreateTask', {
      id: row.id,
      bundle: this.containers.bundle(row.id),
      rootfs: [this.containers.rootfsMount(row)],
      terminal: req.terminal,
      stdin: req.stdin,
      log_path: req.log_path,
      log_max_size: req.log_max_size,
      log_max_files: req.log_max_files,
      runtime: req.runtime,
    });
  }

  start(id: string): Promise<TaskInfo__Output> {
    return this.shim.call('StartTask', { id });
  }
  kill(id: string, signal: number, all: boolean): Promise<unknown> {
    return this.shim.call('KillTask', { id, signal, all });
  }
  delete(id: string, force: boolean): Promise<ExitStatus__Output> {
    return this.shim.call('DeleteTask', { id, force });
  }
  wait(id: string): Promise<ExitStatus__Output> {
    return this.shim.call('WaitTask', { id });
  }
  get(id: string): Promise<TaskInfo__Output> {
    return this.shim.call('GetTask', { id });
  }
  list(): Promise<{ tasks: TaskInfo__Output[] }> {
    return this.shim.call('ListTasks', {});
  }
  resize(id: string, rows: number, cols: number): Promise<unknown> {
    return this.shim.call('ResizeTask', { id, rows, cols });
  }

  /**
   * Bidirectional pass-through of a task's stdio: the client's messages go to the shim in order,
   * the shim's come back in order; either side ending or cancelling ends the other.
   */
  attach(call: grpc.ServerDuplexStream<AttachInput__Output, AttachOutput>): Promise<void> {
    const upstream = this.shim.raw.AttachTask(this.shim.metadata());
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        if (err) reject(streamError('shim', err));
        else resolve();
      };
      upstream.on('data', (msg: AttachOutput__Output) => {
        // Back-pressure: stop reading the shim while the client is slow.
        if (!call.write(msg)) {
          upstream.pause();
          call.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => finish());
      upstream.on('error', (err) => finish(err));
      call.on('data', (msg: AttachInput__Output) => {
        if (!upstream.write(msg)) {
          call.pause();
          upstream.once('drain', () => call.resume());
        }
      });
      call.on('end', () => upstream.end());
      call.on('cancelled', () => {
        upstream.cancel();
        finish();
      });
      call.on('error', () => upstream.cancel());
    });
  }
}

/**
 * Tasks: a pass-through to the shim, adding what only containerd knows — the container's bundle
 * and its rootfs mount (the overlay of its active snapshot on the image's layers), an exec's OCI
 * process (from the container's spec), and the container's cgroup (stats, pids, live limits:
 * cgroups.ts reads and writes its files directly, whatever the runtime).
 */
import type * as grpc from '@grpc/grpc-js';
import { readFileSync, readlinkSync } from 'node:fs';
import { totalmem } from 'node:os';
import { EngineError, failedPrecondition } from '../../common/errors.js';
import { streamError, type LayerClient } from '../../common/grpc.js';
import type { ExecInput, ExecInput__Output } from '../../common/proto-types/tersane/common/v1/ExecInput.js';
import type { Resources__Output as Resources } from '../../common/proto-types/tersane/containerd/v1/Resources.js';
import type { TaskStats } from '../../common/proto-types/tersane/containerd/v1/TaskStats.js';
import { applyCgroupResources, cgroupPids, detectCgroups, parseNetDev, readCgroupStats, systemCpuUsage, type Cgroups, type NetworkCounters } from './cgroups.js';
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
    private readonly cgroups: Cgroups = detectCgroups(),
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
      start: req.start,
      attachments: req.attachments,
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
  resizeExec(id: string, execId: string, rows: number, cols: number): Promise<unknown> {
    return this.shim.call('ResizeExec', { id, exec_id: execId, rows, cols });
  }
  killExec(id: string, execId: string, signal: number): Promise<unknown> {
    return this.shim.call('KillExec', { id, exec_id: execId, signal });
  }
  pause(id: string, pause: boolean): Promise<unknown> {
    return this.shim.call(pause ? 'PauseTask' : 'ResumeTask', { id });
  }

  /** One sample of the task's cgroup, the host's CPU time, and the container's network counters. */
  async stats(id: string): Promise<TaskStats> {
    const cgroupsPath = this.containers.cgroupsPath(id);
    const task = await this.shim.call('GetTask', { id });
    if (task.status !== 'running') throw failedPrecondition(`task ${id} is not running`);
    const readNs = Date.now() * 1e6;
    const cg = readCgroupStats(this.cgroups, cgroupsPath, totalmem());
    const system = systemCpuUsage(readFileSync('/proc/stat', 'utf8'));
    return {
      read_ns: readNs,
      cgroup_v2: this.cgroups.v2,
      cpu: cg.cpu,
      system_cpu_usage: system.usage,
      online_cpus: system.onlineCpus,
      memory: cg.memory,
      pids_current: cg.pids_current,
      pids_limit: cg.pids_limit,
      io_service_bytes: cg.io_service_bytes,
      io_serviced: cg.io_serviced,
      networks: containerNetworks(task.pid),
    };
  }

  pids(id: string): { pids: number[] } {
    return { pids: cgroupPids(this.cgroups, this.containers.cgroupsPath(id)) };
  }

  /** New limits for a running task, straight into its cgroup. */
  async update(id: string, r: Resources): Promise<void> {
    const task = await this.shim.call('GetTask', { id });
    if (task.status === 'stopped') throw failedPrecondition(`task ${id} is not running`);
    applyCgroupResources(this.cgroups, this.containers.cgroupsPath(id), {
      memory: Number(r.memory),
      memory_reservation: Number(r.memory_reservation),
      memory_swap: Number(r.memory_swap),
      cpu_shares: Number(r.cpu_shares),
      cpu_quota: Number(r.cpu_quota),
      cpu_period: Number(r.cpu_period),
      cpuset_cpus: r.cpuset_cpus,
      cpuset_mems: r.cpuset_mems,
      pids_limit: Number(r.pids_limit),
      blkio_weight: Number(r.blkio_weight),
    });
  }

  /**
   * An exec: the first message's ExecProcess becomes the OCI process (ContainerService.execProcess)
   * sent on to the shim; then a pass-through both ways, like attach.
   */
  exec(call: grpc.ServerDuplexStream<ExecInput__Output, AttachOutput>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let upstream: grpc.ClientDuplexStream<ExecInput, AttachOutput__Output> | undefined;
      let done = false;
      const early: ExecInput__Output[] = [];
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        if (err) reject(err instanceof EngineError ? err : streamError('shim', err));
        else resolve();
      };
      const forward = (msg: ExecInput__Output) => {
        if (!upstream) return void early.push(msg);
        if (!upstream.write(msg)) {
          call.pause();
          upstream.once('drain', () => call.resume());
        }
      };
      call.on('data', (msg: ExecInput__Output) => {
        if (upstream || early.length > 0 || msg.input !== 'open') return forward(msg);
        const open = msg.open!;
        let processJson: Buffer;
        try {
          processJson = Buffer.from(JSON.stringify(this.containers.execProcess(open.id, open.process ?? ({} as never))));
        } catch (err) {
          return finish(err);
        }
        upstream = this.shim.raw.ExecProcess(this.shim.metadata());
        upstream.on('data', (out: AttachOutput__Output) => {
          if (!call.write(out)) {
            upstream!.pause();
            call.once('drain', () => upstream!.resume());
          }
        });
        upstream.on('end', () => finish());
        upstream.on('error', (err) => finish(err));
        upstream.write({ open: { id: open.id, exec_id: open.exec_id, stdin: open.stdin, terminal: Boolean(open.process?.terminal), process_json: processJson } });
        for (const m of early.splice(0)) forward(m);
      });
      call.on('end', () => {
        if (upstream) upstream.end();
        else finish();
      });
      call.on('cancelled', () => {
        upstream?.cancel();
        finish();
      });
      call.on('error', () => upstream?.cancel());
    });
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

/**
 * The container's interfaces (loopback left out) as its network namespace counts them; none when
 * it shares the host's namespace (Docker shows no networks for --network host).
 */
function containerNetworks(pid: number): NetworkCounters[] {
  if (!pid) return [];
  try {
    if (readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) return [];
    return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return [];
  }
}

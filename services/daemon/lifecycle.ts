/**
 * The container state machine: create, start, stop, kill, restart, remove, prune, and applying
 * exits. Every state change is one SQLite transaction carrying its Docker event; operations on one
 * container are serialized (KeyedLock); the layer below is containerd (Containers, Tasks).
 *
 *   creating ─► created ─start─► running ─exit─► exited ─start─► running …
 *                  │                 │                │
 *                  └──── remove ─────┴── remove -f ───┴──► removing ─► (gone)
 *
 * Exits arrive by several paths, all applied idempotently (only while the row says running with
 * that task's pid): the attach upstream (fast), Tasks.Wait in stop/kill/remove (never blocks on
 * NATS), the durable NATS consumer, and reconciliation against containerd.
 */
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { EngineError, conflict, failedPrecondition, internal, invalidArgument, notFound } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { Config } from '../../common/config.js';
import type { ExitStatus__Output } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import type { TaskInfo__Output } from '../../common/proto-types/tersane/common/v1/TaskInfo.js';
import { familiarName, isFullId, normalizeName, parseReference } from '../../common/reference.js';
import { formatRfc3339Nano, nowNs, nowRfc3339Nano, parseRfc3339Nano, ZERO_TIME } from '../../common/time.js';
import { Trash } from '../../common/trash.js';
import type { ContainerdClients } from '../containerd/client.js';
import type { AttachHubs } from './attach.js';
import { containerPaths, removeContainerFiles, writeContainerFiles } from './containerFiles.js';
import {
  entrypointAndArgs,
  logLimits,
  mergeImageConfig,
  parseCreateBody,
  type DockerConfig,
  type HostConfig,
  type ImageRunConfig,
} from './createConfig.js';
import { recordContainerEvent, recordDockerEvent } from './dockerEvents.js';
import { parseFilters, parseTimestampFilter } from './filters.js';
import { KeyedLock } from './locks.js';
import { findContainer } from './lookup.js';
import { generateName, NAME_ATTEMPTS, newContainerId, shortId, validateName } from './names.js';
import { parseSignal, SIGKILL } from './signals.js';
import { RestartManager, INITIAL_BACKOFF_MS } from './restartPolicy.js';
import { containerSpec } from './spec.js';
import { prepareUsernsPaths } from './security.js';
import { NetworkSetupError, type ContainerNetworking } from './network/sandbox.js';
import type { ContainerMounts } from './volumes/containerMounts.js';
import type { ResolvedMounts } from './volumes/mounts.js';
import { adaptResources, resourceHost } from './resources.js';
import type { ContainerRow, ContainerStore } from './store.js';
import type { Waiters, WaitCondition, Registration } from './waiters.js';
import type { DaemonMetrics } from './metrics.js';

/** Docker's default stop timeout (seconds) when neither the request nor the container sets one. */
export const DEFAULT_STOP_TIMEOUT_S = 10;
/** After SIGKILL, how long to wait for the exit before giving up (Docker waits 10 s too). */
export const KILL_WAIT_MS = 10_000;
/** Docker's exit code for a start that failed for a reason other than the command. */
/** Retrying an auto-removal a layer below could not do: from this often to this seldom. */
const AUTO_REMOVE_RETRY_MIN_MS = 500;
const AUTO_REMOVE_RETRY_MAX_MS = 30_000;
const EXIT_UNKNOWN = 128;
/** Docker's exit code when a running container's task vanished without an exit status. */
export const EXIT_LOST = 255;

export const RUNNING_STATES = new Set(['running', 'paused', 'restarting']);

/** What the lifecycle's observers are told of, once it is committed. */
export type StateChange = 'start' | 'exit' | 'remove' | 'pause' | 'unpause';

export interface LifecycleDeps {
  cfg: Config;
  log: Logger;
  store: ContainerStore;
  bus: EventBus;
  containerd: ContainerdClients;
  waiters: Waiters;
  hubs: AttachHubs;
  /** Absent in tests that build a Lifecycle without a service around it. */
  metrics?: DaemonMetrics;
  /** Networks: a container's namespace, endpoints and ports (network/sandbox.ts). */
  networking: ContainerNetworking;
  /** Binds, volumes and tmpfs of a container (volumes/containerMounts.ts). */
  mounts: ContainerMounts;
}

export interface CreateRequest {
  name: string;
  configJson: Buffer | string;
  apiVersion: string;
  platform: string;
}

export function isRunning(row: ContainerRow): boolean {
  return RUNNING_STATES.has(row.status);
}

export function parsedConfig(row: ContainerRow): DockerConfig {
  return JSON.parse(row.config) as DockerConfig;
}

export function parsedHostConfig(row: ContainerRow): HostConfig {
  return JSON.parse(row.host_config) as HostConfig;
}

export class Lifecycle {
  readonly locks = new KeyedLock();
  readonly restarts = new RestartManager();
  /** Told after a start, an exit, a removal, a pause or an unpause is committed (health, execs). */
  readonly observers: Array<(id: string, change: StateChange) => void> = [];
  private readonly stateDir: string;
  /** A removed container's directory (its log among others) goes here, to be deleted off the request path. */
  readonly trash: Trash;

  constructor(private readonly d: LifecycleDeps) {
    this.stateDir = d.cfg.layerState('daemon');
    this.trash = new Trash(join(this.stateDir, 'trash'), d.log);
  }

  paths(id: string) {
    return containerPaths(this.stateDir, id);
  }

  // ---- create -----------------------------------------------------------------------------------

  async create(req: CreateRequest): Promise<{ id: string; warnings: string[] }> {
    const { store, containerd, bus } = this.d;
    const body = parseCreateBody(req.configJson);
    const warnings: string[] = [];
    const wantedName = req.name ? validateName(req.name) : undefined;
    if (wantedName) this.ensureNameFree(wantedName);

    const imageRef = body.config.Image;
    if (!imageRef) throw invalidArgument('No image specified: Config.Image is empty');
    const image = await this.getImage(imageRef);
    const imageDoc = JSON.parse(image.config.toString('utf8')) as { config?: ImageRunConfig; os?: string; architecture?: string };
    if (req.platform) this.checkPlatform(imageRef, req.platform, imageDoc);

    const hostConfig = body.hostConfig;
    warnings.push(...adaptResources(hostConfig, resourceHost(), { create: true }));
    const runtime = hostConfig.Runtime || this.d.cfg.defaultRuntime;
    if (!this.d.cfg.runtime(runtime)) throw invalidArgument(`unknown or invalid runtime name: ${runtime}`);
    hostConfig.Runtime = runtime;

    const config = mergeImageConfig(body.config, imageDoc.config);
    config.Image = imageRef;
    const id = newContainerId();
    // Docker's network checks, before anything is made (body.config is the user's, before the merge).
    const network = this.d.networking.plan(body.config, hostConfig, body.networkingConfig, id);
    warnings.push(...network.warnings);
    if (!config.Hostname) config.Hostname = network.hostname ?? (hostConfig.NetworkMode === 'host' ? hostHostname() : id.slice(0, 12));
    const { path, args } = entrypointAndArgs(config);
    const paths = this.paths(id);
    const ns = nowNs();

    const row: ContainerRow = {
      id,
      name: '',
      image: imageRef,
      image_id: image.id,
      created: formatRfc3339Nano(ns),
      created_ns: Number(ns),
      path,
      args: JSON.stringify(args),
      config: JSON.stringify(config),
      host_config: JSON.stringify(hostConfig),
      networking_config: JSON.stringify(body.networkingConfig),
      status: 'creating',
      transition: null,
      pid: 0,
      exit_code: 0,
      error: '',
      oom_killed: 0,
      started_at: ZERO_TIME,
      finished_at: ZERO_TIME,
      restart_count: 0,
      manually_stopped: 0,
      runtime,
    };
    // The row reserves the name (UNIQUE) while the container is prepared; readers skip it.
    row.name = this.reserveName(row, wantedName);

    let containerdCreated = false;
    let mounts: ResolvedMounts | undefined;
    try {
      this.d.networking.record(id, network);
      mounts = this.d.mounts.resolve(id, config, hostConfig);
      this.d.mounts.record(mounts);
      const netns = this.d.networking.netnsFor(network, id);
      const spec = containerSpec({ config, hostConfig, path, args, paths, netns, mounts: mounts.specs });
      writeContainerFiles(paths, {
        hostname: config.Hostname,
        domainname: config.Domainname,
        hostNetwork: hostConfig.NetworkMode === 'host',
        dns: hostConfig.Dns ?? [],
        dnsSearch: hostConfig.DnsSearch ?? [],
        dnsOptions: hostConfig.DnsOptions ?? [],
        extraHosts: hostConfig.ExtraHosts ?? [],
      });
      prepareUsernsPaths(spec, paths.dir, this.d.cfg.stateDir);
      const created = await containerd.containers.call('Create', { id, image: image.id, spec, labels: config.Labels ?? {} });
      containerdCreated = true;
      await this.d.mounts.populate(id, created.rootfs);
      store.tx(() => {
        store.update(id, { status: 'created' });
        recordContainerEvent(bus, 'create', { ...row, status: 'created' });
      });
    } catch (err) {
      // Roll back everything: no containerd container, no dir, no row.
      if (containerdCreated) await containerd.containers.call('Delete', { id }).catch(() => undefined);
      removeContainerFiles(paths);
      this.d.networking.forget(id);
      this.d.mounts.discard(id, mounts);
      store.delete(id);
      throw err;
    }
    return { id, warnings };
  }

  private ensureNameFree(name: string): void {
    const other = this.d.store.getByName(name);
    if (other) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  private reserveName(row: ContainerRow, wanted: string | undefined): string {
    const { store } = this.d;
    const tryInsert = (name: string): boolean => {
      try {
        store.insert({ ...row, name });
        return true;
      } catch (err) {
        if (String((err as Error).message).includes('UNIQUE constraint failed: containers.name')) return false;
        throw err;
      }
    };
    if (wanted) {
      if (!tryInsert(wanted)) this.ensureNameFree(wanted);
      return wanted;
    }
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = `/${generateName(attempt)}`;
      if (tryInsert(name)) return name;
    }
    const fallback = `/${shortId(row.id)}`;
    if (!tryInsert(fallback)) throw internal(`cannot reserve a name for container ${row.id}`);
    return fallback;
  }

  private taskExists(id: string): Promise<boolean> {
    return this.d.containerd.tasks.call('Get', { container_id: id }).then(
      () => true,
      () => false,
    );
  }

  /** The image as containerd has it; Docker's "No such image" otherwise. */
  async getImage(ref: string) {
    if (!isFullId(ref) && !/^[a-f0-9]{1,64}$/.test(ref)) parseReference(ref); // Docker's invalid reference errors
    try {
      return await this.d.containerd.images.call('Get', { ref });
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'not_found') throw notFound(`No such image: ${displayImageRef(ref)}`);
      throw err;
    }
  }

  private checkPlatform(ref: string, platform: string, image: { os?: string; architecture?: string }): void {
    const [os, arch] = platform.split('/');
    const actual = `${image.os ?? 'linux'}/${image.architecture ?? 'amd64'}`;
    const archOk = !arch || normalizeArch(arch) === normalizeArch(image.architecture ?? 'amd64');
    if ((os && os !== (image.os ?? 'linux')) || !archOk) {
      throw notFound(`image with reference ${ref} was found but does not match the specified platform: wanted ${platform}, actual: ${actual}`);
    }
  }

  // ---- start ------------------------------------------------------------------------------------

  async start(ref: string): Promise<{ notModified: boolean }> {
    const first = findContainer(this.d.store, ref);
    return this.locks.run(first.id, () => this.startLocked(first.id, false));
  }

  /**
   * Starts the container: a user's start (`restart` false), or the restart policy's (`restart`
   * true, only while the container is still `restarting`: a stop in between cancelled it).
   */
  private async startLocked(id: string, restart: boolean): Promise<{ notModified: boolean }> {
    const { store, containerd, bus, hubs } = this.d;
    const row = store.get(id);
    if (!row || row.status === 'creating') throw notFound(`No such container: ${id}`);
    if (restart) {
      if (row.status !== 'restarting') return { notModified: true };
    } else {
      if (row.status === 'paused') throw conflict('cannot start a paused container, try unpause instead');
      if (isRunning(row)) return { notModified: true };
      if (row.status === 'removing' || row.status === 'dead') throw conflict('container is marked for removal and cannot be started');
      // A user's start resets the restart policy's count and back-off, as Docker's does.
      this.restarts.forget(id);
      store.update(id, { manually_stopped: 0, restart_count: 0 });
    }

    const config = parsedConfig(row);
    const hostConfig = parsedHostConfig(row);
    const paths = this.paths(id);
    const logging = hostConfig.LogConfig.Type !== 'none';
    let limits: { maxSize: number; maxFiles: number };
    try {
      limits = logLimits(hostConfig.LogConfig);
    } catch (err) {
      // Docker opens the log driver as the task is created: a bad max-size fails the start, not the create.
      const error = invalidArgument(`failed to create task for container: failed to initialize logging driver: ${(err as Error).message}`);
      store.update(id, { exit_code: EXIT_UNKNOWN, error: error.message, ...(restart ? { status: 'exited' as const, finished_at: nowRfc3339Nano() } : {}) });
      if (hostConfig.AutoRemove) await this.autoRemoveLocked(id, true);
      throw error;
    }
    const { maxSize, maxFiles } = limits;
    store.update(id, { transition: 'starting' });
    const startBegin = process.hrtime.bigint();
    let taskCreated = false;
    try {
      // A file bound onto an image directory fails here in Docker's words, whichever the runtime.
      if (this.d.mounts.fileBinds(id).length > 0) this.d.mounts.checkBindTypes(id, (await containerd.containers.call('Get', { id })).rootfs);
      // The namespace, its veths and ports exist before the runtime joins them (network/sandbox.ts).
      await this.d.networking.setup(row);
      const createTask = (start: { start: boolean; attachments: number }) =>
        containerd.tasks.call('Create', {
          container_id: id,
          terminal: config.Tty,
          stdin: config.OpenStdin,
          log_path: logging ? paths.log : '',
          log_max_size: maxSize,
          log_max_files: maxSize > 0 ? maxFiles : 0,
          runtime: row.runtime,
          ...start,
        });
      // Attach before the process runs, so attached clients see all its output: the attachment
      // goes alongside the task's creation, and the shim starts the task once it is in place (one
      // call down the layers for create and start, not two).
      const attachments = hubs.needsUpstream(id) ? 1 : 0;
      const attaching = attachments ? hubs.connect(id, { alongsideCreate: true }) : undefined;
      attaching?.catch(() => undefined);
      let task: TaskInfo__Output | undefined;
      try {
        task = await createTask({ start: true, attachments });
        taskCreated = true;
      } catch (err) {
        // A task there now was made by this call: its start failed.
        if (err instanceof EngineError && err.kind !== 'conflict' && (await this.taskExists(id))) {
          taskCreated = true;
          throw err;
        }
        // A task left from an earlier run (its delete failed or never came) is removed, once.
        if (!(err instanceof EngineError) || (err.kind !== 'conflict' && err.kind !== 'failed_precondition')) throw err;
        await containerd.tasks.call('Delete', { container_id: id, force: true }).catch(() => undefined);
        await createTask({ start: false, attachments: 0 });
        taskCreated = true;
      }
      // A failed first attempt (a retried create) leaves a broken upstream: attach again then.
      await (attaching ?? Promise.resolve()).catch(() => hubs.connect(id));
      if (hubs.hasClients(id)) await hubs.connect(id);
      if (!task) task = await containerd.tasks.call('Start', { container_id: id });
      store.tx(() => {
        store.update(id, {
          status: 'running',
          transition: null,
          pid: task.pid,
          exit_code: 0,
          error: '',
          oom_killed: 0,
          started_at: nowRfc3339Nano(),
        });
        recordContainerEvent(bus, 'start', row);
      });
      this.d.metrics?.startSucceeded(Number(process.hrtime.bigint() - startBegin) / 1e9);
      this.notify(id, 'start');
      return { notModified: false };
    } catch (err) {
      const failure = err instanceof NetworkSetupError ? { exitCode: EXIT_UNKNOWN, error: err } : startFailure(row.path, err, taskCreated ? 'start' : 'create');
      this.d.metrics?.startFailed(failure.error);
      if (taskCreated) await containerd.tasks.call('Delete', { container_id: id, force: true }).catch(() => undefined);
      await this.d.networking.teardown(id).catch((e) => this.d.log.warn('cannot release the network of a failed start', { id, err: e }));
      // A failed restart leaves the container exited; a failed first start leaves it created.
      store.update(id, {
        transition: null,
        exit_code: failure.exitCode,
        error: failure.error.message,
        ...(restart ? { status: 'exited' as const, finished_at: nowRfc3339Nano() } : {}),
      });
      hubs.removed(id);
      if (hostConfig.AutoRemove) {
        // Docker removes an auto-remove container whose start failed (the CLI waits for that).
        await this.autoRemoveLocked(id, true);
      }
      throw failure.error;
    }
  }

  notify(id: string, change: StateChange): void {
    for (const o of this.observers) {
      try {
        o(id, change);
      } catch (err) {
        this.d.log.warn('a state observer failed', { id, change, err });
      }
    }
  }

  // ---- exits ------------------------------------------------------------------------------------

  /** Applies a task exit, from whichever path learnt it first. */
  applyExit(id: string, exit: ExitStatus__Output, from: 'upstream' | 'other' = 'other'): Promise<void> {
    return this.locks.run(id, async () => {
      await this.applyExitLocked(id, exit, { autoRemove: true, from });
    });
  }

  private async applyExitLocked(
    id: string,
    exit: ExitStatus__Output,
    opts: { autoRemove: boolean; from: 'upstream' | 'other' },
  ): Promise<boolean> {
    const { store, containerd, bus, hubs, waiters } = this.d;
    const row = store.get(id);
    if (!row || !isRunning(row)) return false;
    // A restarting container has no task: an exit now is its last task's, applied already (it came
    // by another path too: attach, Wait, NATS, reconciliation) — applying it again would count twice.
    if (row.status === 'restarting') return false;
    if (exit.pid && row.pid && exit.pid !== row.pid) return false; // an older task's exit
    if (!exit.pid && exit.exited_at && row.started_at !== ZERO_TIME && safeNs(exit.exited_at) < safeNs(row.started_at)) return false;
    const finishedAt = exit.exited_at || nowRfc3339Nano();
    const hostConfig = parsedHostConfig(row);
    const startedMs = Date.parse(row.started_at);
    const delay = opts.autoRemove
      ? this.restarts.next(id, hostConfig.RestartPolicy, {
          exitCode: exit.exit_code,
          manuallyStopped: row.manually_stopped === 1,
          restartCount: row.restart_count,
          ranMs: Number.isNaN(startedMs) ? 0 : Date.parse(finishedAt) - startedMs,
        })
      : undefined;
    store.tx(() => {
      store.update(id, {
        status: delay === undefined ? 'exited' : 'restarting',
        pid: 0,
        exit_code: exit.exit_code,
        oom_killed: exit.oom_killed ? 1 : 0,
        finished_at: finishedAt,
        ...(delay === undefined ? {} : { restart_count: row.restart_count + 1 }),
      });
      if (exit.oom_killed) recordContainerEvent(bus, 'oom', row);
      recordContainerEvent(bus, 'die', row, { exitCode: String(exit.exit_code) });
    });
    this.notify(id, 'exit');
    // An auto-removal that follows at once takes the task and the network with the container (on
    // `docker run --rm`'s path they go side by side with containerd's removal); otherwise they go now.
    const removingNow = opts.autoRemove && hostConfig.AutoRemove && delay === undefined;
    if (!removingNow) {
      await Promise.all([
        containerd.tasks.call('Delete', { container_id: id, force: false }).catch((err) => {
          if (!(err instanceof EngineError && err.kind === 'not_found')) this.d.log.warn('cannot delete the exited task', { id, err });
        }),
        // Docker releases a stopped container's network: its namespace, veths, addresses and ports
        // (independent of the task's deletion, so the two run side by side).
        this.d.networking.teardown(id).catch((err) => this.d.log.warn('cannot release the network of an exited container', { id, err })),
      ]);
    }
    if (opts.from === 'other') hubs.exitFromElsewhere(id, exit);
    // Docker wakes stop waiters when a restart begins too.
    waiters.stopped(id, { statusCode: exit.exit_code, error: '' });
    if (delay !== undefined) {
      this.scheduleRestart(id, delay);
      return true;
    }
    if (opts.autoRemove && hostConfig.AutoRemove) await this.autoRemoveLocked(id, false);
    return true;
  }

  /**
   * An auto-removal the daemon owes (--rm). When a layer below is away it cannot happen now: the
   * `removed` waiters (the CLI of `docker run --rm`) are told why instead of waiting without end,
   * and the removal is retried, with back-off, until it is done.
   */
  private async autoRemoveLocked(id: string, force: boolean, attempt = 0): Promise<void> {
    try {
      await this.removeLocked(id, force);
    } catch (err) {
      const row = this.d.store.get(id);
      if (!row) return;
      this.d.log.warn('auto-remove failed; will retry', { id, err });
      if (attempt === 0) {
        this.d.waiters.removed(id, { statusCode: row.exit_code, error: `auto-remove of ${id} failed: ${(err as Error).message}; it will be retried` });
      }
      const delay = Math.min(AUTO_REMOVE_RETRY_MIN_MS * 2 ** attempt, AUTO_REMOVE_RETRY_MAX_MS);
      setTimeout(() => {
        void this.locks.run(id, () => this.autoRemoveLocked(id, true, attempt + 1)).catch(() => undefined);
      }, delay).unref();
    }
  }

  /** The restart policy's start, after its back-off. */
  scheduleRestart(id: string, delayMs: number = INITIAL_BACKOFF_MS): void {
    this.restarts.schedule(id, delayMs, () => {
      void this.locks
        .run(id, () => this.startLocked(id, true))
        .catch((err) => this.d.log.warn('the restart policy could not start the container', { id, err: (err as Error).message }));
    });
  }

  /**
   * A `restarting` container has no task, only a pending restart: stopping it cancels that and
   * leaves it exited with its last exit code. Lock held by caller.
   */
  private cancelRestart(row: ContainerRow): void {
    this.restarts.cancel(row.id);
    this.d.store.tx(() => {
      this.d.store.update(row.id, { status: 'exited', manually_stopped: 1 });
      recordContainerEvent(this.d.bus, 'stop', row);
    });
  }

  /** Waits (bounded) for the task's exit through containerd, then applies it; lock held by caller. */
  private async waitTaskExit(id: string, timeoutMs: number | undefined, pid: number): Promise<ExitStatus__Output | undefined> {
    try {
      const exit = await this.d.containerd.tasks.call('Wait', { container_id: id }, timeoutMs ? { timeoutMs } : {});
      return { ...exit, pid: exit.pid || pid };
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'deadline_exceeded') return undefined;
      // Gone already: its exit was applied by another path (which deleted the task), or it was lost.
      if (err instanceof EngineError && err.kind === 'not_found') return { exit_code: EXIT_LOST, signal: 0, exited_at: nowRfc3339Nano(), oom_killed: false, pid };
      throw err;
    }
  }

  // ---- stop, kill, restart ----------------------------------------------------------------------

  async stop(ref: string, timeoutS: number, signal: string): Promise<{ notModified: boolean }> {
    const row = findContainer(this.d.store, ref);
    if (!isRunning(row)) return { notModified: true };
    const config = parsedConfig(row);
    const sig = parseSignal(signal || config.StopSignal || 'SIGTERM');
    const timeout = timeoutS >= 0 ? timeoutS : (config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S);
    const stopped = await this.stopTask(row.id, sig, timeout * 1000);
    return { notModified: !stopped };
  }

  /**
   * Docker's stop sequence: the signal, up to graceMs for the exit, SIGKILL, up to KILL_WAIT_MS
   * more; then the exit is applied and `stop` recorded. The waits hold no lock, so a kill or a
   * forced remove meanwhile is not held up. False when the container was not running.
   */
  private async stopTask(id: string, sig: number, graceMs: number): Promise<boolean> {
    const { bus, store } = this.d;
    const first = await this.locks.run(id, async () => {
      const current = store.get(id);
      if (!current || !isRunning(current)) return undefined;
      if (current.status === 'restarting') {
        this.cancelRestart(current);
        return { row: current, sent: false, done: true };
      }
      store.update(id, { manually_stopped: 1 });
      const sent = sig === SIGKILL ? false : await this.signalTask(current, sig);
      return { row: current, sent, done: false };
    });
    if (!first) return false;
    if (first.done) return true;
    const { row } = first;
    let exit: ExitStatus__Output | undefined;
    // Docker waits only 2 s when the signal could not be sent, and not at all with a timeout of 0
    // (`docker stop -t 0`: the signal, then SIGKILL at once).
    if (sig !== SIGKILL && (!first.sent || graceMs > 0)) exit = await this.waitTaskExit(id, first.sent ? graceMs : 2000, row.pid);
    if (!exit) {
      const killed = await this.locks.run(id, async () => {
        const current = store.get(id);
        if (!current || !isRunning(current) || current.pid !== row.pid) return false; // it went meanwhile
        await this.signalTask(current, SIGKILL);
        return true;
      });
      exit = killed ? await this.waitTaskExit(id, KILL_WAIT_MS, row.pid) : undefined;
      if (killed && !exit) throw internal(`cannot stop container: ${row.name.slice(1)}: tried to kill container, but did not receive an exit event`);
    }
    if (exit) await this.applyExit(id, exit);
    store.tx(() => recordContainerEvent(bus, 'stop', row));
    return true;
  }

  /** Sends a signal to the task, recording Docker's `kill` event; false when it could not be sent. */
  private async signalTask(row: ContainerRow, sig: number): Promise<boolean> {
    const { containerd, bus, store } = this.d;
    try {
      await containerd.tasks.call('Kill', { container_id: row.id, signal: sig, all: false });
      store.tx(() => recordContainerEvent(bus, 'kill', row, { signal: String(sig) }));
      await this.thawForSignal(row, sig);
      return true;
    } catch (err) {
      if (err instanceof EngineError && (err.kind === 'not_found' || err.kind === 'failed_precondition')) return false;
      throw err;
    }
  }

  /**
   * Docker's killWithSignal on a paused container: the stop signal (any signal when none is
   * configured) is followed by an unpause, so the process gets it now. SIGKILL needs none: the
   * monitor thaws the container itself after it.
   */
  private async thawForSignal(row: ContainerRow, sig: number): Promise<void> {
    const current = this.d.store.get(row.id);
    if (current?.status !== 'paused' || sig === SIGKILL) return;
    const stopSignal = parsedConfig(current).StopSignal;
    if (stopSignal && parseSignal(stopSignal) !== sig) return;
    try {
      await this.d.containerd.tasks.call('Resume', { container_id: row.id });
    } catch (err) {
      this.d.log.warn('cannot unpause the container after signalling it', { id: row.id, err: (err as Error).message });
      return;
    }
    this.d.store.tx(() => {
      this.d.store.update(row.id, { status: 'running' });
      recordContainerEvent(this.d.bus, 'unpause', current);
    });
    this.notify(row.id, 'unpause');
  }

  async kill(ref: string, signal: string): Promise<void> {
    const wrap = (err: unknown): never => {
      const e = err instanceof EngineError ? err : internal(String((err as Error)?.message ?? err));
      throw new EngineError(e.kind, `Cannot kill container: ${ref}: ${e.message}`);
    };
    let sig: number;
    let row: ContainerRow;
    try {
      sig = signal ? parseSignal(signal) : SIGKILL;
      row = findContainer(this.d.store, ref);
    } catch (err) {
      return wrap(err);
    }
    await this.locks
      .run(row.id, async () => {
        const current = this.d.store.get(row.id);
        if (!current || !isRunning(current)) throw conflict(`Container ${row.id} is not running`);
        if (current.status === 'restarting') {
          this.cancelRestart(current);
          return;
        }
        if (sig === SIGKILL) return; // below, without the lock
        this.d.store.update(row.id, { manually_stopped: 1 });
        const sent = await this.signalTask(current, sig);
        if (!sent) throw conflict(`Container ${row.id} is not running`);
      })
      .catch(wrap);
    // Docker's kill with SIGKILL returns once the container is dead.
    if (sig === SIGKILL) await this.stopTask(row.id, SIGKILL, 0).catch(wrap);
  }

  async restart(ref: string, timeoutS: number, signal: string): Promise<void> {
    const row = findContainer(this.d.store, ref);
    if (isRunning(row)) await this.stop(row.id, timeoutS, signal);
    await this.start(row.id);
    this.d.store.tx(() => recordContainerEvent(this.d.bus, 'restart', this.d.store.get(row.id) ?? row));
  }

  // ---- remove and prune -------------------------------------------------------------------------

  /** `volumes`: docker rm -v, the container's anonymous volumes go with it. */
  async remove(ref: string, force: boolean, volumes = false): Promise<void> {
    const row = findContainer(this.d.store, ref);
    if (row.status === 'removing') throw conflict(`removal of container ${ref} is already in progress`);
    if (isRunning(row) && !force) throw failedPrecondition(runningRemoveMessage(row));
    await this.locks.run(row.id, () => this.removeLocked(row.id, force, volumes));
  }

  private async removeLocked(id: string, force: boolean, volumes = false): Promise<void> {
    const { store, containerd, bus, hubs, waiters } = this.d;
    let row = store.get(id);
    if (!row) return;
    if (row.status === 'restarting') {
      if (!force) throw failedPrecondition(runningRemoveMessage(row));
      this.restarts.cancel(id);
    } else if (isRunning(row)) {
      if (!force) throw failedPrecondition(runningRemoveMessage(row));
      await this.signalTask(row, SIGKILL);
      const exit = await this.waitTaskExit(id, KILL_WAIT_MS, row.pid);
      if (!exit) throw internal(`Could not kill running container ${id}, cannot remove - tried to kill container, but did not receive an exit event`);
      await this.applyExitLocked(id, exit, { autoRemove: false, from: 'other' });
      row = store.get(id)!;
    }
    // Marked first, so a daemon killed halfway finishes the removal when it comes back.
    store.update(id, { status: 'removing' });
    try {
      // containerd's removal and the network's release do not depend on each other.
      await bothSettled(this.deleteContainerAndTask(id), this.d.networking.teardown(id));
      this.trash.throwAway(this.paths(id).dir);
    } catch (err) {
      // Docker's "dead": a removal that failed; `docker rm` tries again.
      store.update(id, { status: 'dead', error: (err as Error).message });
      throw err;
    }
    // rm -v and run --rm take the anonymous volumes along (never named ones).
    const anonymous = volumes || parsedHostConfig(row).AutoRemove ? this.d.mounts.volumesOf(id) : [];
    store.tx(() => {
      store.delete(id);
      this.d.networking.forget(id);
      this.d.mounts.forget(id);
      recordContainerEvent(bus, 'destroy', row!);
    });
    this.d.mounts.removeAnonymous(id, anonymous);
    this.notify(id, 'remove');
    hubs.removed(id);
    this.restarts.forget(id);
    waiters.removed(id, { statusCode: row.exit_code, error: row.error });
  }

  /**
   * Removes containerd's container with its stopped task in one call; a task that still runs (a
   * removal the daemon finishes after a restart) is deleted by force first.
   */
  private async deleteContainerAndTask(id: string): Promise<void> {
    const { containerd } = this.d;
    try {
      await containerd.containers.call('Delete', { id, with_task: true });
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'not_found') return;
      if (!(err instanceof EngineError && err.kind === 'failed_precondition')) throw err;
      await containerd.tasks.call('Delete', { container_id: id, force: true }).catch(ignoreNotFound);
      await containerd.containers.call('Delete', { id }).catch(ignoreNotFound);
    }
  }

  async prune(filtersJson: string): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const filters = parseFilters(filtersJson, ['until', 'label', 'label!']);
    const until = filters.get('until').map((v) => parseTimestampFilter(v));
    const deleted: string[] = [];
    for (const row of this.d.store.list()) {
      if (isRunning(row) || row.status === 'removing') continue;
      const labels = parsedConfig(row).Labels ?? {};
      if (!filters.matchLabels('label', labels)) continue;
      if (filters.get('label!').some((sel) => labelSelectorHolds(sel, labels))) continue;
      if (until.length > 0 && !until.every((t) => row.created_ns / 1e6 < t)) continue;
      try {
        await this.locks.run(row.id, () => this.removeLocked(row.id, false));
        deleted.push(row.id);
      } catch (err) {
        this.d.log.warn('prune could not remove a container', { id: row.id, err });
      }
    }
    this.d.store.tx(() => recordDockerEvent(this.d.bus, 'container', 'prune', '', { reclaimed: '0' }));
    return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 };
  }

  // ---- wait ---------------------------------------------------------------------------------------

  /** Registers a waiter (synchronously, before anything else can happen) and says whether it is already met. */
  wait(ref: string, condition: string): Registration {
    const cond = (condition || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidArgument(`invalid condition: "${condition}"`);
    const row = findContainer(this.d.store, ref);
    const reg = this.d.waiters.add(row.id, cond);
    if (cond === 'not-running' && !isRunning(row)) {
      this.d.waiters.stopped(row.id, { statusCode: row.exit_code, error: row.error });
    }
    return reg;
  }
}

/** One label selector ("key" or "key=value"), as the `label!` prune filter gives them. */
function labelSelectorHolds(sel: string, labels: Record<string, string>): boolean {
  const eq = sel.indexOf('=');
  if (eq < 0) return sel in labels;
  return labels[sel.slice(0, eq)] === sel.slice(eq + 1);
}

function runningRemoveMessage(row: ContainerRow): string {
  if (row.status === 'paused') return `cannot remove container "${row.name}": container is paused and must be unpaused first`;
  return `cannot remove container "${row.name}": container is ${row.status}: stop the container before removing or force remove`;
}

function safeNs(rfc: string): bigint {
  try {
    return parseRfc3339Nano(rfc);
  } catch {
    return 0n;
  }
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof EngineError && err.kind === 'not_found') return;
  throw err;
}

/** How Docker names an image it cannot find: the familiar name with its tag, or the text as given. */
export function displayImageRef(ref: string): string {
  if (isFullId(ref) || /^[a-f0-9]{1,64}$/.test(ref)) return ref;
  try {
    return familiarName(normalizeName(ref));
  } catch {
    return ref;
  }
}

function normalizeArch(arch: string): string {
  const map: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64' };
  return map[arch] ?? arch;
}

/**
 * Docker's treatment of a failed task create/start (translateContainerdStartErr): the exit code
 * (127 command not found, 126 not executable, 128 otherwise), the message containerd gave,
 * prefixed as Docker's daemon prefixes it, and invalid_argument for the command's own faults.
 */
export function startFailure(command: string, err: unknown, phase: 'create' | 'start'): { exitCode: number; error: EngineError } {
  const e = err instanceof EngineError ? err : internal(String((err as Error)?.message ?? err));
  if (e.kind === 'unavailable' || e.kind === 'deadline_exceeded') return { exitCode: EXIT_UNKNOWN, error: e };
  const prefix = phase === 'create' ? 'failed to create task for container' : 'failed to start task for container';
  // Docker's text ends with the gRPC code containerd answered with; a runtime failure is "unknown".
  const suffix = /: unknown$/.test(e.message) ? '' : ': unknown';
  const message = `${prefix}: ${e.message}${suffix}`;
  const lower = message.toLowerCase();
  if (
    lower.includes(command.toLowerCase()) &&
    (lower.includes('executable file not found') || lower.includes('no such file or directory'))
  ) {
    return { exitCode: 127, error: invalidArgument(message) };
  }
  if (lower.includes('permission denied')) return { exitCode: 126, error: invalidArgument(message) };
  if (lower.includes('not a directory')) {
    return {
      exitCode: 127,
      error: invalidArgument(`${message}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`),
    };
  }
  return { exitCode: EXIT_UNKNOWN, error: new EngineError(e.kind === 'invalid_argument' ? 'invalid_argument' : 'internal', message) };
}

/** Waits for both to settle, then fails with the first one's error, if any. */
async function bothSettled(a: Promise<unknown>, b: Promise<unknown>): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}

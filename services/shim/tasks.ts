/**
 * The shim's logic: tasks, each supervised through its monitor. A task's lifecycle:
 *   create  → a monitor is spawned; it runs the runtime's `create` (row: creating → created)
 *   start   → START on the monitor's socket (running)
 *   exit    → the monitor's EXIT frame, or its exit file when nobody was connected (stopped);
 *             recorded with a /tasks/exit event in one transaction, so it is announced exactly once
 *   delete  → the task's state is removed (the monitor already cleaned the container up)
 * On start the shim re-adopts every monitor that is still there and learns every exit that
 * happened while it was away (adopt()).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContext } from '../../common/service.js';
import { conflict, EngineError, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import { nowRfc3339Nano } from '../../common/time.js';
import { Trash } from '../../common/trash.js';
import { context, currentTraceparent, foreignTracer } from '../../common/tracing.js';
import type { ExitStatus } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import type { TaskInfo } from '../../common/proto-types/tersane/common/v1/TaskInfo.js';
import type { CreateTaskRequest__Output } from '../../common/proto-types/tersane/shim/v1/CreateTaskRequest.js';
import { MonitorConnection, MonitorLauncher, parseExitRecord, type ConnectionEvents } from './monitor.js';
import { AttachFlag, Request } from './protocol.js';
import { TaskStore, type TaskRow } from './store.js';

/** After a forced delete kills a task, how long to wait for its monitor to report the exit. */
const FORCE_DELETE_WAIT_MS = 10_000;
/** The monitor writes its exit file before closing its socket; a short grace covers the race. */
const EXIT_FILE_GRACE_MS = 200;
/** The monitor's mark that the clean-up after its container's exit is done (PROTOCOL.md). */
const CLEANED_MARKER = 'cleaned';
/** Longer than the monitor gives a stuck runtime `delete` (MON_DELETE_TIMEOUT_MS) before killing it. */
const CLEANUP_WAIT_MS = 40_000;
const CLEANUP_POLL_MS = 2;
/** Docker's exit code for a process whose end is unknown. */
const UNKNOWN_EXIT_CODE = 255;
const SIGKILL = 9;
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** How long an attachment made alongside a creation waits for that creation. */
const ATTACH_CREATE_WAIT_MS = 10_000;

interface LiveTask {
  control?: MonitorConnection;
  waiters: Array<(exit: ExitStatus) => void>;
}

/** The streams a client attaches to; `waitForCreate`: made alongside the task's creation. */
export interface AttachWant {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  waitForCreate?: boolean;
}

export interface AttachSink {
  ready(): void;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  exit(status: ExitStatus): void;
  fail(err: Error): void;
}

export interface AttachHandle {
  stdin(data: Buffer): void;
  closeStdin(): void;
  close(): void;
}

export class TaskManager {
  private readonly live = new Map<string, LiveTask>();
  /** Attachments made alongside a creation that have settled, for a creation that starts its task. */
  private readonly alongside = new Map<string, { settled: number; wake?: () => void }>();
  /** Attachments waiting for a creation in progress (AttachOpen.wait_for_create). */
  private readonly creations = new Map<string, Array<(created: boolean) => void>>();
  /** Serializes create/start/delete of one task id. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly tasksDir: string;
  /** A deleted task's state dir goes here, to be deleted off the request path. */
  private readonly trash: Trash;
  private readonly launcher: MonitorLauncher;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly store: TaskStore,
  ) {
    this.tasksDir = join(ctx.config.runDir, 'tasks');
    this.trash = new Trash(join(ctx.config.runDir, 'tasks-trash'), ctx.log);
    this.launcher = new MonitorLauncher(ctx.config.nativeBinary('tersane-spawner'), ctx.config.nativeBinary('tersane-monitor'));
  }

  // ---- operations -------------------------------------------------------------------------------

  create(req: CreateTaskRequest__Output): Promise<TaskInfo> {
    const creating = this.locked(req.id, async () => {
      if (!TASK_ID.test(req.id)) throw invalidArgument(`invalid task id ${JSON.stringify(req.id)}`);
      if (!existsSync(join(req.bundle, 'config.json'))) throw invalidArgument(`bundle ${req.bundle} has no config.json`);
      if (req.rootfs.length > 1) throw invalidArgument('a task takes at most one rootfs mount');
      const runtimeName = req.runtime || this.ctx.config.defaultRuntime;
      const runtime = this.ctx.config.runtime(runtimeName);
      if (!runtime || !existsSync(runtime.path)) throw invalidArgument(`unknown or missing runtime "${runtimeName}"`);
      if (this.store.get(req.id)) throw conflict(`task ${req.id} already exists`);
      this.alongside.delete(req.id); // counts of an earlier creation's attachments

      const stateDir = join(this.tasksDir, req.id);
      // No row but a directory: the leftover of a rollback that was itself interrupted.
      rmSync(stateDir, { recursive: true, force: true });
      mkdirSync(this.tasksDir, { recursive: true, mode: 0o700 });
      const runtimeRoot = this.runtimeRoot(runtime.name);
      mkdirSync(runtimeRoot, { recursive: true, mode: 0o700 });
      this.store.insertCreating({
        id: req.id,
        bundle: req.bundle,
        runtime: runtime.name,
        terminal: req.terminal ? 1 : 0,
        stdin: req.stdin ? 1 : 0,
        state_dir: stateDir,
      });
      let created;
      const monitorBegin = process.hrtime.bigint();
      try {
        created = await this.launcher.start({
          id: req.id,
          bundle: req.bundle,
          stateDir,
          runtimePath: runtime.path,
          runtimeRoot,
          rootfs: req.rootfs[0],
          logPath: req.log_path || undefined,
          logMaxSize: req.log_max_size,
          logMaxFiles: req.log_max_files,
          terminal: req.terminal,
          stdin: req.stdin,
          traceparent: currentTraceparent(),
        });
      } catch (err) {
        // The monitor undid its own work; the row and any directory are ours to undo.
        this.store.delete(req.id);
        rmSync(stateDir, { recursive: true, force: true });
        throw err;
      }
      this.ctx.metrics.startPhaseSeconds.observe({ phase: 'shim_monitor' }, Number(process.hrtime.bigint() - monitorBegin) / 1e9);
      this.ctx.metrics.observePhaseNs('runtime_create', created.createBeginNs, created.createEndNs);
      void recordRuntimeSpan('create', created.createBeginNs, created.createEndNs);
      this.ctx.db.transaction(() => {
        this.store.markCreated(req.id, created.pid, created.monitorPid, created.createBeginNs, created.createEndNs);
        this.ctx.events.record('/tasks/create', { task: { container_id: req.id, pid: created.pid } });
      })();
      await this.attachControl(this.store.get(req.id)!, { justCreated: true });
      this.creationEnded(req.id, true);
      if (!req.start) return this.info(this.store.get(req.id)!);
      await this.attachedAlongside(req.id, req.attachments);
      return this.startCreated(req.id);
    });
    // Whatever failed (validation included), attachments waiting for this creation learn it now.
    creating.catch(() => this.creationEnded(req.id, false));
    return creating;
  }

  start(id: string): Promise<TaskInfo> {
    return this.locked(id, () => this.startCreated(id));
  }

  /** Starts a created task; the caller holds the task's lock. */
  private async startCreated(id: string): Promise<TaskInfo> {
    const row = this.mustGet(id);
    if (row.status !== 'created') throw failedPrecondition(`task ${id} is ${row.status}, not created`);
    const control = await this.control(row);
    try {
      const r = JSON.parse(await control.start()) as { pid?: number; start_begin_ns?: number; start_end_ns?: number };
      this.ctx.metrics.observePhaseNs('runtime_start', r.start_begin_ns ?? 0, r.start_end_ns ?? 0);
      void recordRuntimeSpan('start', r.start_begin_ns ?? 0, r.start_end_ns ?? 0);
      this.ctx.db.transaction(() => {
        this.store.markRunning(id, r.start_begin_ns ?? 0, r.start_end_ns ?? 0);
        this.ctx.events.record('/tasks/start', { task: { container_id: id, pid: r.pid ?? row.pid } });
      })();
    } catch (err) {
      // A process that exits at once can take its monitor with it before START's answer
      // arrives: that is a start, and its exit is already recorded. An answer the monitor gave
      // (a failure: credentials the kernel refused, a failing startContainer hook) stands,
      // whatever the exit file says.
      const monitorGone = err instanceof EngineError && err.kind === 'unavailable';
      if (!monitorGone || !(await this.learnExitFromFile(row))) throw err;
    }
    return this.info(this.mustGet(id));
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    const row = this.mustGet(id);
    if (row.status === 'stopped') throw failedPrecondition(`task ${id} is not running`);
    if (signal <= 0 || signal > 64) throw invalidArgument(`invalid signal ${signal}`);
    await (await this.control(row)).signal(signal, all);
  }

  delete(id: string, force: boolean): Promise<ExitStatus> {
    return this.locked(id, async () => {
      let row = this.mustGet(id);
      // The monitor's exit file is the truth: the exit may be there before its EXIT frame was read.
      if (row.status !== 'stopped' && (await this.learnExitFromFile(row, 0))) row = this.mustGet(id);
      if (row.status !== 'stopped') {
        if (!force) throw failedPrecondition(`task ${id} is ${row.status}: kill it first or delete with force`);
        const exited = this.wait(id);
        await this.kill(id, SIGKILL, true).catch(() => undefined);
        await Promise.race([exited, sleep(FORCE_DELETE_WAIT_MS)]);
        row = this.mustGet(id);
        if (row.status !== 'stopped') await this.forgetLostMonitor(row);
        row = this.mustGet(id);
      }
      await this.waitCleanedUp(row);
      const exit = exitOf(row);
      this.trash.throwAway(row.state_dir);
      this.ctx.db.transaction(() => {
        this.store.delete(id);
        this.ctx.events.record('/tasks/delete', { task: { container_id: id, pid: row.pid, exit } });
      })();
      this.live.get(id)?.control?.close();
      this.live.delete(id);
      this.alongside.delete(id);
      return exit;
    });
  }

  wait(id: string): Promise<ExitStatus> {
    const row = this.mustGet(id);
    if (row.status === 'stopped') return Promise.resolve(exitOf(row));
    return new Promise((resolve) => this.liveOf(id).waiters.push(resolve));
  }

  get(id: string): TaskInfo {
    return this.info(this.mustGet(id));
  }

  list(): TaskInfo[] {
    return this.store.all().filter((r) => r.status !== 'creating').map((r) => this.info(r));
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const row = this.mustGet(id);
    if (!row.terminal) throw failedPrecondition(`task ${id} has no terminal`);
    if (row.status === 'stopped') throw failedPrecondition(`task ${id} is not running`);
    await (await this.control(row)).resize(rows, cols);
  }

  /** Freezes (pause) or thaws (resume) every process of a running task. */
  async pause(id: string, pause: boolean): Promise<void> {
    const row = this.mustGet(id);
    if (row.status !== 'running') throw failedPrecondition(`task ${id} is not running`);
    await (await this.control(row)).request(pause ? Request.PAUSE : Request.RESUME);
  }

  /** The control socket of a running task's monitor (execs open connections of their own there). */
  runningSocket(id: string): string {
    const row = this.mustGet(id);
    if (row.status !== 'running') throw failedPrecondition(`task ${id} is not running`);
    return join(row.state_dir, 'sock');
  }

  /**
   * Connects a client to the task's stdio through a connection of its own to the monitor. With
   * `waitForCreate`, a task not there yet is waited for (its creation is on its way).
   */
  async attach(
    id: string,
    want: AttachWant,
    sink: AttachSink,
  ): Promise<AttachHandle> {
    if (!want.waitForCreate) return this.attachNow(id, want, sink);
    try {
      return await this.attachNow(id, want, sink);
    } finally {
      this.alongsideSettled(id);
    }
  }

  private async attachNow(
    id: string,
    want: AttachWant,
    sink: AttachSink,
  ): Promise<AttachHandle> {
    // Made alongside a creation: only a freshly created task will do (a stopped one left from an
    // earlier run is about to be replaced), so anything else waits for the creation to finish.
    if (want.waitForCreate && this.store.get(id)?.status !== 'created' && !(await this.nextCreation(id))) {
      throw notFound(`task ${id} not found: its creation did not finish`);
    }
    const row = this.mustGet(id);
    if (row.status === 'stopped') {
      sink.ready();
      sink.exit(exitOf(row));
      return { stdin: () => undefined, closeStdin: () => undefined, close: () => undefined };
    }
    let exited = false;
    const conn = await MonitorConnection.open(join(row.state_dir, 'sock'), {
      onStdout: (d) => sink.stdout(d),
      onStderr: (d) => sink.stderr(d),
      onExit: (status) => {
        exited = true;
        // Whichever connection hears of the exit first records it: the caller may act on this
        // one (delete the task) before the control connection's EXIT is read.
        this.recordExit(row.id, status);
        sink.exit(status);
      },
      onClose: () => {
        if (exited) return;
        void this.learnExitFromFile(row).then((exit) => (exit ? sink.exit(exit) : sink.fail(new Error('the container monitor went away'))));
      },
    });
    const flags = (want.stdin ? AttachFlag.STDIN : 0) | (want.stdout ? AttachFlag.STDOUT : 0) | (want.stderr ? AttachFlag.STDERR : 0);
    try {
      await conn.request(Request.ATTACH, Buffer.from([flags]));
    } catch (err) {
      conn.close();
      throw err;
    }
    sink.ready();
    return {
      stdin: (data) => conn.send(Request.STDIN, data),
      closeStdin: () => conn.send(Request.CLOSE_STDIN),
      close: () => conn.close(),
    };
  }

  /** An attachment made alongside a creation has attached, or failed to. */
  private alongsideSettled(id: string): void {
    const counted = this.alongside.get(id) ?? { settled: 0 };
    counted.settled++;
    this.alongside.set(id, counted);
    counted.wake?.();
  }

  /**
   * Waits until `count` attachments made alongside the creation of `id` have attached, so that a
   * task started by its creation keeps none of its output from them; bounded, for one that never
   * comes (its stream broke on the way).
   */
  private async attachedAlongside(id: string, count: number): Promise<void> {
    const counted = this.alongside.get(id) ?? { settled: 0 };
    this.alongside.set(id, counted);
    const deadline = Date.now() + ATTACH_CREATE_WAIT_MS;
    try {
      while (counted.settled < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.ctx.log.warn('starting a task without the attachments announced with its creation', { id, count, attached: counted.settled });
          return;
        }
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, left);
          counted.wake = () => {
            clearTimeout(timer);
            wake();
          };
        });
      }
    } finally {
      this.alongside.delete(id);
    }
  }

  /** Resolves once the next creation of `id` has finished: true if it succeeded. */
  private nextCreation(id: string): Promise<boolean> {
    return new Promise((resolve) => {
      const waiters = this.creations.get(id) ?? [];
      this.creations.set(id, waiters);
      const timer = setTimeout(() => done(false), ATTACH_CREATE_WAIT_MS);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        const list = this.creations.get(id);
        if (list) {
          list.splice(list.indexOf(done), 1);
          if (list.length === 0) this.creations.delete(id);
        }
        resolve(ok);
      };
      waiters.push(done);
    });
  }

  private creationEnded(id: string, ok: boolean): void {
    for (const done of [...(this.creations.get(id) ?? [])]) done(ok);
  }

  // ---- recovery ---------------------------------------------------------------------------------

  /**
   * Reconciles the table with the monitors that exist: re-adopts the living, learns the exits of
   * those that ended while the shim was away, rolls back creations the shim never answered, and
   * removes task directories nobody owns.
   */
  async adopt(): Promise<void> {
    await this.trash.empty();
    for (const row of this.store.all()) {
      try {
        if (row.status === 'stopped') continue;
        if (row.status === 'creating') {
          // The shim died before answering CreateTask: its caller saw a failure, so roll back.
          await this.rollback(row);
          continue;
        }
        await this.attachControl(row).catch(async () => {
          if (!(await this.learnExitFromFile(row))) await this.forgetLostMonitor(row);
        });
      } catch (err) {
        this.ctx.log.warn('could not reconcile task', { id: row.id, err });
      }
    }
    if (!existsSync(this.tasksDir)) return;
    for (const id of readdirSync(this.tasksDir)) {
      if (this.store.get(id)) continue;
      this.ctx.log.warn('removing a task directory without a task', { id });
      await this.rollback({ id, state_dir: join(this.tasksDir, id), bundle: '', runtime: this.ctx.config.defaultRuntime } as TaskRow, false);
    }
  }

  /** Kills and removes a task the shim never completed creating (or that has no row). */
  private async rollback(row: TaskRow, hasRow = true): Promise<void> {
    try {
      let closedNow: () => void = () => undefined;
      const closed = new Promise<void>((r) => (closedNow = r));
      const conn = await MonitorConnection.open(join(row.state_dir, 'sock'), { onClose: () => closedNow() });
      await conn.signal(SIGKILL, true).catch(() => undefined);
      await Promise.race([closed, sleep(FORCE_DELETE_WAIT_MS)]);
      conn.close();
    } catch {
      if (row.bundle) this.cleanupWithoutMonitor(row);
    }
    rmSync(row.state_dir, { recursive: true, force: true });
    if (hasRow) this.store.delete(row.id);
  }

  /**
   * The monitor is gone without an exit record (it was killed). The container, if it still runs,
   * has nobody holding its stdio or recording its end: stop it, clean up what the monitor would
   * have, and record an unknown exit.
   */
  private async forgetLostMonitor(row: TaskRow): Promise<void> {
    this.ctx.log.warn('monitor lost; stopping its container', { id: row.id });
    this.cleanupWithoutMonitor(row);
    this.recordExit(row.id, { exit_code: UNKNOWN_EXIT_CODE, signal: 0, exited_at: nowRfc3339Nano(), oom_killed: false, pid: row.pid });
  }

  private cleanupWithoutMonitor(row: TaskRow): void {
    const runtime = this.ctx.config.runtime(row.runtime);
    if (runtime) {
      const root = ['--root', this.runtimeRoot(runtime.name)];
      spawnSync(runtime.path, [...root, 'kill', '--all', row.id, 'KILL'], { stdio: 'ignore' });
      spawnSync(runtime.path, [...root, 'delete', '--force', row.id], { stdio: 'ignore' });
    }
    if (row.bundle) spawnSync('umount', ['-l', join(row.bundle, 'rootfs')], { stdio: 'ignore' });
    try {
      writeFileSync(join(row.state_dir, CLEANED_MARKER), '');
    } catch {
      /* no state dir: nothing waits for the marker */
    }
  }

  /**
   * The monitor tells the exit first and cleans up after it (runtime delete, rootfs unmount;
   * PROTOCOL.md): a task is deleted only once that is done, so that nothing of the container is
   * left when the deletion returns. A monitor gone without finishing (killed) leaves it to us.
   */
  private async waitCleanedUp(row: TaskRow): Promise<void> {
    const marker = join(row.state_dir, CLEANED_MARKER);
    const deadline = Date.now() + CLEANUP_WAIT_MS;
    while (!existsSync(marker)) {
      if (!monitorAlive(row) || Date.now() > deadline) {
        this.cleanupWithoutMonitor(row);
        return;
      }
      await sleep(CLEANUP_POLL_MS);
    }
  }

  // ---- internals --------------------------------------------------------------------------------

  private runtimeRoot(name: string): string {
    return join(this.ctx.config.runDir, 'runtime', name);
  }

  private mustGet(id: string): TaskRow {
    const row = this.store.get(id);
    if (!row || row.status === 'creating') throw notFound(`task ${id} not found`);
    return row;
  }

  private liveOf(id: string): LiveTask {
    let t = this.live.get(id);
    if (!t) {
      t = { waiters: [] };
      this.live.set(id, t);
    }
    return t;
  }

  private async control(row: TaskRow): Promise<MonitorConnection> {
    const t = this.live.get(row.id);
    if (t?.control && !t.control.isClosed) return t.control;
    return this.attachControl(row);
  }

  /**
   * Opens the shim's own connection to a task's monitor: requests go there, and its EXIT.
   * `justCreated`: the monitor has just reported the creation, so its state is known.
   */
  private async attachControl(row: TaskRow, opts: { justCreated?: boolean } = {}): Promise<MonitorConnection> {
    const handlers: ConnectionEvents = {
      onExit: (status) => this.recordExit(row.id, status),
      onClose: () => {
        const current = this.store.get(row.id);
        if (current && current.status !== 'stopped') {
          void this.learnExitFromFile(current).then((exit) => {
            if (!exit && this.store.get(row.id)?.status !== 'stopped') void this.forgetLostMonitor(current);
          });
        }
      },
    };
    const conn = await MonitorConnection.open(join(row.state_dir, 'sock'), handlers);
    this.liveOf(row.id).control = conn;
    if (opts.justCreated) return conn;
    // The monitor may have been between states when the shim was away.
    const s = await conn.status().catch(() => undefined);
    if (s?.status === 'running' && row.status === 'created') this.store.markRunning(row.id, 0, 0);
    return conn;
  }

  /** Reads the monitor's exit file (waiting briefly for it) and records the exit it holds. */
  private async learnExitFromFile(row: TaskRow, graceMs = EXIT_FILE_GRACE_MS): Promise<ExitStatus | undefined> {
    const file = join(row.state_dir, 'exit');
    const deadline = Date.now() + graceMs;
    for (;;) {
      const stored = this.store.get(row.id);
      if (stored?.status === 'stopped') return exitOf(stored);
      if (existsSync(file)) {
        try {
          const exit = parseExitRecord(readFileSync(file, 'utf8'));
          this.recordExit(row.id, exit);
          return exit;
        } catch {
          /* being renamed into place */
        }
      }
      if (Date.now() > deadline) return undefined;
      await sleep(20);
    }
  }

  /** Records an exit once: the row and the /tasks/exit event commit together. */
  private recordExit(id: string, exit: ExitStatus): void {
    const changed = this.ctx.db.transaction(() => {
      const row = this.store.get(id);
      if (!row || !this.store.markStopped(id, exit)) return false;
      this.ctx.events.record('/tasks/exit', { task: { container_id: id, pid: row.pid, exit } });
      return true;
    })();
    const t = this.live.get(id);
    if (!t) return;
    if (changed || this.store.get(id)?.status === 'stopped') {
      for (const w of t.waiters.splice(0)) w(exit);
    }
  }

  private info(row: TaskRow): TaskInfo {
    return {
      id: row.id,
      status: row.status === 'creating' ? 'created' : row.status,
      pid: row.pid,
      bundle: row.bundle,
      terminal: Boolean(row.terminal),
      exit: row.exit ? (JSON.parse(row.exit) as ExitStatus) : null,
      runtime: row.runtime,
      runtime_create: { begin_ns: row.create_begin_ns, end_ns: row.create_end_ns },
      runtime_start: { begin_ns: row.start_begin_ns, end_ns: row.start_end_ns },
    };
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    void next.finally(() => {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }).catch(() => undefined);
    return next;
  }
}

/**
 * The runtime's create or start as a span of `tersane-runtime`, child of the current span, with
 * the wall-clock times the monitor measured around the runtime's run.
 */
async function recordRuntimeSpan(phase: 'create' | 'start', beginNs: number, endNs: number): Promise<void> {
  if (!beginNs || !endNs) return;
  const parent = context.active();
  const tracer = await foreignTracer('tersane-runtime');
  if (!tracer) return;
  const toTime = (ns: number): [number, number] => [Math.floor(ns / 1e9), ns % 1e9];
  const span = tracer.startSpan(`runtime ${phase}`, { startTime: toTime(beginNs) }, parent);
  span.end(toTime(endNs));
}

function exitOf(row: TaskRow): ExitStatus {
  return row.exit ? (JSON.parse(row.exit) as ExitStatus) : { exit_code: UNKNOWN_EXIT_CODE, signal: 0, exited_at: '', oom_killed: false, pid: row.pid };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether the task's monitor still runs (its pid, with the task id on its command line). */
function monitorAlive(row: TaskRow): boolean {
  if (!row.monitor_pid) return false;
  try {
    return readFileSync(`/proc/${row.monitor_pid}/cmdline`, 'utf8').includes(row.id);
  } catch {
    return false;
  }
}

/**
 * Keeping the daemon's rows true to what containerd has:
 *   - at start, before serving: interrupted creates are rolled back, interrupted removals finished,
 *     interrupted starts finished or undone, containerd containers without a row removed, running
 *     rows checked against their tasks, and exited auto-remove containers removed;
 *   - whenever NATS (re)connects: running rows are checked again, so an exit published while the
 *     daemon could not hear it is never lost (the durable consumer would redeliver it too; this is
 *     the belt to its braces, and it covers a NATS that lost its stream).
 * And the durable consumer of task exits itself.
 *
 * @example
 *   await reconcileAtStart(deps, lifecycle);
 *   consumeExits(ctx.events, lifecycle, log);
 */
import { EngineError } from '../../common/errors.js';
import type { EventBus, Envelope } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { ExitStatus__Output } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import type { TaskInfo__Output } from '../../common/proto-types/tersane/common/v1/TaskInfo.js';
import { nowRfc3339Nano } from '../../common/time.js';
import { removeContainerFiles } from './containerFiles.js';
import { recordContainerEvent } from './dockerEvents.js';
import { EXIT_LOST, isRunning, parsedHostConfig, type Lifecycle, type LifecycleDeps } from './lifecycle.js';
import { restartAtBoot } from './restartPolicy.js';

/** How often the NATS connection state is looked at, to reconcile after a reconnect. */
export const NATS_WATCH_MS = 1000;

function isNotFound(err: unknown): boolean {
  return err instanceof EngineError && err.kind === 'not_found';
}

async function taskOf(deps: LifecycleDeps, id: string): Promise<TaskInfo__Output | undefined> {
  try {
    return await deps.containerd.tasks.call('Get', { container_id: id });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function lostExit(): ExitStatus__Output {
  return { exit_code: EXIT_LOST, signal: 0, exited_at: nowRfc3339Nano(), oom_killed: false, pid: 0 };
}

export async function reconcileAtStart(deps: LifecycleDeps, lifecycle: Lifecycle): Promise<void> {
  const { store, containerd, bus, log } = deps;
  await containerd.containers.ready();

  for (const row of store.all()) {
    const id = row.id;
    if (row.status === 'creating') {
      // Killed while preparing: the client never got an id; nothing of it may remain.
      await containerd.containers.call('Delete', { id }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      removeContainerFiles(lifecycle.paths(id));
      // Its endpoints and mount records, and the volumes only it named (never used by another).
      const volumes = deps.mounts.volumesOf(id);
      store.tx(() => {
        store.delete(id);
        deps.networking.forget(id);
        deps.mounts.forget(id);
      });
      deps.mounts.volumes.discard(volumes.filter((v) => deps.mounts.volumes.d.store.volume(v)?.anonymous === 1));
      log.info('rolled back an interrupted create', { id });
      continue;
    }
    if (row.status === 'removing') {
      // The user asked for removal and the container may be half gone: finish it.
      await containerd.tasks.call('Delete', { container_id: id, force: true }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      await containerd.containers.call('Delete', { id }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      await deps.networking.teardown(id);
      removeContainerFiles(lifecycle.paths(id));
      store.tx(() => {
        store.delete(id);
        deps.networking.forget(id);
        deps.mounts.forget(id);
        recordContainerEvent(bus, 'destroy', row);
      });
      log.info('finished an interrupted removal', { id });
      continue;
    }
    if (row.transition === 'starting') {
      // Killed mid-start: a task that got as far as running is adopted (the process is real);
      // one that was only created is deleted, leaving the container as it was before the start.
      const task = await taskOf(deps, id);
      if (task && task.status === 'running') {
        store.tx(() => {
          store.update(id, { status: 'running', transition: null, pid: task.pid, exit_code: 0, error: '', started_at: nowRfc3339Nano() });
          recordContainerEvent(bus, 'start', row);
        });
        log.info('adopted a task started before the daemon was killed', { id, pid: task.pid });
      } else {
        if (task) await containerd.tasks.call('Delete', { container_id: id, force: true }).catch(() => undefined);
        store.update(id, { transition: null });
        log.info('undid an interrupted start', { id });
      }
    }
  }

  // containerd containers nobody here knows: leftovers of creates that were rolled back above or
  // of a daemon database that was lost. They hold snapshots; remove them.
  const known = new Set(store.all().map((r) => r.id));
  const theirs = (await containerd.containers.call('List', {})).containers;
  for (const c of theirs) {
    if (known.has(c.id)) continue;
    await containerd.tasks.call('Delete', { container_id: c.id, force: true }).catch(() => undefined);
    await containerd.containers.call('Delete', { id: c.id }).catch((err) => log.warn('cannot remove an unknown containerd container', { id: c.id, err }));
    log.info('removed a containerd container without a daemon record', { id: c.id });
  }

  await reconcileRunning(deps, lifecycle);

  // Restarts that were waiting for their back-off when the daemon went away happen now.
  for (const row of store.list()) {
    if (row.status === 'restarting') lifecycle.scheduleRestart(row.id);
  }

  // What the restart policy says to bring back at the engine's start (Docker's restore): started
  // in the background, as a user's start, once the daemon serves.
  for (const row of restartAtBoot(store.list())) {
    void lifecycle.start(row.id).catch((err) => log.warn('the restart policy could not start a container at boot', { id: row.id, err: (err as Error).message }));
  }

  // An auto-remove container that exited while the daemon was away, or whose removal failed (dead),
  // is removed now, as Docker does.
  for (const row of store.list()) {
    if (isRunning(row) || row.status === 'creating') continue;
    if ((row.status === 'exited' || row.status === 'dead') && parsedHostConfig(row).AutoRemove) {
      await lifecycle.remove(row.id, true).catch((err) => log.warn('cannot auto-remove an exited container', { id: row.id, err }));
    }
  }
}

/** Every row that says running is checked against its task; exits found are applied. */
export async function reconcileRunning(deps: LifecycleDeps, lifecycle: Lifecycle): Promise<void> {
  // One list of every task rather than a question per container: with hundreds of containers a
  // restarted daemon serves again in a fraction of the time.
  const tasks = new Map((await deps.containerd.tasks.call('List', {})).tasks.map((t) => [t.id, t]));
  for (const row of deps.store.list()) {
    // A restarting container has no task: its restart is pending (or resumed at start, below).
    if (!isRunning(row) || row.status === 'restarting') continue;
    const task = tasks.get(row.id);
    if (!task) {
      await lifecycle.applyExit(row.id, { ...lostExit(), pid: row.pid });
      deps.log.info('a running container lost its task; marked exited', { id: row.id });
    } else if (task.status === 'stopped') {
      const exit = task.exit ?? lostExit();
      await lifecycle.applyExit(row.id, { ...exit, pid: exit.pid || task.pid || row.pid });
    }
  }
}

/** The durable consumer of the shim's task exits. */
export function consumeExits(bus: EventBus, lifecycle: Lifecycle, log: Logger): void {
  bus.consume('daemon-task-exits', 'tersane.shim.tasks.exit', async (env: Envelope) => {
    const task = env.task as (Envelope['task'] & { containerId?: string }) | undefined;
    const id = task?.container_id ?? task?.containerId;
    if (!task || !id || !task.exit) return;
    const e = task.exit as ExitStatus__Output & { exitCode?: number; exitedAt?: string; oomKilled?: boolean };
    const exit: ExitStatus__Output = {
      exit_code: Number(e.exit_code ?? e.exitCode ?? 0),
      signal: Number(e.signal ?? 0),
      exited_at: e.exited_at ?? e.exitedAt ?? '',
      oom_killed: Boolean(e.oom_killed ?? e.oomKilled),
      pid: Number(e.pid || task.pid || 0),
    };
    log.debug('task exit from NATS', { id, exit });
    await lifecycle.applyExit(id, exit);
  });
}

/** Reconciles running rows each time the event bus (re)connects to NATS. */
export function watchReconnects(bus: EventBus, deps: LifecycleDeps, lifecycle: Lifecycle): () => void {
  let wasConnected = bus.connected;
  let busy = false;
  const timer = setInterval(() => {
    const now = bus.connected;
    if (now && !wasConnected && !busy) {
      busy = true;
      reconcileRunning(deps, lifecycle)
        .catch((err) => deps.log.warn('reconciliation after a NATS reconnect failed', { err }))
        .finally(() => (busy = false));
    }
    wasConnected = now;
  }, NATS_WATCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

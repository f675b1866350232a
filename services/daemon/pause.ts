/**
 * `docker pause` / `docker unpause`: every process of the container frozen and thawed (the
 * runtime's pause and resume through containerd, the freezer on cgroup v1, cgroup.freeze on v2).
 * The state is Docker's `paused` (still running, as inspect's Running says), with its events.
 *
 * @example
 *   await pauseContainer(deps, lifecycle, 'ctr1', true);
 */
import { conflict } from '../../common/errors.js';
import { recordContainerEvent } from './dockerEvents.js';
import type { Lifecycle, LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';

export async function pauseContainer(deps: LifecycleDeps, lifecycle: Lifecycle, ref: string, pause: boolean): Promise<void> {
  const first = findContainer(deps.store, ref);
  await lifecycle.locks.run(first.id, async () => {
    const row = deps.store.get(first.id) ?? first;
    if (pause) {
      if (row.status === 'paused') throw conflict(`Container ${row.id} is already paused`);
      if (row.status === 'restarting') throw conflict(`Container ${row.id} is restarting, wait until the container is running`);
      if (row.status !== 'running') throw conflict(`container ${row.id} is not running`);
    } else if (row.status !== 'paused') {
      throw conflict(`Container ${row.id} is not paused`);
    }
    await deps.containerd.tasks.call(pause ? 'Pause' : 'Resume', { container_id: row.id });
    deps.store.tx(() => {
      deps.store.update(row.id, { status: pause ? 'paused' : 'running' });
      recordContainerEvent(deps.bus, pause ? 'pause' : 'unpause', row);
    });
    lifecycle.notify(row.id, pause ? 'pause' : 'unpause');
  });
}

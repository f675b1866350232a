/**
 * Docker's restart policies (no, always, unless-stopped, on-failure[:N]) and its back-off: the
 * first restart after 100 ms, each next one after twice the previous delay (at most a minute),
 * back to 100 ms once a run lasted 10 s or more. A stop, kill or remove cancels a pending restart.
 *
 * @example
 *   const delay = restarts.next(id, policy, { exitCode, manuallyStopped, restartCount, ranMs });
 *   if (delay !== undefined) schedule(delay);
 */
import { ZERO_TIME } from '../../common/time.js';
import type { RestartPolicy } from './createConfig.js';
import type { ContainerRow } from './store.js';

export const INITIAL_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 60_000;
/** A run at least this long resets the back-off. */
export const RESET_AFTER_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  /** Stopped or killed by a user since its last start (Docker's HasBeenManuallyStopped). */
  manuallyStopped: boolean;
  restartCount: number;
  /** How long the run that just ended lasted. */
  ranMs: number;
}

/** Docker's decision (restartmanager.ShouldRestart), without the back-off. */
export function shouldRestart(policy: RestartPolicy, facts: ExitFacts): boolean {
  switch (policy.Name) {
    case 'always':
    case 'unless-stopped':
      return !facts.manuallyStopped;
    case 'on-failure':
      return facts.exitCode !== 0 && !facts.manuallyStopped && (policy.MaximumRetryCount === 0 || facts.restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** The back-off per container and the restarts waiting for their turn. */
export class RestartManager {
  private readonly delays = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** The delay before the next restart, or undefined when the policy says no. */
  next(id: string, policy: RestartPolicy, facts: ExitFacts): number | undefined {
    if (!shouldRestart(policy, facts)) {
      this.delays.delete(id);
      return undefined;
    }
    const previous = this.delays.get(id);
    const delay = previous === undefined || facts.ranMs >= RESET_AFTER_MS ? INITIAL_BACKOFF_MS : Math.min(previous * 2, MAX_BACKOFF_MS);
    this.delays.set(id, delay);
    return delay;
  }

  schedule(id: string, delayMs: number, run: () => void): void {
    this.cancel(id);
    const timer = setTimeout(() => {
      this.pending.delete(id);
      run();
    }, delayMs);
    timer.unref();
    this.pending.set(id, timer);
  }

  /** Cancels a pending restart; true if there was one. */
  cancel(id: string): boolean {
    const timer = this.pending.get(id);
    if (!timer) return false;
    clearTimeout(timer);
    this.pending.delete(id);
    return true;
  }

  /** The container is gone: forget its back-off too. */
  forget(id: string): void {
    this.cancel(id);
    this.delays.delete(id);
  }
}

/**
 * The restart at the engine's start, for containers started before: a container the user stopped
 * stays stopped, whatever its policy. Docker's own restore brings an `always` container back even
 * then; tersane's contract (issue 6: "honoured after a restart of the engine, and not for
 * containers the user stopped") is that a user's stop is never undone by a layer restarting.
 * on-failure counts its retries from RestartCount.
 */
export function shouldRestartAtBoot(policy: RestartPolicy, facts: Omit<ExitFacts, 'ranMs'>): boolean {
  if (facts.manuallyStopped) return false;
  switch (policy.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return facts.exitCode !== 0 && (policy.MaximumRetryCount === 0 || facts.restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** The exited containers the engine's start brings back. */
export function restartAtBoot(rows: readonly ContainerRow[]): ContainerRow[] {
  return rows.filter((row) => {
    if (row.status !== 'exited' || row.started_at === ZERO_TIME) return false;
    const policy = (JSON.parse(row.host_config) as { RestartPolicy?: RestartPolicy }).RestartPolicy;
    if (!policy) return false;
    return shouldRestartAtBoot(policy, { exitCode: row.exit_code, manuallyStopped: row.manually_stopped === 1, restartCount: row.restart_count });
  });
}

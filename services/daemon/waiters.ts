/**
 * Waiters of Docker's container wait conditions, in memory:
 *   not-running  resolved at once when the container is not running, else at its next stop;
 *   next-exit    resolved at the next stop after the wait was registered (whatever the state then);
 *   removed      resolved when the container is removed.
 * A removal also resolves the stop waiters (a created container can be removed without stopping),
 * as Docker's State.SetRemoved does.
 *
 * @example
 *   const w = waiters.add(id, 'next-exit');  // registered before the caller is told so
 *   const { statusCode } = await w.result;
 */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitOutcome {
  statusCode: number;
  /** Docker's State.Error at that moment; empty when none. */
  error: string;
}

interface Waiter {
  condition: WaitCondition;
  resolve(outcome: WaitOutcome): void;
}

export interface Registration {
  result: Promise<WaitOutcome>;
  cancel(): void;
}

export class Waiters {
  private readonly byContainer = new Map<string, Set<Waiter>>();

  add(id: string, condition: WaitCondition): Registration {
    let waiter!: Waiter;
    const result = new Promise<WaitOutcome>((resolve) => {
      waiter = { condition, resolve };
    });
    let set = this.byContainer.get(id);
    if (!set) this.byContainer.set(id, (set = new Set()));
    set.add(waiter);
    return { result, cancel: () => this.drop(id, waiter) };
  }

  /** The container stopped (exited, or its restart began): wakes not-running and next-exit waiters. */
  stopped(id: string, outcome: WaitOutcome): void {
    this.wake(id, outcome, (w) => w.condition !== 'removed');
  }

  /** The container is gone: wakes everyone. */
  removed(id: string, outcome: WaitOutcome): void {
    this.wake(id, outcome, () => true);
  }

  count(id: string): number {
    return this.byContainer.get(id)?.size ?? 0;
  }

  private wake(id: string, outcome: WaitOutcome, which: (w: Waiter) => boolean): void {
    const set = this.byContainer.get(id);
    if (!set) return;
    for (const w of [...set]) {
      if (!which(w)) continue;
      set.delete(w);
      w.resolve(outcome);
    }
    if (set.size === 0) this.byContainer.delete(id);
  }

  private drop(id: string, waiter: Waiter): void {
    const set = this.byContainer.get(id);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.byContainer.delete(id);
  }
}

/**
 * Runs tasks with at most `limit` at once. The first failure aborts the shared signal (so running
 * tasks stop early), every task is waited for, and that first failure is what is thrown.
 *
 * @example
 *   await runBounded(layers, 3, parentSignal, async (layer, i, signal) => fetch(layer, signal));
 */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  parent: AbortSignal | undefined,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const onParent = () => ac.abort(parent?.reason);
  if (parent?.aborted) ac.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !ac.signal.aborted) {
      const i = next++;
      try {
        await fn(items[i], i, ac.signal);
      } catch (err) {
        if (!failure) failure = { err };
        ac.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    parent?.removeEventListener('abort', onParent);
  }
  if (failure) throw failure.err;
  if (parent?.aborted) throw parent.reason ?? new Error('aborted');
}

/**
 * Bounding a wait on another layer where an answer without it beats a late one.
 *
 * @example
 *   const images = await within(500, containerd.images.call('List', {})).catch(() => undefined);
 */

/** The promise's value, or a rejection once `ms` have passed. */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

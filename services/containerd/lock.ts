/**
 * One queue for every operation that changes which blobs and snapshots are referenced (load,
 * image delete and its garbage collection, container create, export's reads), so a collection
 * never removes what a concurrent operation is about to reference.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(() => fn());
    this.tail = result.catch(() => undefined);
    return result;
  }
}

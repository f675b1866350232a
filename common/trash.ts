/**
 * Removing a directory tree off the request path. A container's removal must not wait for its
 * files to be unlinked one by one (an overlay upper dir, a log, a bundle): the tree is renamed into
 * the layer's trash, which is atomic, so the path is free and nothing refers to it any more when
 * the call returns, and is deleted in the background, in batches a little later, so that the
 * deleting does not compete with the requests that follow a removal. A crash meanwhile leaves it
 * in the trash, which the layer empties when it starts.
 *
 * @example
 *   const trash = new Trash(join(cfg.stateDir, 'trash'), log);
 *   await trash.empty();           // at start-up: what an earlier run left
 *   trash.throwAway(bundleDir);    // the dir is gone from its place now, from the disk soon
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from './log.js';

/** How long thrown-away trees wait, so that those of a burst of removals go in one batch. */
const BATCH_DELAY_MS = 500;

export class Trash {
  private serial = 0;
  private readonly removing = new Set<Promise<void>>();
  private waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly prefix = `${process.pid}-${Date.now().toString(36)}`;

  /** `dir` must be on the same filesystem as what is thrown away (a rename cannot cross them). */
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Takes `path` away now and deletes it in the background. Where it cannot be moved (another
   * filesystem) it is deleted here and now; a path that does not exist is nothing to do.
   */
  throwAway(path: string): void {
    const target = join(this.dir, `${this.prefix}-${++this.serial}`);
    try {
      renameSync(path, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (this.ensureDir()) this.throwAway(path); // it was the trash that was missing
        return;
      }
      rmSync(path, { recursive: true, force: true });
      return;
    }
    this.waiting.push(target);
    this.timer ??= setTimeout(() => this.removeWaiting(), BATCH_DELAY_MS).unref();
  }

  /** Deletes whatever is in the trash (left by a crash) and waits until it is gone. */
  async empty(): Promise<void> {
    this.ensureDir();
    for (const name of readdirSync(this.dir)) this.removeInBackground(join(this.dir, name));
    await this.settled();
  }

  /** Deletes what was thrown away without waiting for the batch, and resolves once it is gone. */
  async settled(): Promise<void> {
    this.removeWaiting();
    while (this.removing.size > 0) await Promise.all([...this.removing]);
  }

  private removeWaiting(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const path of this.waiting.splice(0)) this.removeInBackground(path);
  }

  /** Creates the trash dir; false when it existed already (so a missing path is the caller's). */
  private ensureDir(): boolean {
    try {
      mkdirSync(this.dir, { recursive: false, mode: 0o700 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      return true;
    }
  }

  private removeInBackground(path: string): void {
    const removal = rm(path, { recursive: true, force: true, maxRetries: 3 })
      .catch((err) => this.log.warn('cannot delete a removed directory; it stays in the trash until the next start', { path, err }))
      .finally(() => this.removing.delete(removal));
    this.removing.add(removal);
  }
}

/**
 * What the routes for a running container's operations need (pause, unpause, update, stats, top):
 * implemented over the daemon's contract by ../daemon-ops-backend.ts.
 */

export interface ContainerOpsBackend {
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /** Docker's UpdateConfig, passed on as it came; answers {"Warnings": …}. */
  update(id: string, configJson: Buffer): Promise<Buffer>;
  /** Docker's stats documents (JSON, one per sample); ends when the client goes (abort). */
  stats(opts: { id: string; stream: boolean; oneShot: boolean; apiVersion: string }, abort: AbortSignal): AsyncIterable<Buffer>;
  /** Docker's {Titles, Processes}. */
  top(id: string, psArgs: string): Promise<Buffer>;
}

/**
 * What the exec routes need (moby's router/container exec routes): create, start (attached through a
 * hijacked connection, or detached), inspect, resize. Implemented over the daemon's contract by
 * ../daemon-ops-backend.ts.
 */
import type { AttachSession } from '../containers/backend.js';

export interface ExecStartOptions {
  id: string;
  detach: boolean;
  /** [height, width] of Docker's ExecStartConfig.ConsoleSize; undefined for the exec's own. */
  consoleSize?: [number, number];
}

export interface ExecBackend {
  /** Docker's ExecConfig, passed on as it came; the new exec's id. */
  create(containerId: string, configJson: Buffer, apiVersion: string): Promise<string>;
  /**
   * Attached: resolves with the session once the exec is started (errors Docker answers before the
   * hijack are thrown; a process that cannot start tells so in its output). Detached: resolves
   * once the process runs.
   */
  start(opts: ExecStartOptions, abort: AbortSignal): Promise<AttachSession>;
  /** Docker's ExecInspect document, JSON. */
  inspect(id: string): Promise<Buffer>;
  resize(id: string, rows: number, cols: number): Promise<void>;
}

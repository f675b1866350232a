/**
 * What the container-file routes (docker cp, export, diff, commit, rename) need from the engine;
 * implemented over the daemon's contract in ../daemon-files-backend.ts. Failures are EngineErrors.
 */

export interface ArchiveRead {
  /** Docker's ContainerPathStat JSON. */
  stat: Buffer;
  /** The tar of the path. */
  data: AsyncIterable<Buffer>;
}

export interface ArchiveWrite {
  id: string;
  path: string;
  noOverwriteDirNonDir: boolean;
  copyUidGid: boolean;
}

export interface CommitOptions {
  container: string;
  repo: string;
  tag: string;
  comment: string;
  author: string;
  pause: boolean;
  changes: string[];
  /** A container Config (JSON) from the request body; empty for none. */
  configJson: Buffer;
}

export interface FilesBackend {
  /** Docker's ContainerPathStat JSON. */
  statPath(id: string, path: string): Promise<Buffer>;
  /** Resolves once the path is found (its stat known), before any of the tar. */
  readArchive(id: string, path: string, abort: AbortSignal): Promise<ArchiveRead>;
  writeArchive(opts: ArchiveWrite, tar: AsyncIterable<Buffer>, abort: AbortSignal): Promise<void>;
  exportTar(id: string, abort: AbortSignal): AsyncIterable<Buffer>;
  /** Docker's changes JSON. */
  changes(id: string): Promise<Buffer>;
  commit(opts: CommitOptions): Promise<string>;
  rename(id: string, name: string): Promise<void>;
}

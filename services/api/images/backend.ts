/**
 * What the images routes need from the engine; implemented by the daemon client adapter
 * (../daemon-backend.ts). Documents are Docker Engine API JSON, passed through as bytes.
 */
import type { Readable } from 'node:stream';

export interface ImageListOptions {
  all: boolean;
  /** Docker's filters JSON in the legacy format, "" for none. */
  filters: string;
  digests: boolean;
}

export interface ImagesBackend {
  list(opts: ImageListOptions): Promise<Buffer>;
  inspect(name: string): Promise<Buffer>;
  history(name: string): Promise<Buffer>;
  tag(source: string, repo: string, tag: string): Promise<void>;
  /** Docker's list of {"Untagged": …} / {"Deleted": …}, JSON. */
  remove(name: string, force: boolean, noPrune: boolean): Promise<Buffer>;
  /** Waits (bounded) until the engine answers: a load streams its answer only once it does. */
  ready(): Promise<void>;
  /** Loads a `docker save` tar read from `tar`; yields Docker's JSON messages, one per item. */
  load(tar: Readable, abort: AbortSignal): AsyncIterable<Buffer>;
  /** The `docker save` tar of `names`, in pieces. */
  save(names: string[], abort: AbortSignal): AsyncIterable<Buffer>;
}

/**
 * What the registry routes (pull, push, image prune, POST /auth, GET /system/df) need from the
 * engine; implemented over the daemon's contract by ../daemon-registry-backend.ts. Documents are
 * Docker Engine API JSON, passed through as bytes.
 */
import type { RegistryAuth } from '../../../common/proto-types/tersane/common/v1/RegistryAuth.js';

export interface PullOptions {
  fromImage: string;
  tag: string;
  platform: string;
  auth?: RegistryAuth;
}

export interface PushOptions {
  name: string;
  tag: string;
  auth?: RegistryAuth;
}

export interface RegistryBackend {
  /** Docker's JSON progress messages of a pull, one per item; an error before the first is the call's. */
  pull(opts: PullOptions, abort: AbortSignal): AsyncIterable<Buffer>;
  push(opts: PushOptions, abort: AbortSignal): AsyncIterable<Buffer>;
  /** {"ImagesDeleted": …, "SpaceReclaimed": …}, JSON. */
  prune(filters: string): Promise<Buffer>;
  /** {"Status":"Login Succeeded", …}, JSON; an unauthenticated error when the registry refuses. */
  auth(auth: RegistryAuth): Promise<Buffer>;
  /** Docker's /system/df document, JSON. */
  diskUsage(types: string[], apiVersion: string): Promise<Buffer>;
}

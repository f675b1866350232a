/**
 * The registry client's settings, from containerd's environment: each bound named and overridable.
 *
 *   TERSANE_REGISTRY_TIMEOUT_MS        silence allowed from a registry before a request fails (30000)
 *   TERSANE_INSECURE_REGISTRIES        more insecure registries: CIDRs, hosts, host:port (comma-separated)
 *   TERSANE_MAX_CONCURRENT_DOWNLOADS   layers fetched at once by one pull (3, Docker's default)
 *   TERSANE_MAX_CONCURRENT_UPLOADS     blobs sent at once by one push (5, Docker's default)
 *   TERSANE_PUSH_CHUNK_BYTES           blobs above this go up in PATCH chunks of this size (64 MiB)
 */
import { DEFAULT_REGISTRY_TIMEOUT_MS } from './http.js';
import { insecureFromEnv } from './hosts.js';
import type { PullOptions } from './pull.js';
import type { PushOptions } from './push.js';
import type { RegistrySettings } from './client.js';

const DEFAULT_CONCURRENT_DOWNLOADS = 3;
const DEFAULT_CONCURRENT_UPLOADS = 5;
const DEFAULT_PUSH_CHUNK_BYTES = 64 * 1024 * 1024;

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

export interface RegistryConfig {
  settings: RegistrySettings;
  pull: PullOptions;
  push: PushOptions;
}

export function registryConfig(unpackBinary: string, env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const settings: RegistrySettings = {
    timeoutMs: positive(env.TERSANE_REGISTRY_TIMEOUT_MS, DEFAULT_REGISTRY_TIMEOUT_MS),
    insecure: insecureFromEnv(env),
  };
  return {
    settings,
    pull: { settings, unpackBinary, concurrency: positive(env.TERSANE_MAX_CONCURRENT_DOWNLOADS, DEFAULT_CONCURRENT_DOWNLOADS) },
    push: {
      settings,
      concurrency: positive(env.TERSANE_MAX_CONCURRENT_UPLOADS, DEFAULT_CONCURRENT_UPLOADS),
      chunkBytes: positive(env.TERSANE_PUSH_CHUNK_BYTES, DEFAULT_PUSH_CHUNK_BYTES),
    },
  };
}

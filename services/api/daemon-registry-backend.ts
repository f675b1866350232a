/**
 * The registry backend over the daemon's contract: Images.Pull, Push, Prune and System.Auth,
 * DiskUsage. A stream is cancelled below when the HTTP client goes away.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DaemonClients } from '../daemon/client.js';
import type { RegistryBackend } from './images/registry-backend.js';
import { guard, messages } from './stdio-session.js';

/** The JSON documents of a daemon stream, tied to the HTTP client's lifetime. */
async function* documents(call: grpc.ClientReadableStream<unknown>, abort: AbortSignal, method: string): AsyncGenerator<Buffer> {
  const release = guard(call, abort, method);
  try {
    for await (const doc of messages<{ json: Buffer }>(call, abort)) yield doc.json;
  } finally {
    release();
    call.cancel();
  }
}

export function daemonRegistryBackend(daemon: DaemonClients): RegistryBackend {
  const { images: i, system: s } = daemon;
  return {
    async *pull(opts, abort) {
      await i.ready();
      yield* documents(i.raw.Pull({ from_image: opts.fromImage, tag: opts.tag, platform: opts.platform, auth: opts.auth }, i.metadata()), abort, 'Pull');
    },
    async *push(opts, abort) {
      await i.ready();
      yield* documents(i.raw.Push({ name: opts.name, tag: opts.tag, auth: opts.auth }, i.metadata()), abort, 'Push');
    },
    async prune(filters) {
      return (await i.call('Prune', { filters })).json;
    },
    async auth(auth) {
      return (await s.call('Auth', auth)).json;
    },
    async diskUsage(types, apiVersion) {
      return (await s.call('DiskUsage', { types, api_version: apiVersion })).json;
    },
  };
}

/**
 * The registry backend over the daemon's contract: Images.Pull, Push, Prune and System.Auth,
 * DiskUsage. A stream is cancelled below when the HTTP client goes away.
 */
import type * as grpc from '@grpc/grpc-js';
import { streamError } from '../../common/grpc.js';
import type { DaemonClients } from '../daemon/client.js';
import type { RegistryBackend } from './images/registry-backend.js';

const LAYER = 'daemon';

async function* documents(call: grpc.ClientReadableStream<unknown>, abort: AbortSignal): AsyncGenerator<Buffer> {
  call.on('error', () => undefined);
  const onAbort = () => call.cancel();
  if (abort.aborted) call.cancel();
  else abort.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const doc of call as AsyncIterable<{ json: Buffer }>) yield doc.json;
  } catch (err) {
    if (abort.aborted) return;
    throw streamError(LAYER, err);
  } finally {
    abort.removeEventListener('abort', onAbort);
    call.cancel();
  }
}

export function daemonRegistryBackend(daemon: DaemonClients): RegistryBackend {
  const { images: i, system: s } = daemon;
  return {
    async *pull(opts, abort) {
      await i.ready();
      yield* documents(i.raw.Pull({ from_image: opts.fromImage, tag: opts.tag, platform: opts.platform, auth: opts.auth }, i.metadata()), abort);
    },
    async *push(opts, abort) {
      await i.ready();
      yield* documents(i.raw.Push({ name: opts.name, tag: opts.tag, auth: opts.auth }, i.metadata()), abort);
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

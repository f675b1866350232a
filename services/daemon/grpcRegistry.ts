/**
 * The daemon's gRPC handlers for registry work and disk usage (Images.Pull, Push, Prune;
 * System.Auth, DiskUsage), spread by main.ts beside grpc.ts's: thin translation, the logic is in
 * registry.ts, imagePrune.ts and diskUsage.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import type { EventBus } from '../../common/events.js';
import { serverStream, unary } from '../../common/grpc.js';
import type { Logger } from '../../common/log.js';
import type { ImagesHandlers } from '../../common/proto-types/tersane/daemon/v1/Images.js';
import type { SystemHandlers } from '../../common/proto-types/tersane/daemon/v1/System.js';
import { diskUsage, type DiskUsageDeps } from './diskUsage.js';
import { pruneImages } from './imagePrune.js';
import type { ImageService } from './images.js';
import type { RegistryService } from './registry.js';
import type { ContainerStore } from './store.js';
import { jsonDocument, writeMessage } from '../../common/grpc-streams.js';

/** Aborted when the api cancels the call (its client went away). */
function cancelSignal(call: grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const ac = new AbortController();
  if (call.cancelled) ac.abort();
  call.on('cancelled', () => ac.abort());
  return ac.signal;
}

export function imagesRegistryHandlers(
  registry: RegistryService,
  images: ImageService,
  store: ContainerStore,
  bus: EventBus,
  log?: Logger,
): Pick<ImagesHandlers, 'Pull' | 'Push' | 'Prune'> {
  return {
    Pull: serverStream(async (req, call) => {
      const signal = cancelSignal(call as grpc.ServerWritableStream<unknown, unknown>);
      for await (const doc of registry.pull({ fromImage: req.from_image, tag: req.tag, platform: req.platform, auth: req.auth ?? undefined }, signal)) {
        if (signal.aborted) return;
        await writeMessage(call, jsonDocument(doc));
      }
    }),
    Push: serverStream(async (req, call) => {
      const signal = cancelSignal(call as grpc.ServerWritableStream<unknown, unknown>);
      for await (const doc of registry.push({ name: req.name, tag: req.tag, auth: req.auth ?? undefined }, signal)) {
        if (signal.aborted) return;
        await writeMessage(call, jsonDocument(doc));
      }
    }),
    Prune: unary(async (req) => jsonDocument(await pruneImages(images, store, bus, req.filters, log))),
  };
}

export function systemRegistryHandlers(registry: RegistryService, usage: DiskUsageDeps): Pick<SystemHandlers, 'Auth' | 'DiskUsage'> {
  return {
    Auth: unary(async (req) => jsonDocument(await registry.login(req))),
    DiskUsage: unary(async (req) => jsonDocument(await diskUsage(usage, { types: req.types, apiVersion: req.api_version }))),
  };
}

/**
 * The daemon's gRPC adapter (proto/daemon.proto): thin handlers that translate messages and call
 * the logic (lifecycle.ts, views.ts, images.ts, system.ts, attach.ts, logs.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { conflict, EngineError, notImplemented } from '../../common/errors.js';
import { duplex, firstMessage, serverStream, unary } from '../../common/grpc.js';
import type { AttachInput__Output } from '../../common/proto-types/tersane/common/v1/AttachInput.js';
import type { AttachOutput } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { Chunk__Output } from '../../common/proto-types/tersane/common/v1/Chunk.js';
import type { ContainersHandlers } from '../../common/proto-types/tersane/daemon/v1/Containers.js';
import type { ImagesHandlers } from '../../common/proto-types/tersane/daemon/v1/Images.js';
import type { SystemHandlers } from '../../common/proto-types/tersane/daemon/v1/System.js';
import type { AttachClient, AttachHubs } from './attach.js';
import { recordContainerEvent } from './dockerEvents.js';
import type { ImageService } from './images.js';
import { isRunning, parsedConfig, parsedHostConfig, type Lifecycle, type LifecycleDeps } from './lifecycle.js';
import { containerFileHandlers } from './filesGrpc.js';
import { findContainer } from './lookup.js';
import { readLog, readLogBatches } from './logs.js';
import { within } from './within.js';
import type { ContainerOpsMethod } from './grpcOps.js';
import type { SystemService } from './system.js';
import { inspectDocument, listDocuments, type ImageIndex } from './views.js';
import { containerExtras } from './containerExtras.js';
import { normalizeName } from '../../common/reference.js';
import { jsonDocument, whenCallGone, writeMessage } from '../../common/grpc-streams.js';

/** How long `docker ps` waits for containerd's image names before showing images as given. */
const IMAGE_NAMES_WAIT_MS = 500;

/** Pause, update, stats, top and exec are grpcOps.ts's. */
export function containersHandlers(
  deps: LifecycleDeps,
  lifecycle: Lifecycle,
  hubs: AttachHubs,
  images: ImageService,
  execIdsOf: (id: string) => string[] | null = () => null,
): Omit<ContainersHandlers, ContainerOpsMethod> {
  const { store } = deps;
  const stateDir = deps.cfg.layerState('daemon');
  const extras = containerExtras(deps.networking, deps.mounts);
  return {
    Create: unary(async (req) => {
      const res = await lifecycle.create({ name: req.name, configJson: req.config_json, apiVersion: req.api_version, platform: req.platform });
      return { id: res.id, warnings: res.warnings };
    }),
    Start: unary(async (req) => ({ not_modified: (await lifecycle.start(req.id)).notModified })),
    Stop: unary(async (req) => ({ not_modified: (await lifecycle.stop(req.id, req.timeout, req.signal)).notModified })),
    Restart: unary(async (req) => {
      await lifecycle.restart(req.id, req.timeout, req.signal);
      return {};
    }),
    Kill: unary(async (req) => {
      await lifecycle.kill(req.id, req.signal);
      return {};
    }),
    Remove: unary(async (req) => {
      await lifecycle.remove(req.id, req.force, req.volumes);
      return {};
    }),
    Wait: serverStream(async (req, call) => {
      const reg = lifecycle.wait(req.id, req.condition);
      call.write({ registered: true });
      const cancelled = whenCallGone(call).then(() => undefined);
      const outcome = await Promise.race([reg.result, cancelled]);
      if (!outcome) {
        reg.cancel();
        return;
      }
      call.write({ result: { status_code: outcome.statusCode, error: outcome.error } });
    }),
    Inspect: unary(async (req) => {
      const row = findContainer(store, req.id);
      return jsonDocument(inspectDocument(row, stateDir, execIdsOf(row.id), extras));
    }),
    List: unary(async (req) => {
      let index: ImageIndex | undefined;
      try {
        index = imageIndex(await within(IMAGE_NAMES_WAIT_MS, images.all()));
      } catch {
        index = undefined; // containerd down or slow: show images as the users gave them
      }
      return jsonDocument(listDocuments(store, store.list(), { all: req.all, limit: req.limit, filters: req.filters }, index, extras));
    }),
    Attach: duplex(async (call) => attach(deps, hubs, call)),
    Resize: unary(async (req) => {
      const row = findContainer(store, req.id);
      if (!isRunning(row)) throw conflict(`Container ${row.id} is not running`);
      await deps.containerd.tasks.call('Resize', { id: row.id, rows: req.rows, cols: req.cols });
      return {};
    }),
    Logs: serverStream(async (req, call) => {
      const row = findContainer(store, req.id);
      if (row.status === 'dead' || row.status === 'removing') throw conflict('can not get logs from container which is dead or marked for removal');
      const hostConfig = parsedHostConfig(row);
      if (hostConfig.LogConfig.Type === 'none') throw notImplemented('configured logging driver does not support reading');
      const tty = parsedConfig(row).Tty;
      // The log can be read: the api answers its head on this first message.
      call.write({ opened: true, tty });
      const abort = new AbortController();
      void whenCallGone(call).then(() => abort.abort());
      // Docker follows only a running container; a stopped one's log is read and the stream ends.
      const follow = req.follow && isRunning(row);
      const running = () => {
        const now = store.get(row.id);
        return now !== undefined && isRunning(now);
      };
      const readOpts = {
        follow,
        stdout: req.stdout,
        stderr: req.stderr,
        sinceNs: BigInt(req.since_ns_exact || req.since_ns || 0),
        untilNs: BigInt(req.until_ns_exact || req.until_ns || 0),
        tail: req.tail,
        signal: abort.signal,
      };
      if (req.batch) {
        for await (const batch of readLogBatches(lifecycle.paths(row.id).log, readOpts, running)) {
          if (abort.signal.aborted) break;
          // The time goes only to a caller that prints it (a tenth of a 10 MB log's bytes).
          await writeMessage(call, { entries: batch.map((e) => ({ stream: e.stream, line: e.line, time: req.timestamps ? e.time : '' })), tty });
        }
        return;
      }
      for await (const e of readLog(lifecycle.paths(row.id).log, readOpts, running)) {
        if (abort.signal.aborted) break;
        await writeMessage(call, { stream: e.stream, line: e.line, time: e.time, tty });
      }
    }),
    Prune: unary(async (req) => jsonDocument(await lifecycle.prune(req.filters))),
    ...containerFileHandlers(deps, lifecycle),
  };
}

/** One attached client: `open`, then stdin in and output out until the task exits or the client goes. */
async function attach(
  deps: LifecycleDeps,
  hubs: AttachHubs,
  call: grpc.ServerDuplexStream<AttachInput__Output, AttachOutput>,
): Promise<void> {
  const first = await firstMessage(call);
  if (!first?.open) {
    if (call.cancelled) return;
    throw new EngineError('invalid_argument', 'the first attach message must be `open`');
  }
  const open = first.open;
  const row = findContainer(deps.store, open.id);
  if (row.status === 'paused') throw conflict(`container ${open.id} is paused, unpause the container before attach.`);
  if (row.status === 'restarting') throw conflict(`container ${open.id} is restarting, wait until the container is running.`);
  const config = parsedConfig(row);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let ended = false;
  const client: AttachClient = {
    stdin: open.stdin && config.OpenStdin,
    stdout: open.stdout,
    stderr: open.stderr,
    send: (out) => {
      if (ended) return;
      if (out.stdout) call.write({ stdout: out.stdout });
      else if (out.stderr) call.write({ stderr: out.stderr });
      else if (out.exit) call.write({ exit: out.exit });
    },
    end: () => {
      if (ended) return;
      ended = true;
      finished();
    },
  };
  const leave = await hubs.join(row.id, client, { openStdin: config.OpenStdin, stdinOnce: config.StdinOnce, tty: config.Tty }, isRunning(row));
  deps.store.tx(() => recordContainerEvent(deps.bus, 'attach', row));
  call.write({ ready: true, tty: config.Tty });
  let inputClosed = false;
  const inputEnded = () => {
    if (inputClosed) return;
    inputClosed = true;
    hubs.inputEnded(row.id, client);
  };
  call.on('data', (m: AttachInput__Output) => {
    if (m.stdin) hubs.input(row.id, client, m.stdin);
    else if (m.close_stdin) inputEnded();
  });
  // The end of the client's input: its stdin's end, or (without stdin) its leaving.
  call.on('end', () => {
    if (client.stdin) inputEnded();
    else client.end();
  });
  const cancelled = whenCallGone(call);
  await Promise.race([done, cancelled]);
  if (!ended) {
    ended = true;
    // The client went away: with StdinOnce its departure closes the container's stdin, as Docker's does.
    if (client.stdin && !inputClosed) inputEnded();
  }
  leave();
}

function imageIndex(all: Array<{ id: string; names: string[] }>): ImageIndex {
  const byName = new Map<string, string>();
  for (const img of all) for (const n of img.names) byName.set(n, img.id);
  return {
    idOf(ref: string) {
      if (/^(sha256:)?[a-f0-9]{64}$/.test(ref)) return ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
      try {
        const hit = byName.get(normalizeName(ref));
        if (hit) return hit;
      } catch {
        // not a reference: maybe an id prefix
      }
      if (/^[a-f0-9]{4,63}$/.test(ref)) {
        const matches = all.filter((i) => i.id.replace(/^sha256:/, '').startsWith(ref));
        if (matches.length === 1) return matches[0].id;
      }
      return undefined;
    },
  };
}

/** Pull, Push and Prune are grpcRegistry.ts's. */
export function imagesHandlers(images: ImageService): Omit<ImagesHandlers, 'Pull' | 'Push' | 'Prune'> {
  return {
    List: unary(async (req) => jsonDocument(await images.list({ all: req.all, filters: req.filters, apiVersion: req.api_version }))),
    Inspect: unary(async (req) => jsonDocument(await images.inspect(req.name, req.api_version))),
    History: unary(async (req) => jsonDocument(await images.history(req.name))),
    Tag: unary(async (req) => {
      await images.tag(req.source, req.repo, req.tag);
      return {};
    }),
    Remove: unary(async (req) => jsonDocument(await images.remove(req.name, req.force))),
    Load: duplex(async (call) => {
      // Not `for await (… of call)`: at the end of input that would destroy the whole duplex stream,
      // whose writing side still carries the progress messages.
      async function* chunks(): AsyncGenerator<Buffer> {
        for await (const m of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Chunk__Output>) {
          if (m.data && m.data.length > 0) yield m.data;
        }
      }
      for await (const message of images.load(chunks())) {
        await writeMessage(call, jsonDocument(message));
      }
    }),
    Save: serverStream(async (req, call) => {
      for await (const data of images.save(req.names)) {
        if (call.cancelled) return;
        await writeMessage(call, { data });
      }
    }),
  };
}

/** Auth and DiskUsage are grpcRegistry.ts's. */
export function systemHandlers(system: SystemService): Omit<SystemHandlers, 'Auth' | 'DiskUsage'> {
  return {
    Info: unary(async () => jsonDocument(await system.info())),
    Version: unary(async () => jsonDocument(system.versionDocument())),
  };
}


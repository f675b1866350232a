/**
 * The api's backends implemented over the daemon's gRPC contract (proto/daemon.proto): the one
 * place where HTTP-side calls become daemon calls. Errors come back as EngineErrors naming the
 * daemon (common/grpc.ts); a call whose client went away is cancelled below through its AbortSignal.
 *
 * @example
 *   const backends = daemonBackends(connectDaemon(cfg));
 *   await backends.containers.start('ctr1');
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { EngineError, internal, invalidArgument, unavailable } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/log.js';
import type { DaemonClients } from '../daemon/client.js';
import type { AttachSession, ContainersBackend, LogLine, WaitCondition, WaitResult } from './containers/backend.js';
import { streamEvents } from './docker-events.js';
import type { ImagesBackend } from './images/backend.js';
import type { RegistryBackend } from './images/registry-backend.js';
import { daemonRegistryBackend } from './daemon-registry-backend.js';
import { daemonFilesBackend } from './daemon-files-backend.js';
import type { FilesBackend } from './files/backend.js';
import { daemonNetworksBackend, daemonVolumesBackend } from './daemon-network-backend.js';
import type { NetworksBackend } from './networks/backend.js';
import type { VolumesBackend } from './volumes/backend.js';
import type { SystemBackend } from './system/backend.js';
import { daemonOpsBackends } from './daemon-ops-backend.js';
import type { ExecBackend } from './exec/backend.js';
import type { ContainerOpsBackend } from './containers/ops-backend.js';
import { guard, messages, openStdioSession } from './stdio-session.js';

/** A wait cut by a daemon restart is asked again this many times (each bounded by layerWaitMs). */
const WAIT_RESUME_ATTEMPTS = 3;

export interface Backends {
  containers: ContainersBackend;
  images: ImagesBackend;
  system: SystemBackend;
  /** Pull, push, image prune, /auth, /system/df (daemon-registry-backend.ts). */
  registry?: RegistryBackend;
  /** docker cp, export, diff, commit, rename (daemon-files-backend.ts). */
  files?: FilesBackend;
  /** docker network … (daemon-network-backend.ts). */
  networks?: NetworksBackend;
  /** docker volume … (daemon-network-backend.ts). */
  volumes?: VolumesBackend;
  /** Exec create/start/inspect/resize (daemon-ops-backend.ts). */
  execs?: ExecBackend;
  /** Pause, unpause, update, stats, top (daemon-ops-backend.ts). */
  containerOps?: ContainerOpsBackend;
}

function inspectTty(doc: Buffer): boolean {
  const parsed = JSON.parse(doc.toString('utf8')) as { Config?: { Tty?: unknown } };
  return parsed.Config?.Tty === true;
}

/**
 * `events` is the api's own connection to the event stream (Docker's events are read from NATS
 * JetStream, not asked of the daemon); without it, /events answers 503.
 */
export function daemonBackends(daemon: DaemonClients, log?: Logger, events?: EventBus, waitMs = 10_000): Backends {
  const { containers: c, images: i, system: s } = daemon;

  /** One Wait call: resolves once the daemon registered it; `result` then waits for the outcome. */
  async function waitOnce(id: string, condition: WaitCondition, abort: AbortSignal): Promise<{ result: () => Promise<WaitResult> }> {
    await c.ready();
    const call = c.raw.Wait({ id, condition }, c.metadata());
    const release = guard(call, abort, 'Wait', log);
    const it = messages<{ registered?: boolean; result?: { status_code: number; error: string } | null }>(call, abort);
    const toResult = (r: { status_code: number; error: string }): WaitResult => ({ statusCode: r.status_code, error: r.error });
    const finish = () => {
      release();
      call.cancel();
    };
    let first;
    try {
      first = await it.next();
    } catch (err) {
      finish();
      throw err;
    }
    if (first.done) {
      finish();
      if (abort.aborted) return { result: async () => ({ statusCode: -1, error: 'the client went away' }) };
      throw internal(`the daemon ended the wait on ${id} before registering it`);
    }
    if (first.value.result) {
      finish();
      const immediate = toResult(first.value.result);
      return { result: async () => immediate };
    }
    return {
      async result() {
        try {
          for (;;) {
            const next = await it.next();
            if (next.done) {
              if (abort.aborted) return { statusCode: -1, error: 'the client went away' };
              throw internal(`the daemon ended the wait on ${id} without a result`);
            }
            if (next.value.result) return toResult(next.value.result);
          }
        } finally {
          finish();
        }
      },
    };
  }

  const containers: ContainersBackend = {
    async create(opts) {
      const res = await c.call('Create', {
        name: opts.name,
        config_json: opts.configJson,
        api_version: opts.apiVersion,
        platform: opts.platform,
      });
      return { id: res.id, warnings: res.warnings };
    },

    async start(id) {
      const res = await c.call('Start', { id });
      return { notModified: Boolean(res.not_modified) };
    },

    async stop(opts) {
      const res = await c.call('Stop', { id: opts.id, timeout: opts.timeout ?? -1, signal: opts.signal });
      return { notModified: res.not_modified };
    },

    async restart(opts) {
      await c.call('Restart', { id: opts.id, timeout: opts.timeout ?? -1, signal: opts.signal });
    },

    async kill(id, signal) {
      await c.call('Kill', { id, signal });
    },

    async remove(id, force, volumes) {
      await c.call('Remove', { id, force, volumes });
    },

    async wait(id: string, condition: WaitCondition, abort: AbortSignal) {
      const first = await waitOnce(id, condition, abort);
      const result = (async () => {
        let current = first;
        for (let attempt = 1; ; attempt++) {
          try {
            return await current.result();
          } catch (err) {
            if (abort.aborted || !(err instanceof EngineError) || err.kind !== 'unavailable' || attempt > WAIT_RESUME_ATTEMPTS) throw err;
            // The daemon went away mid-wait (a restart): ask again once it is back. A container
            // that exited meanwhile is no longer running, so "next exit" becomes "not running".
            current = await waitOnce(id, condition === 'next-exit' ? 'not-running' : condition, abort);
          }
        }
      })();
      return { result };
    },

    async inspect(id, size) {
      const doc = await c.call('Inspect', { id, size });
      return doc.json;
    },

    async hasTty(id) {
      return inspectTty((await c.call('Inspect', { id, size: false })).json);
    },

    async list(opts) {
      return (await c.call('List', opts)).json;
    },

    async attach(opts, abort): Promise<AttachSession> {
      await c.ready();
      const open = { id: opts.id, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr };
      return openStdioSession(c.raw.Attach(c.metadata()), open, abort, { method: 'Attach', what: `attachment to ${opts.id}` }, log);
    },

    async resize(id, rows, cols) {
      await c.call('Resize', { id, rows, cols });
    },

    async *logs(opts, abort): AsyncGenerator<LogLine> {
      for await (const batch of await containers.openLogs(opts, abort)) yield* batch;
    },

    async openLogs(opts, abort): Promise<AsyncIterable<LogLine[]>> {
      await c.ready();
      const call = c.raw.Logs(
        {
          id: opts.id,
          follow: opts.follow,
          stdout: opts.stdout,
          stderr: opts.stderr,
          since_ns: opts.sinceNs.toString(),
          until_ns: opts.untilNs.toString(),
          since_ns_exact: opts.sinceNs.toString(),
          until_ns_exact: opts.untilNs.toString(),
          timestamps: opts.timestamps,
          tail: opts.tail,
          batch: true,
        },
        c.metadata(),
      );
      const release = guard(call, abort, 'Logs', log);
      type Entry = { stream: string; line: Buffer; time: string; opened?: boolean; entries?: Entry[] };
      const it = messages<Entry>(call, abort);
      let first: IteratorResult<Entry>;
      try {
        // The daemon's first message says the log can be read (or the stream fails with why not).
        first = await it.next();
      } catch (err) {
        release();
        call.cancel();
        throw err;
      }
      const toLine = (e: Entry): LogLine => ({ stream: e.stream === 'stderr' ? 'stderr' : 'stdout', line: e.line, time: e.time });
      // Batches from a daemon that sends them; a line per message from one that does not.
      const lines = (e: Entry): LogLine[] => (e.entries?.length ? e.entries.map(toLine) : e.opened ? [] : [toLine(e)]);
      return (async function* () {
        try {
          if (first.done) return;
          const head = lines(first.value);
          if (head.length) yield head;
          for await (const e of it) {
            const batch = lines(e);
            if (batch.length) yield batch;
          }
        } finally {
          release();
          call.cancel();
        }
      })();
    },

    async prune(filters) {
      return (await c.call('Prune', { filters })).json;
    },
  };

  const images: ImagesBackend = {
    async list(opts) {
      return (await i.call('List', opts)).json;
    },
    async inspect(name) {
      return (await i.call('Inspect', { name })).json;
    },
    async history(name) {
      return (await i.call('History', { name })).json;
    },
    async tag(source, repo, tag) {
      await i.call('Tag', { source, repo, tag });
    },
    async remove(name, force, noPrune) {
      return (await i.call('Remove', { name, force, no_prune: noPrune })).json;
    },
    ready: () => i.ready(),

    async *load(tar: Readable, abort: AbortSignal): AsyncGenerator<Buffer> {
      await i.ready();
      const call = i.raw.Load(i.metadata());
      const release = guard(call, abort, 'Load', log);
      let inputError: Error | undefined;
      // The tar goes down as it arrives, at the pace the daemon takes it.
      const pump = (async () => {
        for await (const chunk of tar) {
          if (call.destroyed) return;
          if (!call.write({ data: chunk as Buffer })) await once(call, 'drain');
        }
        call.end();
      })().catch((err: Error) => {
        inputError = err;
        call.cancel();
      });
      try {
        for await (const doc of messages<{ json: Buffer }>(call, abort)) yield doc.json;
        await pump;
        if (inputError && !abort.aborted) throw invalidArgument(`reading the image archive: ${inputError.message}`);
      } finally {
        release();
        call.cancel();
        tar.resume();
      }
    },

    async *save(names, abort): AsyncGenerator<Buffer> {
      await i.ready();
      const call = i.raw.Save({ names }, i.metadata());
      const release = guard(call, abort, 'Save', log);
      try {
        for await (const chunk of messages<{ data: Buffer }>(call, abort)) yield chunk.data;
      } finally {
        release();
        call.cancel();
      }
    },
  };

  const eventStream = () => {
    const handles = events?.jetstream();
    if (!handles) throw unavailable('NATS is unavailable: the event stream cannot be read');
    return handles.js;
  };
  const system: SystemBackend = {
    async info() {
      return (await s.call('Info', {})).json;
    },
    async version() {
      return (await s.call('Version', {})).json;
    },
    async eventsReady() {
      if (events?.jetstream()) return;
      if (!events) eventStream();
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable(`NATS is unavailable: no connection within ${waitMs} ms`)), waitMs);
      });
      try {
        await Promise.race([events!.waitConnected(), gaveUp]);
      } finally {
        clearTimeout(timer);
      }
    },
    events(query, emit, signal) {
      return streamEvents(eventStream(), query, emit, signal);
    },
  };

  const { execs, ops } = daemonOpsBackends(daemon, log);
  return { containers, images, system, registry: daemonRegistryBackend(daemon), files: daemonFilesBackend(daemon), execs, containerOps: ops, networks: daemonNetworksBackend(daemon), volumes: daemonVolumesBackend(daemon) };
}

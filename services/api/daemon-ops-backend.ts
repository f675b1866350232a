/**
 * The exec and container-operation backends (exec/backend.ts, containers/ops-backend.ts) over the
 * daemon's contract (proto/daemon.proto): ExecCreate/ExecStart/ExecInspect/ExecResize, Pause,
 * Unpause, Update, Stats, Top. A streaming call is cancelled when its client goes away.
 *
 * @example
 *   const { execs, ops } = daemonOpsBackends(connectDaemon(cfg));
 */
import { once } from 'node:events';
import { internal } from '../../common/errors.js';
import { streamError } from '../../common/grpc.js';
import type { Logger } from '../../common/log.js';
import type { DaemonClients } from '../daemon/client.js';
import type { AttachEvent, AttachSession } from './containers/backend.js';
import type { ContainerOpsBackend } from './containers/ops-backend.js';
import type { ExecBackend } from './exec/backend.js';

const LAYER = 'daemon';

type Out = { ready?: boolean; stdout?: Buffer; stderr?: Buffer; exit?: { exit_code: number } | null; tty: boolean };

export function daemonOpsBackends(daemon: DaemonClients, log?: Logger): { execs: ExecBackend; ops: ContainerOpsBackend } {
  const c = daemon.containers;

  const execs: ExecBackend = {
    async create(containerId, configJson, apiVersion) {
      return (await c.call('ExecCreate', { id: containerId, config_json: configJson, api_version: apiVersion })).id;
    },

    async start(opts, abort): Promise<AttachSession> {
      await c.ready();
      const call = c.raw.ExecStart(c.metadata());
      call.on('error', () => undefined);
      const cancel = () => call.cancel();
      if (abort.aborted) cancel();
      else abort.addEventListener('abort', cancel, { once: true });
      const release = () => abort.removeEventListener('abort', cancel);
      let detached = false;
      const it = (call as AsyncIterable<Out>)[Symbol.asyncIterator]();
      const next = async (): Promise<IteratorResult<Out>> => {
        try {
          return await it.next();
        } catch (err) {
          if (abort.aborted || detached) return { done: true, value: undefined };
          throw streamError(LAYER, err);
        }
      };
      call.write({
        open: { exec_id: opts.id, detach: opts.detach, console_height: opts.consoleSize?.[0] ?? 0, console_width: opts.consoleSize?.[1] ?? 0 },
      });
      let first: IteratorResult<Out>;
      try {
        first = await next();
      } catch (err) {
        release();
        throw err;
      }
      if (first.done || !first.value.ready) {
        release();
        call.cancel();
        if (abort.aborted) throw internal('the client went away');
        throw internal(`the daemon did not confirm the start of exec ${opts.id}`);
      }
      const output = (async function* (): AsyncGenerator<AttachEvent> {
        try {
          for (;;) {
            const r = await next();
            if (r.done) return;
            const m = r.value;
            if (m.stdout) yield { kind: 'stdout', data: m.stdout };
            else if (m.stderr) yield { kind: 'stderr', data: m.stderr };
            else if (m.exit) {
              yield { kind: 'exit', exitCode: m.exit.exit_code };
              return;
            }
          }
        } finally {
          release();
          call.cancel();
        }
      })();
      if (opts.detach) {
        release();
        call.cancel();
      }
      const writable = () => !call.destroyed && !call.writableEnded;
      return {
        tty: first.value.tty,
        output,
        async writeStdin(data) {
          if (!writable()) return;
          if (!call.write({ stdin: data })) await once(call, 'drain').catch(() => undefined);
        },
        closeStdin() {
          if (writable()) call.write({ close_stdin: true });
        },
        detach() {
          detached = true;
          call.cancel();
        },
        detachByKeys() {
          detached = true;
          if (writable()) call.write({ detached: true });
          // Let the message go before the call is cut.
          setImmediate(() => call.cancel());
        },
      };
    },

    async inspect(id) {
      return (await c.call('ExecInspect', { id })).json;
    },

    async resize(id, rows, cols) {
      await c.call('ExecResize', { id, rows, cols });
    },
  };

  const ops: ContainerOpsBackend = {
    async pause(id) {
      await c.call('Pause', { id });
    },
    async unpause(id) {
      await c.call('Unpause', { id });
    },
    async update(id, configJson) {
      return (await c.call('Update', { id, config_json: configJson })).json;
    },
    async *stats(opts, abort) {
      await c.ready();
      const call = c.raw.Stats({ id: opts.id, stream: opts.stream, one_shot: opts.oneShot, api_version: opts.apiVersion }, c.metadata());
      call.on('error', () => undefined);
      const cancel = () => {
        log?.debug('cancelled a daemon call: its client went away', { method: 'Stats' });
        call.cancel();
      };
      if (abort.aborted) call.cancel();
      else abort.addEventListener('abort', cancel, { once: true });
      try {
        for await (const doc of call as AsyncIterable<{ json: Buffer }>) yield doc.json;
      } catch (err) {
        if (!abort.aborted) throw streamError(LAYER, err);
      } finally {
        abort.removeEventListener('abort', cancel);
        call.cancel();
      }
    },
    async top(id, psArgs) {
      return (await c.call('Top', { id, ps_args: psArgs })).json;
    },
  };

  return { execs, ops };
}

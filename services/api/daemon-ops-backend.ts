/**
 * The exec and container-operation backends (exec/backend.ts, containers/ops-backend.ts) over the
 * daemon's contract (proto/daemon.proto): ExecCreate/ExecStart/ExecInspect/ExecResize, Pause,
 * Unpause, Update, Stats, Top. A streaming call is cancelled when its client goes away.
 *
 * @example
 *   const { execs, ops } = daemonOpsBackends(connectDaemon(cfg));
 */
import type { Logger } from '../../common/log.js';
import type { DaemonClients } from '../daemon/client.js';
import type { AttachSession } from './containers/backend.js';
import type { ContainerOpsBackend } from './containers/ops-backend.js';
import type { ExecBackend } from './exec/backend.js';
import { guard, messages, openStdioSession } from './stdio-session.js';

export function daemonOpsBackends(daemon: DaemonClients, log?: Logger): { execs: ExecBackend; ops: ContainerOpsBackend } {
  const c = daemon.containers;

  const execs: ExecBackend = {
    async create(containerId, configJson, apiVersion) {
      return (await c.call('ExecCreate', { id: containerId, config_json: configJson, api_version: apiVersion })).id;
    },

    async start(opts, abort): Promise<AttachSession> {
      await c.ready();
      const open = { exec_id: opts.id, detach: opts.detach, console_height: opts.consoleSize?.[0] ?? 0, console_width: opts.consoleSize?.[1] ?? 0 };
      const call = c.raw.ExecStart(c.metadata());
      const session = await openStdioSession(call, open, abort, { method: 'ExecStart', what: `start of exec ${opts.id}` }, log);
      // Detached: the process runs on its own; nothing more comes to this client.
      if (opts.detach) session.detach();
      return {
        ...session,
        leave() {
          if (!call.destroyed && !call.writableEnded) call.write({ detached: true });
          session.leave();
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
      const release = guard(call, abort, 'Stats', log);
      try {
        for await (const doc of messages<{ json: Buffer }>(call, abort)) yield doc.json;
      } finally {
        release();
        call.cancel();
      }
    },
    async top(id, psArgs) {
      return (await c.call('Top', { id, ps_args: psArgs })).json;
    },
  };

  return { execs, ops };
}

/**
 * The container-files backend over the daemon's contract (StatPath, ReadArchive, WriteArchive,
 * Export, Changes, Commit, Rename). Streams are cancelled below when the HTTP client goes away.
 */
import { internal } from '../../common/errors.js';
import { streamError } from '../../common/grpc.js';
import type { DaemonClients } from '../daemon/client.js';
import type { FilesBackend } from './files/backend.js';
import { guard, messages } from './stdio-session.js';

const LAYER = 'daemon';

export function daemonFilesBackend(daemon: DaemonClients): FilesBackend {
  const { containers: c } = daemon;
  return {
    async statPath(id, path) {
      return (await c.call('StatPath', { id, path })).json;
    },

    async readArchive(id, path, abort) {
      await c.ready();
      const call = c.raw.ReadArchive({ id, path }, c.metadata());
      const release = guard(call, abort, 'ReadArchive');
      const it = (call as AsyncIterable<{ stat?: Buffer; data?: Buffer }>)[Symbol.asyncIterator]();
      let first;
      try {
        first = await it.next();
      } catch (err) {
        release();
        throw streamError(LAYER, err);
      }
      if (first.done || !first.value.stat?.length) {
        release();
        call.cancel();
        throw internal(`the daemon sent no stat for ${path} in ${id}`);
      }
      const data = (async function* () {
        try {
          for (;;) {
            const next = await it.next();
            if (next.done) return;
            if (next.value.data?.length) yield next.value.data;
          }
        } catch (err) {
          if (abort.aborted) return;
          throw streamError(LAYER, err);
        } finally {
          release();
          call.cancel();
        }
      })();
      return { stat: first.value.stat, data };
    },

    async writeArchive(opts, tar, abort) {
      await c.ready();
      await new Promise<void>((resolve, reject) => {
        const call = c.raw.WriteArchive(c.metadata(), (err) => (err ? reject(streamError(LAYER, err)) : resolve()));
        const release = guard(call, abort, 'WriteArchive');
        call.on('close', release);
        call.write({ open: { id: opts.id, path: opts.path, no_overwrite_dir_non_dir: opts.noOverwriteDirNonDir, copy_uid_gid: opts.copyUidGid } });
        void (async () => {
          try {
            for await (const piece of tar) {
              if (call.destroyed || call.writableEnded) return;
              if (!call.write({ data: piece })) await new Promise<void>((r) => { call.once('drain', r); call.once('close', r); });
            }
            if (!call.writableEnded) call.end();
          } catch {
            call.cancel();
          }
        })();
      });
    },

    async *exportTar(id, abort) {
      await c.ready();
      const call = c.raw.Export({ id }, c.metadata());
      const release = guard(call, abort, 'Export');
      try {
        for await (const msg of messages<{ data: Buffer }>(call, abort)) if (msg.data?.length) yield msg.data;
      } finally {
        release();
        call.cancel();
      }
    },

    async changes(id) {
      return (await c.call('Changes', { id })).json;
    },

    async commit(opts) {
      const res = await c.call('Commit', {
        container: opts.container,
        repo: opts.repo,
        tag: opts.tag,
        comment: opts.comment,
        author: opts.author,
        pause: opts.pause,
        changes: opts.changes,
        config_json: opts.configJson,
      });
      return res.id;
    },

    async rename(id, name) {
      await c.call('Rename', { id, name });
    },
  };
}

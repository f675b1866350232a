/**
 * The container-files part of the daemon's Containers contract (docker cp, export, diff, commit,
 * rename), for grpc.ts to spread into its handlers: translation only; the logic is in archive.ts,
 * commit.ts and rename.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { invalidArgument } from '../../common/errors.js';
import { clientStream, serverStream, unary } from '../../common/grpc.js';
import type { ContainersHandlers } from '../../common/proto-types/tersane/daemon/v1/Containers.js';
import type { WriteArchiveInput__Output } from '../../common/proto-types/tersane/daemon/v1/WriteArchiveInput.js';
import { ContainerArchive } from './archive.js';
import { ContainerCommits } from './commit.js';
import type { Lifecycle, LifecycleDeps } from './lifecycle.js';
import { ContainerRenames } from './rename.js';

type FileMethods = 'StatPath' | 'ReadArchive' | 'WriteArchive' | 'Export' | 'Changes' | 'Commit' | 'Rename';

function cancellation(call: { on(event: 'cancelled', fn: () => void): unknown; cancelled: boolean }): AbortSignal {
  const ac = new AbortController();
  if (call.cancelled) ac.abort();
  call.on('cancelled', () => ac.abort());
  return ac.signal;
}

async function send<T>(call: grpc.ServerWritableStream<unknown, T>, msg: T): Promise<void> {
  if (call.cancelled) return;
  if (!call.write(msg)) await Promise.race([once(call, 'drain'), once(call, 'cancelled')]);
}

export function containerFileHandlers(deps: LifecycleDeps, lifecycle: Lifecycle): Pick<ContainersHandlers, FileMethods> {
  const archive = new ContainerArchive(deps, lifecycle);
  const commits = new ContainerCommits(deps);
  const renames = new ContainerRenames(deps, lifecycle);
  const json = (value: unknown) => ({ json: Buffer.from(JSON.stringify(value)) });
  return {
    StatPath: unary(async (req) => json(await archive.statPath(req.id, req.path))),
    ReadArchive: serverStream(async (req, call) => {
      const c = call as grpc.ServerWritableStream<unknown, unknown>;
      await archive.readArchive(
        req.id,
        req.path,
        (stat) => send(c, { stat: Buffer.from(JSON.stringify(stat)) }),
        (data) => send(c, { data }),
        cancellation(call),
      );
    }),
    WriteArchive: clientStream(async (call) => {
      const it = (call as AsyncIterable<WriteArchiveInput__Output>)[Symbol.asyncIterator]();
      const first = await it.next();
      const open = first.done ? undefined : first.value.open;
      if (!open) throw invalidArgument('the first WriteArchive message must be `open`');
      const chunks = (async function* () {
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          if (next.value.data?.length) yield next.value.data;
        }
      })();
      await archive.writeArchive(
        { ref: open.id, path: open.path, noOverwriteDirNonDir: open.no_overwrite_dir_non_dir, copyUidGid: open.copy_uid_gid },
        chunks,
        cancellation(call),
      );
      return {};
    }),
    Export: serverStream(async (req, call) => {
      const c = call as grpc.ServerWritableStream<unknown, unknown>;
      await archive.exportTar(req.id, (data) => send(c, { data }), cancellation(call));
    }),
    Changes: unary(async (req) => json(await archive.changes(req.id))),
    Commit: unary(async (req) => ({ id: await commits.commit(req) })),
    Rename: unary(async (req) => {
      await renames.rename(req.id, req.name);
      return {};
    }),
  };
}

/**
 * The container-files part of the daemon's Containers contract (docker cp, export, diff, commit,
 * rename), for grpc.ts to spread into its handlers: translation only; the logic is in archive.ts,
 * commit.ts and rename.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { clientStream, serverStream, unary } from '../../common/grpc.js';
import type { ContainersHandlers } from '../../common/proto-types/tersane/daemon/v1/Containers.js';
import type { WriteArchiveInput__Output } from '../../common/proto-types/tersane/daemon/v1/WriteArchiveInput.js';
import { ContainerArchive } from './archive.js';
import { ContainerCommits } from './commit.js';
import type { Lifecycle, LifecycleDeps } from './lifecycle.js';
import { ContainerRenames } from './rename.js';
import { callSignal, messagesOf, openThenData, writeMessage } from '../../common/grpc-streams.js';

type FileMethods = 'StatPath' | 'ReadArchive' | 'WriteArchive' | 'Export' | 'Changes' | 'Commit' | 'Rename';

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
        (stat) => writeMessage(c, { stat: Buffer.from(JSON.stringify(stat)) }),
        (data) => writeMessage(c, { data }),
        callSignal(call),
      );
    }),
    WriteArchive: clientStream(async (call) => {
      const { open, data: chunks } = await openThenData(messagesOf<WriteArchiveInput__Output>(call), 'WriteArchive');
      await archive.writeArchive(
        { ref: open.id, path: open.path, noOverwriteDirNonDir: open.no_overwrite_dir_non_dir, copyUidGid: open.copy_uid_gid },
        chunks,
        callSignal(call),
      );
      return {};
    }),
    Export: serverStream(async (req, call) => {
      const c = call as grpc.ServerWritableStream<unknown, unknown>;
      await archive.exportTar(req.id, (data) => writeMessage(c, { data }), callSignal(call));
    }),
    Changes: unary(async (req) => json(await archive.changes(req.id))),
    Commit: unary(async (req) => ({ id: await commits.commit(req) })),
    Rename: unary(async (req) => {
      await renames.rename(req.id, req.name);
      return {};
    }),
  };
}

/**
 * The container-files part of containerd's contracts (Containers: StatPath, ReadArchive,
 * WriteArchive, Export, Changes; Images: Commit), for grpc.ts to spread into its handlers:
 * translation only; the logic is in files.ts and commit.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { clientStream, serverStream, unary } from '../../../common/grpc.js';
import { callSignal, chunkWriter, messagesOf, openThenData } from '../../../common/grpc-streams.js';
import type { ArchiveInput__Output } from '../../../common/proto-types/tersane/containerd/v1/ArchiveInput.js';
import type { ContainersHandlers } from '../../../common/proto-types/tersane/containerd/v1/Containers.js';
import type { ImagesHandlers } from '../../../common/proto-types/tersane/containerd/v1/Images.js';
import { commitContainer } from './commit.js';
import type { ContainerFiles } from './files.js';

type Writable<T> = grpc.ServerWritableStream<unknown, T>;

export function fileHandlers(files: ContainerFiles): Pick<ContainersHandlers, 'StatPath' | 'ReadArchive' | 'WriteArchive' | 'Export' | 'Changes'> {
  return {
    StatPath: unary(async (req) => files.statPath(req.container_id, req.path)),
    ReadArchive: serverStream(async (req, call) => {
      const out = chunkWriter(call as Writable<unknown>, (data) => ({ data }));
      await files.readArchive(
        req.container_id,
        req.path,
        async (stat) => {
          call.write({ stat });
        },
        (piece) => out.write(piece),
        callSignal(call),
      );
      await out.flush();
    }),
    WriteArchive: clientStream(async (call) => {
      const { open, data: chunks } = await openThenData(messagesOf<ArchiveInput__Output>(call), 'WriteArchive');
      await files.writeArchive(
        { id: open.container_id, path: open.path, noOverwriteDirNonDir: open.no_overwrite_dir_non_dir, copyUidGid: open.copy_uid_gid },
        chunks,
        callSignal(call),
      );
      return {};
    }),
    Export: serverStream(async (req, call) => {
      const out = chunkWriter(call as Writable<unknown>, (data) => ({ data }));
      await files.exportTar(req.id, (piece) => out.write(piece), callSignal(call));
      await out.flush();
    }),
    Changes: unary(async (req) => ({ changes: await files.changes(req.id) })),
  };
}

export function commitHandlers(files: ContainerFiles): Pick<ImagesHandlers, 'Commit'> {
  return {
    Commit: unary(async (req) =>
      commitContainer(files, { containerId: req.container_id, config: req.config, history: req.history, name: req.name }),
    ),
  };
}

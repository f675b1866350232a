/**
 * The container-files part of containerd's contracts (Containers: StatPath, ReadArchive,
 * WriteArchive, Export, Changes; Images: Commit), for grpc.ts to spread into its handlers:
 * translation only; the logic is in files.ts and commit.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { invalidArgument } from '../../../common/errors.js';
import { clientStream, serverStream, unary } from '../../../common/grpc.js';
import type { ArchiveInput__Output } from '../../../common/proto-types/tersane/containerd/v1/ArchiveInput.js';
import type { ContainersHandlers } from '../../../common/proto-types/tersane/containerd/v1/Containers.js';
import type { ImagesHandlers } from '../../../common/proto-types/tersane/containerd/v1/Images.js';
import { commitContainer } from './commit.js';
import type { ContainerFiles } from './files.js';

/** Tar output goes out in messages of about this size. */
const CHUNK = 256 * 1024;

type Writable<T> = grpc.ServerWritableStream<unknown, T>;

function cancellation(call: { on(event: 'cancelled' | 'close', fn: () => void): unknown; cancelled: boolean }): AbortSignal {
  const ac = new AbortController();
  if (call.cancelled) ac.abort();
  call.on('cancelled', () => ac.abort());
  return ac.signal;
}

/** Writes pieces coalesced into CHUNK-sized messages, with back-pressure. */
function chunker<T>(call: Writable<T>, wrap: (data: Buffer) => T) {
  let pending: Buffer[] = [];
  let size = 0;
  const send = async (data: Buffer) => {
    if (call.cancelled) return;
    if (!call.write(wrap(data))) await Promise.race([once(call, 'drain'), once(call, 'cancelled')]);
  };
  return {
    async write(piece: Buffer) {
      pending.push(piece);
      size += piece.length;
      if (size >= CHUNK) await this.flush();
    },
    async flush() {
      if (size === 0) return;
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      size = 0;
      await send(data);
    },
  };
}

export function fileHandlers(files: ContainerFiles): Pick<ContainersHandlers, 'StatPath' | 'ReadArchive' | 'WriteArchive' | 'Export' | 'Changes'> {
  return {
    StatPath: unary(async (req) => files.statPath(req.container_id, req.path)),
    ReadArchive: serverStream(async (req, call) => {
      const out = chunker(call as Writable<unknown>, (data) => ({ data }));
      await files.readArchive(
        req.container_id,
        req.path,
        async (stat) => {
          call.write({ stat });
        },
        (piece) => out.write(piece),
        cancellation(call),
      );
      await out.flush();
    }),
    WriteArchive: clientStream(async (call) => {
      const it = (call as AsyncIterable<ArchiveInput__Output>)[Symbol.asyncIterator]();
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
      await files.writeArchive(
        { id: open.container_id, path: open.path, noOverwriteDirNonDir: open.no_overwrite_dir_non_dir, copyUidGid: open.copy_uid_gid },
        chunks,
        cancellation(call),
      );
      return {};
    }),
    Export: serverStream(async (req, call) => {
      const out = chunker(call as Writable<unknown>, (data) => ({ data }));
      await files.exportTar(req.id, (piece) => out.write(piece), cancellation(call));
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

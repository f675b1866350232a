/**
 * tersane-unpack fed from a pipe: a layer is unpacked while it downloads, into a fresh
 * snapshots/tmp-<random>/fs (the directory reconcile() removes after a crash), and is committed only
 * once the blob's digest and the layer's diff id are both verified. Also: a layer's diff id computed
 * without unpacking (--decompress, hashed here), for a blob whose snapshot already exists.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { internal, invalidArgument } from '../../../common/errors.js';
import { runUnpack, type UnpackResult } from '../snapshots.js';

export interface StreamUnpack {
  /** Where the layer's bytes go, compressed as they are in the blob. */
  stdin: Writable;
  /** Settles when the unpacker exits: its result, or its one-line refusal (invalid_argument). */
  done: Promise<UnpackResult>;
  /** Stops the unpacker (a failed download) and removes what it wrote. */
  abort(): void;
}

/** Starts tersane-unpack reading its stdin into a new temporary snapshot directory under `root`. */
export function unpackFromPipe(root: string, unpackBinary: string): StreamUnpack {
  let aborted = false;
  const { child, done } = runUnpack(root, unpackBinary, 'pipe', () => aborted);
  // A write after the unpacker gave up (EPIPE) is not an error of its own: `done` says why.
  child.stdin!.on('error', () => undefined);
  return {
    stdin: child.stdin!,
    done,
    abort() {
      aborted = true;
      child.stdin!.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** The diff id of a stored layer blob (sha256 of its uncompressed tar), without unpacking it. */
export function diffIdOf(blobPath: string, unpackBinary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fd = openSync(blobPath, 'r');
    const child = spawn(unpackBinary, ['--decompress'], { stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    const hash = createHash('sha256');
    let err = '';
    child.stdout!.on('data', (d: Buffer) => hash.update(d));
    child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', (e) => reject(internal(`cannot run ${unpackBinary}: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) return reject(invalidArgument((err.trim().split('\n').pop() || `exit ${code}`).replace(/^tersane-unpack: /, '')));
      resolve(`sha256:${hash.digest('hex')}`);
    });
  });
}

/** Removes a temporary snapshot directory (a layer that will not be committed). */
export function discardTmp(tmp: string): void {
  rmSync(tmp, { recursive: true, force: true });
}

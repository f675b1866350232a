/**
 * Docker's multiplexed stream format (moby's pkg/stdcopy), used for the output of containers
 * without a terminal on attach and logs: each frame is an 8-byte header
 * [stream, 0, 0, 0, size as uint32 big-endian] followed by `size` bytes of payload.
 * Stream 0 is stdin, 1 stdout, 2 stderr (3 carries an error from Docker's exec; not used here).
 *
 * @example
 *   frame(STDOUT, Buffer.from('hello\n'));      // <01 00 00 00 00 00 00 06> hello\n
 *   const d = new Demuxer(); d.push(bytes);      // d.frames: [{ stream: 1, data }]
 */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

export type StreamId = typeof STDIN | typeof STDOUT | typeof STDERR;

export const HEADER_BYTES = 8;
/** Frames larger than this are split (a uint32 carries more, but no reader needs it). */
export const MAX_FRAME_PAYLOAD = 1 << 20;

export function frameHeader(stream: StreamId, size: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(h, 0, stream, size);
  return h;
}

function writeHeader(out: Buffer, at: number, stream: StreamId, size: number): void {
  out[at] = stream;
  out[at + 1] = 0;
  out[at + 2] = 0;
  out[at + 3] = 0;
  out.writeUInt32BE(size, at + 4);
}

/**
 * The frames of many pieces in one buffer, a frame (or more) per piece in order: one allocation
 * for a batch of a log's lines instead of one per line.
 */
export function frames(pieces: ReadonlyArray<{ stream: StreamId; data: Buffer }>): Buffer {
  let size = 0;
  for (const p of pieces) size += p.data.length + HEADER_BYTES * Math.ceil(p.data.length / MAX_FRAME_PAYLOAD);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { stream, data } of pieces) {
    for (let off = 0; off < data.length; off += MAX_FRAME_PAYLOAD) {
      const len = Math.min(MAX_FRAME_PAYLOAD, data.length - off);
      writeHeader(out, at, stream, len);
      data.copy(out, at + HEADER_BYTES, off, off + len);
      at += HEADER_BYTES + len;
    }
  }
  return out;
}

/** One or more frames carrying `data` on `stream`; empty data makes no frame. */
export function frame(stream: StreamId, data: Buffer): Buffer {
  return frames([{ stream, data }]);
}

export interface Frame {
  stream: number;
  data: Buffer;
}

/**
 * Reads frames back from bytes arriving in arbitrary pieces (for tests and clients of the api).
 * Throws on a header whose stream byte is not 0..3, as moby's StdCopy does.
 */
export class Demuxer {
  readonly frames: Frame[] = [];
  private pending: Buffer = Buffer.alloc(0);

  push(bytes: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, bytes]) : bytes;
    while (this.pending.length >= HEADER_BYTES) {
      const stream = this.pending[0];
      if (stream > 3) throw new Error(`unrecognized stream: ${stream}`);
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_BYTES + size) break;
      this.frames.push({ stream, data: Buffer.from(this.pending.subarray(HEADER_BYTES, HEADER_BYTES + size)) });
      this.pending = this.pending.subarray(HEADER_BYTES + size);
    }
  }

  /** Bytes of an unfinished frame still waiting for the rest. */
  get buffered(): number {
    return this.pending.length;
  }

  text(stream: number): string {
    return Buffer.concat(this.frames.filter((f) => f.stream === stream).map((f) => f.data)).toString();
  }
}

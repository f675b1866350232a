/**
 * The monitor's socket protocol (runtime-native/monitor/PROTOCOL.md): frames of
 * type u8 | length u32 BE | payload, both directions.
 */

export const MAX_FRAME = 1024 * 1024;

export const Request = {
  START: 0x01,
  ATTACH: 0x02,
  STDIN: 0x03,
  CLOSE_STDIN: 0x04,
  RESIZE: 0x05,
  SIGNAL: 0x06,
  STATUS: 0x07,
  EXEC: 0x08,
  PAUSE: 0x09,
  RESUME: 0x0a,
} as const;

export const Reply = {
  RESULT: 0x81,
  STDOUT: 0x82,
  STDERR: 0x83,
  EXIT: 0x84,
} as const;

export const AttachFlag = { STDIN: 1, STDOUT: 2, STDERR: 4 } as const;

/** EXEC's first payload byte. */
export const ExecFlag = { STDIN: 1, TERMINAL: 2 } as const;

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frames; throws on a frame longer than the protocol allows. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buf.length >= 5) {
      const length = this.buf.readUInt32BE(1);
      if (length > MAX_FRAME) throw new Error(`monitor sent a frame of ${length} bytes (limit ${MAX_FRAME})`);
      if (this.buf.length < 5 + length) break;
      frames.push({ type: this.buf[0], payload: this.buf.subarray(5, 5 + length) });
      this.buf = this.buf.subarray(5 + length);
    }
    return frames;
  }
}

/** A RESULT payload: u8 status (0 ok) then text. */
export function parseResult(payload: Buffer): { ok: boolean; text: string } {
  return { ok: payload[0] === 0, text: payload.subarray(1).toString('utf8') };
}

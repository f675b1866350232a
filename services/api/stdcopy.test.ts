import { describe, expect, it } from 'vitest';
import { Demuxer, frame, frameHeader, frames, MAX_FRAME_PAYLOAD, STDERR, STDOUT } from './stdcopy.js';

describe('multiplexed stream frames', () => {
  it("writes Docker's 8-byte header: stream, three zeros, big-endian size", () => {
    expect([...frameHeader(STDOUT, 6)]).toEqual([1, 0, 0, 0, 0, 0, 0, 6]);
    expect([...frameHeader(STDERR, 0x01020304)]).toEqual([2, 0, 0, 0, 1, 2, 3, 4]);
    const f = frame(STDOUT, Buffer.from('hello\n'));
    expect(f.length).toBe(14);
    expect(f.subarray(8).toString()).toBe('hello\n');
    expect(frame(STDOUT, Buffer.alloc(0)).length).toBe(0);
  });

  it('reads frames back from arbitrary pieces', () => {
    const bytes = Buffer.concat([frame(STDOUT, Buffer.from('out1\n')), frame(STDERR, Buffer.from('err\n')), frame(STDOUT, Buffer.from('out2\n'))]);
    const d = new Demuxer();
    for (let i = 0; i < bytes.length; i += 3) d.push(bytes.subarray(i, i + 3));
    expect(d.frames.map((f) => f.stream)).toEqual([1, 2, 1]);
    expect(d.text(STDOUT)).toBe('out1\nout2\n');
    expect(d.text(STDERR)).toBe('err\n');
    expect(d.buffered).toBe(0);
  });

  it('frames many pieces in one buffer, each its own frame, in order', () => {
    const big = Buffer.alloc(MAX_FRAME_PAYLOAD + 3, 9);
    const bytes = frames([
      { stream: STDOUT, data: Buffer.from('a\n') },
      { stream: STDERR, data: Buffer.alloc(0) },
      { stream: STDERR, data: Buffer.from('b\n') },
      { stream: STDOUT, data: big },
    ]);
    const d = new Demuxer();
    d.push(bytes);
    expect(d.frames.map((f) => [f.stream, f.data.length])).toEqual([[1, 2], [2, 2], [1, MAX_FRAME_PAYLOAD], [1, 3]]);
    expect(bytes.equals(Buffer.concat([frame(STDOUT, Buffer.from('a\n')), frame(STDERR, Buffer.from('b\n')), frame(STDOUT, big)]))).toBe(true);
  });

  it('splits a payload larger than one frame', () => {
    const big = Buffer.alloc(MAX_FRAME_PAYLOAD * 2 + 5, 7);
    const d = new Demuxer();
    d.push(frame(STDOUT, big));
    expect(d.frames.length).toBe(3);
    expect(Buffer.concat(d.frames.map((f) => f.data)).equals(big)).toBe(true);
  });

  it('refuses a header with an unknown stream', () => {
    expect(() => new Demuxer().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 0]))).toThrow('unrecognized stream: 9');
  });
});

import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, MAX_FRAME, parseResult, Reply } from './protocol.js';

describe('monitor frames', () => {
  it('round-trips frames split at any byte', () => {
    const stream = Buffer.concat([
      encodeFrame(Reply.STDOUT, Buffer.from('hello')),
      encodeFrame(Reply.RESULT, Buffer.from('\x00{"pid":3}')),
      encodeFrame(Reply.EXIT, Buffer.alloc(0)),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames.map((f) => [f.type, f.payload.toString()])).toEqual([
        [Reply.STDOUT, 'hello'],
        [Reply.RESULT, '\x00{"pid":3}'],
        [Reply.EXIT, ''],
      ]);
    }
  });

  it('refuses an oversized frame', () => {
    const header = Buffer.from([Reply.STDOUT, 0, 0, 0, 0]);
    header.writeUInt32BE(MAX_FRAME + 1, 1);
    expect(() => new FrameDecoder().push(header)).toThrow(/limit/);
  });

  it('parses results', () => {
    expect(parseResult(Buffer.from('\x01boom'))).toEqual({ ok: false, text: 'boom' });
    expect(parseResult(Buffer.from('\x00'))).toEqual({ ok: true, text: '' });
  });
});

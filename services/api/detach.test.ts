import { describe, expect, it } from 'vitest';
import { DetachDetector, parseDetachKeys } from './detach.js';

const feedAll = (d: DetachDetector, chunks: string[]) => {
  let forwarded = '';
  for (const c of chunks) {
    const r = d.feed(Buffer.from(c, 'latin1'));
    forwarded += r.forward.toString('latin1');
    if (r.detached) return { forwarded, detached: true };
  }
  return { forwarded, detached: false };
};

describe('detach keys', () => {
  it("reads Docker's key names", () => {
    expect([...parseDetachKeys('')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0, 1, 26, 27, 28, 29, 30, 31]);
    expect([...parseDetachKeys('a,DEL')]).toEqual([97, 127]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow('Invalid detach keys (ctrl-1) provided');
    expect(() => parseDetachKeys('ab')).toThrow('Invalid detach keys');
  });

  it('detaches on the whole sequence, even split across reads, forwarding what came before', () => {
    const d = new DetachDetector(parseDetachKeys(''));
    expect(feedAll(d, ['ls\x10', '\x11rest'])).toEqual({ forwarded: 'ls', detached: true });
  });

  it('passes held keys through when the sequence breaks', () => {
    const d = new DetachDetector(parseDetachKeys(''));
    expect(feedAll(d, ['a\x10', 'b'])).toEqual({ forwarded: 'a\x10b', detached: false });
    const e = new DetachDetector(parseDetachKeys(''));
    // A broken sequence that restarts at once still detaches on its second try.
    expect(feedAll(e, ['\x10\x10\x11'])).toEqual({ forwarded: '\x10', detached: true });
  });

  it('forwards plain input unchanged', () => {
    const d = new DetachDetector(parseDetachKeys('ctrl-x'));
    expect(feedAll(d, ['hello\n', 'world\n'])).toEqual({ forwarded: 'hello\nworld\n', detached: false });
    expect(feedAll(d, ['q\x18'])).toEqual({ forwarded: 'q', detached: true });
  });
});

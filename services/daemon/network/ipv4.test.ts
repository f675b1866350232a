import { describe, expect, it } from 'vitest';
import { base, contains, formatCidr, formatIp, hostAt, macFor, overlaps, parseCidr, parseIp, size } from './ipv4.js';

describe('ipv4', () => {
  it('parses and formats addresses', () => {
    expect(parseIp('10.92.3.1')).toBe(0x0a5c0301);
    expect(formatIp(0x0a5c0301)).toBe('10.92.3.1');
    for (const bad of ['10.1.1', '256.1.1.1', '01.1.1.1', 'a.b.c.d', '1.1.1.1.1', '']) expect(parseIp(bad)).toBeUndefined();
  });

  it('parses blocks, keeping host bits for the validation to see', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({ ip: 0x0a000001, prefix: 24 });
    expect(formatCidr(parseCidr('10.0.0.1/24')!)).toBe('10.0.0.0/24');
    for (const bad of ['10.0.0.0/33', '10.0.0.0', '10.0.0.0/', '10.0.0/8', '10.0.0.0/x']) expect(parseCidr(bad)).toBeUndefined();
  });

  it('answers containment and overlap', () => {
    const a = parseCidr('10.92.0.0/16')!;
    const b = parseCidr('10.92.7.0/24')!;
    const c = parseCidr('10.93.0.0/24')!;
    expect(overlaps(a, b)).toBe(true);
    expect(overlaps(b, a)).toBe(true);
    expect(overlaps(a, c)).toBe(false);
    expect(contains(b, parseIp('10.92.7.255')!)).toBe(true);
    expect(contains(b, parseIp('10.92.8.0')!)).toBe(false);
    expect(overlaps(parseCidr('0.0.0.0/0')!, c)).toBe(true);
  });

  it('computes offsets, sizes and Docker-style MACs', () => {
    const s = parseCidr('10.88.16.0/20')!;
    expect(size(s)).toBe(4096);
    expect(formatIp(base(s))).toBe('10.88.16.0');
    expect(formatIp(hostAt(s, 4095))).toBe('10.88.31.255');
    expect(macFor(parseIp('10.88.0.2')!)).toBe('02:42:0a:58:00:02');
  });
});

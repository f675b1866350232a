import { describe, expect, it } from 'vitest';
import { all, boolOrDefault, boolValue, first, intValue, normalizeFilters, parseTail, parseUnixTimestamp, requiredInt } from './query.js';

describe('query parameters', () => {
  it("reads booleans as moby's BoolValue does", () => {
    for (const v of ['', '0', 'no', 'false', 'none', 'FALSE', ' No ']) expect(boolValue({ k: v }, 'k')).toBe(false);
    for (const v of ['1', 'true', 'yes', 'True', 'anything']) expect(boolValue({ k: v }, 'k')).toBe(true);
    expect(boolValue({}, 'k')).toBe(false);
    expect(boolOrDefault({}, 'k', true)).toBe(true);
    expect(boolOrDefault({ k: '0' }, 'k', true)).toBe(false);
  });

  it('takes the first of repeated values and lists them all', () => {
    expect(first({ names: ['a', 'b'] }, 'names')).toBe('a');
    expect(all({ names: ['a', 'b'] }, 'names')).toEqual(['a', 'b']);
    expect(all({ names: 'a' }, 'names')).toEqual(['a']);
    expect(all({}, 'names')).toEqual([]);
  });

  it('parses integers with Go wording for bad ones', () => {
    expect(intValue({ t: '5' }, 't')).toBe(5);
    expect(intValue({ t: '-1' }, 't')).toBe(-1);
    expect(intValue({}, 't')).toBeUndefined();
    expect(() => intValue({ t: 'abc' }, 't')).toThrow('strconv.Atoi: parsing "abc": invalid syntax');
    expect(() => requiredInt({}, 'h')).toThrow('strconv.Atoi: parsing "": invalid syntax');
  });

  it('normalizes both filter formats to the legacy one and refuses others', () => {
    expect(normalizeFilters('{"status":{"running":true},"name":{"a":true,"b":true}}')).toBe('{"status":["running"],"name":["a","b"]}');
    expect(normalizeFilters('{"label":["x=1","x=1"]}')).toBe('{"label":["x=1"]}');
    expect(normalizeFilters('')).toBe('');
    expect(normalizeFilters(undefined)).toBe('');
    expect(normalizeFilters('{}')).toBe('');
    for (const bad of ['{', '[]', '"x"', '{"name":"x"}', '{"name":[1]}', '{"name":{"x":"y"}}']) {
      expect(() => normalizeFilters(bad)).toThrow('invalid filter');
    }
  });

  it('reads log timestamps as Unix seconds with a fraction', () => {
    expect(parseUnixTimestamp('1700000000', 'since')).toBe(1_700_000_000_000_000_000n);
    expect(parseUnixTimestamp('1700000000.5', 'since')).toBe(1_700_000_000_500_000_000n);
    expect(parseUnixTimestamp('1700000000.000000001', 'since')).toBe(1_700_000_000_000_000_001n);
    expect(parseUnixTimestamp(undefined, 'since')).toBe(0n);
    expect(() => parseUnixTimestamp('yesterday', 'since')).toThrow(/since/);
  });

  it('reads tail as a count, anything else meaning all', () => {
    expect(parseTail('10')).toBe(10);
    expect(parseTail('0')).toBe(0);
    expect(parseTail('all')).toBe(-1);
    expect(parseTail(undefined)).toBe(-1);
  });
});

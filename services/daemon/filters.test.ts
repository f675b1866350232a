import { describe, expect, it } from 'vitest';
import { parseFilters, parseTimestampFilter } from './filters.js';

describe('Docker filters', () => {
  it('reads the current and the pre-1.22 forms', () => {
    expect(parseFilters('{"status":["running","exited"]}').get('status')).toEqual(['running', 'exited']);
    expect(parseFilters('{"status":{"running":true,"exited":false}}').get('status')).toEqual(['running']);
    expect(parseFilters('').empty).toBe(true);
  });

  it("rejects filter names the endpoint does not know, in Docker's words", () => {
    expect(() => parseFilters('{"nope":["x"]}', ['name'])).toThrow("invalid filter 'nope'");
    expect(() => parseFilters('{bad', ['name'])).toThrow(/invalid filter/);
  });

  it('matches labels by key and by key=value, all of them', () => {
    const f = parseFilters('{"label":["a","b=2"]}');
    expect(f.matchLabels('label', { a: 'x', b: '2' })).toBe(true);
    expect(f.matchLabels('label', { a: 'x', b: '3' })).toBe(false);
    expect(f.matchLabels('label', { b: '2' })).toBe(false);
    expect(parseFilters('{}').matchLabels('label', null)).toBe(true);
  });

  it('parses unix seconds, RFC 3339 and durations ago', () => {
    expect(parseTimestampFilter('1700000000.5')).toBe(1_700_000_000_500);
    expect(parseTimestampFilter('2023-11-14T22:13:20Z')).toBe(1_700_000_000_000);
    expect(parseTimestampFilter('10m', 1_000_000)).toBe(400_000);
    expect(() => parseTimestampFilter('yesterday')).toThrow(/cannot parse time/);
  });
});

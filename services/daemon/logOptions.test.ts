import { describe, expect, it } from 'vitest';
import { fromHumanSize, jsonFileLimits } from './logOptions.js';

describe('json-file options (Docker reads them as it opens the log)', () => {
  it('parses sizes as go-units FromHumanSize (decimal)', () => {
    expect(fromHumanSize('10k')).toBe(10_000);
    expect(fromHumanSize('10m')).toBe(10_000_000);
    expect(fromHumanSize('1g')).toBe(1_000_000_000);
    expect(fromHumanSize('1.5MB')).toBe(1_500_000);
    expect(fromHumanSize('2KiB')).toBe(2000);
    expect(fromHumanSize('100')).toBe(100);
    expect(fromHumanSize('3 kb')).toBe(3000);
  });
  it("refuses sizes with Docker's errors", () => {
    expect(() => fromHumanSize('abc')).toThrow("invalid size: 'abc'");
    expect(() => fromHumanSize('10x')).toThrow("invalid suffix: 'x'");
    expect(() => fromHumanSize('10mbb')).toThrow("invalid suffix: 'mbb'");
    expect(() => fromHumanSize('-1')).toThrow("invalid size: '-1'");
  });
  it('gives the rotation limits', () => {
    expect(jsonFileLimits({})).toEqual({ maxSize: 0, maxFiles: 1 });
    expect(jsonFileLimits({ 'max-size': '1k', 'max-file': '3' })).toEqual({ maxSize: 1000, maxFiles: 3 });
    expect(jsonFileLimits({ 'max-file': '3' })).toEqual({ maxSize: 0, maxFiles: 3 });
    expect(() => jsonFileLimits({ 'max-size': '0' })).toThrow('max-size must be a positive number');
    expect(() => jsonFileLimits({ 'max-file': '0' })).toThrow('max-file cannot be less than 1');
    expect(() => jsonFileLimits({ 'max-file': 'x' })).toThrow('strconv.Atoi: parsing "x": invalid syntax');
    expect(() => jsonFileLimits({ 'max-size': '1k', compress: 'true' })).toThrow('compress cannot be true when max-file is less than 2 or max-size is not set');
  });
});

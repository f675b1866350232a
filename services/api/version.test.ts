import { describe, expect, it } from 'vitest';
import { API_VERSION, checkApiVersion, compareVersions, MIN_API_VERSION, splitVersion, versionAtLeast } from './version.js';

describe('API versions', () => {
  it('compares dotted versions numerically, segment by segment', () => {
    expect(compareVersions('1.9', '1.10')).toBe(-1);
    expect(compareVersions('1.50', '1.50')).toBe(0);
    expect(compareVersions('1.50.0', '1.50')).toBe(0);
    expect(compareVersions('2', '1.99')).toBe(1);
    expect(versionAtLeast('1.41', '1.42')).toBe(false);
    expect(versionAtLeast('1.42', '1.42')).toBe(true);
  });

  it('advertises 1.50 and accepts down to 1.24', () => {
    expect(API_VERSION).toBe('1.50');
    expect(MIN_API_VERSION).toBe('1.24');
    for (const v of ['1.24', '1.41', '1.50']) expect(() => checkApiVersion(v)).not.toThrow();
  });

  it("answers Docker's exact 400 outside the range", () => {
    expect(() => checkApiVersion('1.99')).toThrow('client version 1.99 is too new. Maximum supported API version is 1.50');
    expect(() => checkApiVersion('1.12')).toThrow(
      'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
    );
    try {
      checkApiVersion('1.51');
    } catch (err) {
      expect((err as { kind: string }).kind).toBe('invalid_argument');
    }
  });

  it('splits the version segment off a path, keeping the query', () => {
    expect(splitVersion('/v1.41/containers/json?all=1')).toEqual({ version: '1.41', url: '/containers/json?all=1', explicit: true });
    expect(splitVersion('/containers/json')).toEqual({ version: '1.50', url: '/containers/json', explicit: false });
    // moby routes only digits and dots as a version: anything else is no version at all.
    expect(splitVersion('/vfoo/containers/json').explicit).toBe(false);
    expect(splitVersion('/version').explicit).toBe(false);
  });
});

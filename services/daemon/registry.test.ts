import { describe, expect, it } from 'vitest';
import { progressMessage, pullReference } from './registry.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('pull references as moby reads fromImage and tag', () => {
  it('a tag parameter replaces the one in fromImage; a digest makes a canonical reference', () => {
    expect(pullReference('busybox', 'latest')).toBe('docker.io/library/busybox:latest');
    expect(pullReference('busybox:1', '2')).toBe('docker.io/library/busybox:2');
    expect(pullReference('127.0.0.1:5000/x/app', DIGEST)).toBe(`127.0.0.1:5000/x/app@${DIGEST}`);
    expect(pullReference(`busybox@${DIGEST}`, '')).toBe(`docker.io/library/busybox@${DIGEST}`);
  });
  it('refuses bad names and every-tag pulls clearly', () => {
    expect(() => pullReference('Busybox', 'latest')).toThrow(/must be lowercase/);
    expect(() => pullReference('busybox', 'bad tag')).toThrow(/invalid reference format/);
    expect(() => pullReference('busybox', '')).toThrow(/every tag/);
  });
});

describe('progress messages', () => {
  it('gives per-layer lines a progressDetail and a bar', () => {
    expect(progressMessage({ id: 'latest', status: 'Pulling from library/busybox', current: 0, total: 0, layer: false })).toEqual({ status: 'Pulling from library/busybox', id: 'latest' });
    expect(progressMessage({ id: 'abc', status: 'Pull complete', current: 0, total: 0, layer: true })).toEqual({ status: 'Pull complete', progressDetail: {}, id: 'abc' });
    const dl = progressMessage({ id: 'abc', status: 'Downloading', current: 500, total: 1000, layer: true });
    expect(dl.progressDetail).toEqual({ current: 500, total: 1000 });
    expect(dl.progress).toMatch(/^\[=+>\s+\]\s+500B\/1kB$/);
  });
});

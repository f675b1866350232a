import { describe, expect, it } from 'vitest';
import { humanSize, progressBar, referenceMatches, versionBelow } from './images.js';

describe('image helpers', () => {
  it("formats sizes like go-units' HumanSize", () => {
    expect(humanSize(512)).toBe('512B');
    expect(humanSize(32768)).toBe('32.77kB');
    expect(humanSize(2152448)).toBe('2.152MB');
    expect(humanSize(1_000_000_000)).toBe('1GB');
  });

  it("draws Docker's load progress bar", () => {
    expect(progressBar(32768, 2152448)).toBe(`[>${' '.repeat(50)}]  32.77kB/2.152MB`);
    expect(progressBar(2152448, 2152448)).toBe(`[${'='.repeat(50)}>]  2.152MB/2.152MB`);
    expect(progressBar(0, 0)).toBe('');
  });

  it('matches reference filters against familiar names and repositories', () => {
    expect(referenceMatches('busybox', 'docker.io/library/busybox:latest')).toBe(true);
    expect(referenceMatches('busybox:latest', 'docker.io/library/busybox:latest')).toBe(true);
    expect(referenceMatches('busy*', 'docker.io/library/busybox:1.36')).toBe(true);
    expect(referenceMatches('mine/*', 'docker.io/mine/box:1')).toBe(true);
    expect(referenceMatches('*', 'docker.io/mine/box:1')).toBe(false);
    expect(referenceMatches('alpine', 'docker.io/library/busybox:latest')).toBe(false);
  });

  it('compares API versions', () => {
    expect(versionBelow('1.43', '1.44')).toBe(true);
    expect(versionBelow('1.44', '1.44')).toBe(false);
    expect(versionBelow('1.9', '1.44')).toBe(true);
    expect(versionBelow('', '1.44')).toBe(false);
  });
});

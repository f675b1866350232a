import { describe, expect, it } from 'vitest';
import { familiarName, normalizeName, parseReference } from './reference.js';

describe('references', () => {
  it('normalizes Docker Hub names', () => {
    expect(normalizeName('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeName('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
    expect(normalizeName('team/app')).toBe('docker.io/team/app:latest');
    expect(normalizeName('index.docker.io/library/busybox')).toBe('docker.io/library/busybox:latest');
  });

  it('keeps other registries and ports', () => {
    expect(normalizeName('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeName('127.0.0.1:5000/a/b:v1')).toBe('127.0.0.1:5000/a/b:v1');
    expect(normalizeName('localhost/app')).toBe('localhost/app:latest');
  });

  it('parses digests without adding a tag', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    expect(normalizeName(`busybox@${d}`)).toBe(`docker.io/library/busybox@${d}`);
    expect(parseReference(`busybox:1@${d}`)).toMatchObject({ tag: '1', digest: d });
  });

  it('gives the familiar form back', () => {
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarName('docker.io/team/app:1')).toBe('team/app:1');
    expect(familiarName('localhost:5000/app:1')).toBe('localhost:5000/app:1');
  });

  it('rejects what Docker rejects, with its wording', () => {
    expect(() => parseReference('Busybox')).toThrow('invalid reference format: repository name (library/Busybox) must be lowercase');
    expect(() => parseReference('busy box')).toThrow('invalid reference format');
    expect(() => parseReference('busybox:')).toThrow('invalid reference format');
    expect(() => parseReference('busybox@sha256:abc')).toThrow('invalid reference format');
    expect(() => parseReference('a//b')).toThrow('invalid reference format');
    expect(() => parseReference('busybox:' + 'x'.repeat(129))).toThrow('invalid reference format');
  });
});

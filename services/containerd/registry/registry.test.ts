import { describe, expect, it } from 'vitest';
import { parseChallenges } from './auth.js';
import { errorText, kindOfStatus } from './errors.js';
import { isInsecure, registryHost, registryOfServerAddress, splitHost } from './hosts.js';
import { parseConfig, parseManifest } from './manifests.js';
import { formatPlatform, matchScore, parsePlatform, pickPlatform } from './platform.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe('WWW-Authenticate challenges', () => {
  it('reads a Bearer challenge with quoted parameters', () => {
    expect(parseChallenges(['Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'])).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
    ]);
  });
  it('reads several schemes in one value, escapes and unquoted values', () => {
    const c = parseChallenges(['Basic realm="a \\"b\\"", Bearer realm=https://x/t,error=insufficient_scope']);
    expect(c).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', error: 'insufficient_scope' } },
    ]);
  });
});

describe('registry errors in Docker’s words', () => {
  it('renders distribution error codes', () => {
    const body = Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    expect(errorText(404, 'Not Found', body)).toBe('manifest unknown: manifest unknown');
    expect(errorText(401, 'Unauthorized', Buffer.from('{"details":"incorrect username or password"}'))).toBe('unauthorized: incorrect username or password');
    expect(errorText(401, 'Unauthorized', Buffer.from('nope'))).toBe('unauthorized: authentication required');
    expect(errorText(500, 'Internal Server Error', Buffer.alloc(0))).toBe('received unexpected HTTP status: 500 Internal Server Error');
  });
  it('maps statuses to kinds', () => {
    expect(kindOfStatus(401)).toBe('unauthenticated');
    expect(kindOfStatus(403)).toBe('permission_denied');
    expect(kindOfStatus(404)).toBe('not_found');
  });
});

describe('registry hosts', () => {
  it('names Docker Hub’s API host and reads login server addresses', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(registryOfServerAddress('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryOfServerAddress('http://myreg:5000/v2/')).toBe('myreg:5000');
    expect(registryOfServerAddress('')).toBe('docker.io');
    expect(splitHost('[::1]:5000')).toEqual({ host: '::1', port: '5000' });
  });
  it('treats loopback as insecure by default, and the configured entries', async () => {
    expect(await isInsecure('127.0.0.1:5000', [])).toBe(true);
    expect(await isInsecure('127.9.9.9', [])).toBe(true);
    expect(await isInsecure('[::1]:5000', [])).toBe(true);
    expect(await isInsecure('10.1.2.3:5000', [])).toBe(false);
    expect(await isInsecure('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
    expect(await isInsecure('reg.example:5000', ['reg.example:5000'])).toBe(true);
    expect(await isInsecure('localhost:5000', [])).toBe(true);
  });
});

describe('platforms', () => {
  it('parses and normalizes Docker’s --platform', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(formatPlatform(parsePlatform('linux/arm/v6'))).toBe('linux/arm/v6');
    expect(() => parsePlatform('linux/a b')).toThrow(/unknown operating system or architecture/);
  });
  it('prefers an exact entry, takes a compatible one, refuses another architecture', () => {
    const entries = [
      { platform: { os: 'linux', architecture: 'arm', variant: 'v6' }, n: 1 },
      { platform: { os: 'linux', architecture: 'amd64', variant: 'v3' }, n: 2 },
      { platform: { os: 'linux', architecture: 'amd64' }, n: 3 },
    ];
    expect(pickPlatform(entries, parsePlatform('linux/amd64'))?.n).toBe(3);
    expect(pickPlatform(entries, parsePlatform('linux/arm/v7'))?.n).toBe(1);
    expect(pickPlatform(entries, parsePlatform('linux/s390x'))).toBeUndefined();
    expect(matchScore(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(2);
  });
});

describe('manifests', () => {
  const manifest = (extra: Record<string, unknown> = {}) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D('a'), size: 10 },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D('b'), size: 20 }],
        ...extra,
      }),
    );
  it('parses an image manifest and an index', () => {
    const m = parseManifest(manifest(), undefined, 'm');
    expect(m.kind).toBe('manifest');
    const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('c'), size: 1 }] })), 'application/vnd.oci.image.index.v1+json', 'i');
    expect(idx.kind).toBe('index');
  });
  it('refuses what is not an image manifest', () => {
    expect(() => parseManifest(Buffer.from('<html>'), undefined, 'manifest for x')).toThrow(/manifest for x is not valid JSON/);
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1}'), undefined, 'm')).toThrow(/schema 1/);
    expect(() => parseManifest(manifest({ layers: [{ mediaType: 'text/plain', digest: D('b'), size: 1 }] }), undefined, 'm')).toThrow(/unsupported media type text\/plain/);
    expect(() => parseManifest(manifest({ layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'md5:x', size: 1 }] }), undefined, 'm')).toThrow(/invalid digest/);
    expect(() => parseManifest(manifest({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D('a'), size: 1 } }), undefined, 'm')).toThrow(/not a container image/);
  });
  it('checks the config has one diff id per layer', () => {
    expect(() => parseConfig(Buffer.from(JSON.stringify({ rootfs: { diff_ids: [] } })), 1, 'c')).toThrow(/lists 0 diff ids for 1 layers/);
    expect(parseConfig(Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { diff_ids: [D('d')] } })), 1, 'c').diffIds).toEqual([D('d')]);
  });
});

import { mkdtempSync, rmSync, readlinkSync, readFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar } from '../services/containerd/tar.js';
import { TERSANE_UNPACK, unpack } from '../runtime-native/tests/unpack.js';
import { buildBusybox } from './build.js';

async function filesOf(tar: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const e of readTar((async function* () { yield tar; })())) {
    const parts: Buffer[] = [];
    for await (const p of e.data) parts.push(p);
    out.set(e.name, Buffer.concat(parts));
  }
  return out;
}

describe('images/build.ts busybox', () => {
  it('is deterministic: same busybox, same bytes, same image id', () => {
    const a = buildBusybox();
    const b = buildBusybox();
    expect(a.tar.equals(b.tar)).toBe(true);
    expect(a.id).toBe(b.id);
  });

  it('is a docker-archive of busybox:latest whose layer has busybox, its applets, passwd, group, /tmp 1777', async () => {
    const img = buildBusybox();
    const files = await filesOf(img.tar);
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toHaveLength(1);
    expect(manifest[0].RepoTags).toEqual(['busybox:latest']);
    const config = JSON.parse(files.get(manifest[0].Config)!.toString());
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] } });
    expect(config.config.Env[0]).toMatch(/^PATH=/);
    const dest = join(mkdtempSync(join(tmpdir(), 'tn-busybox-')), 'fs');
    try {
      const r = unpack(files.get(manifest[0].Layers[0])!, dest);
      expect(r.code, r.stderr + TERSANE_UNPACK).toBe(0);
      expect(r.result!.diff_id).toBe(config.rootfs.diff_ids[0]);
      expect(readFileSync(join(dest, 'bin/busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
      expect(readlinkSync(join(dest, 'bin/sh'))).toBe('/bin/busybox');
      expect(readFileSync(join(dest, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:.*\ndaemon:x:1:1:.*\nnobody:x:65534:65534:/);
      expect(readFileSync(join(dest, 'etc/group'), 'utf8')).toContain('nogroup:x:65534:');
      expect(lstatSync(join(dest, 'tmp')).mode & 0o7777).toBe(0o1777);
      expect(lstatSync(join(dest, 'root')).isDirectory()).toBe(true);
      expect(lstatSync(join(dest, 'home')).isDirectory()).toBe(true);
    } finally {
      rmSync(join(dest, '..'), { recursive: true, force: true });
    }
  });
});

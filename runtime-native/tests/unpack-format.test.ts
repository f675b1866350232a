/**
 * tersane-unpack and the tar format: each kind of entry, ownership, modes, times, xattrs, long
 * names (PAX and GNU), OCI whiteouts and opaque directories, compression, and the diff id.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TarWriter, headerBlock } from '../../services/containerd/tar.js';
import { gnuLong, sha256, unpack } from './unpack.js';

let root: string;
let dest: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tn-unpack-format-'));
  dest = join(root, 'dest');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const w = new TarWriter();
const tar = (...parts: Buffer[][]) => Buffer.concat([...parts.flat(), ...w.end()]);
const T = 1_600_000_000;

/** Extended attributes as Python reads them (Node has no xattr API). */
function getxattr(path: string, name: string): string | null {
  const out = execFileSync('python3', ['-c', `import os,sys\ntry:\n  sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex().encode())\nexcept OSError:\n  print('NONE', end='')`, path, name], { encoding: 'utf8' });
  return out === 'NONE' ? null : Buffer.from(out, 'hex').toString('latin1');
}

function ok(input: Buffer, args: string[] = []) {
  const r = unpack(input, dest, args);
  expect(r.code, r.stderr).toBe(0);
  return r.result!;
}

describe('tersane-unpack entry kinds and metadata', () => {
  it('files, dirs, symlinks, hardlinks, devices, fifos with owners, modes and times', () => {
    ok(tar(
      w.dir('d', { mode: 0o750, uid: 1000, gid: 1001, mtime: T }),
      w.file('d/f', Buffer.from('data'), { mode: 0o640, uid: 1000, gid: 1001, mtime: T + 1 }),
      w.file('suid', Buffer.from('x'), { mode: 0o4755, uid: 1000, gid: 0, mtime: T }),
      w.file('sgid', Buffer.from('x'), { mode: 0o2755, uid: 0, gid: 1001, mtime: T }),
      w.dir('sticky', { mode: 0o1777, mtime: T }),
      w.symlink('link', 'd/f', { uid: 1000, gid: 1001, mtime: T + 2 }),
      w.hardlink('hard', 'd/f'),
      w.header({ name: 'null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }),
      w.header({ name: 'loop', type: 'block', devmajor: 7, devminor: 0, mode: 0o660 }),
      w.header({ name: 'pipe', type: 'fifo', mode: 0o600 }),
    ));
    const st = (p: string) => lstatSync(join(dest, p));
    expect(st('d').isDirectory()).toBe(true);
    expect(st('d').mode & 0o7777).toBe(0o750);
    expect([st('d').uid, st('d').gid]).toEqual([1000, 1001]);
    expect(st('d').mtimeMs).toBe(T * 1000); // set after its contents were written
    expect(readFileSync(join(dest, 'd/f'), 'utf8')).toBe('data');
    expect(st('d/f').mode & 0o7777).toBe(0o640);
    expect(st('d/f').mtimeMs).toBe((T + 1) * 1000);
    expect(st('suid').mode & 0o7777).toBe(0o4755); // kept although chown clears it: mode after owner
    expect(st('suid').uid).toBe(1000);
    expect(st('sgid').mode & 0o7777).toBe(0o2755);
    expect(st('sticky').mode & 0o7777).toBe(0o1777);
    expect(readlinkSync(join(dest, 'link'))).toBe('d/f');
    expect([st('link').uid, st('link').gid]).toEqual([1000, 1001]);
    expect(st('link').mtimeMs).toBe((T + 2) * 1000);
    expect(st('hard').ino).toBe(st('d/f').ino);
    expect(st('null').isCharacterDevice()).toBe(true);
    expect(st('null').rdev).toBe((1 << 8) | 3);
    expect(st('loop').isBlockDevice()).toBe(true);
    expect(st('pipe').isFIFO()).toBe(true);
  });

  it('xattrs, security.capability kept after chown', () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // v2, cap_net_bind_service
    ok(tar(w.header({ name: 'ping', type: 'file', size: 0, uid: 1, gid: 1, mode: 0o755, xattrs: { 'user.origin': 'tersane', 'security.capability': cap } })));
    expect(getxattr(join(dest, 'ping'), 'user.origin')).toBe('tersane');
    expect(Buffer.from(getxattr(join(dest, 'ping'), 'security.capability')!, 'latin1')).toEqual(cap);
    expect(lstatSync(join(dest, 'ping')).uid).toBe(1);
  });

  it('long names and link names: PAX and GNU', () => {
    const long = `${'a'.repeat(80)}/${'b'.repeat(80)}/${'c'.repeat(90)}`;
    const gnu = `${'g'.repeat(120)}/file`;
    ok(tar(
      w.file(long, Buffer.from('pax')),
      w.symlink('plink', long),
      gnuLong('L', gnu), [headerBlock({ name: gnu.slice(0, 99), type: 'file', size: 3 }), Buffer.concat([Buffer.from('gnu'), Buffer.alloc(509)])],
      gnuLong('K', gnu), [headerBlock({ name: 'glink', type: 'symlink', linkname: gnu.slice(0, 99) })],
    ));
    expect(readFileSync(join(dest, long), 'utf8')).toBe('pax');
    expect(readlinkSync(join(dest, 'plink'))).toBe(long);
    expect(readFileSync(join(dest, gnu), 'utf8')).toBe('gnu');
    expect(readlinkSync(join(dest, 'glink'))).toBe(gnu);
  });

  it('creates missing parent directories', () => {
    ok(tar(w.file('x/y/z', Buffer.from('deep'))));
    expect(readFileSync(join(dest, 'x/y/z'), 'utf8')).toBe('deep');
  });

  it('a later entry replaces an earlier one', () => {
    ok(tar(w.file('f', Buffer.from('one')), w.file('f', Buffer.from('two')), w.dir('g'), w.file('g/in', Buffer.from('x')), w.file('g', Buffer.from('file now'))));
    expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('two');
    expect(readFileSync(join(dest, 'g'), 'utf8')).toBe('file now');
  });
});

describe('tersane-unpack OCI whiteouts', () => {
  it('.wh.<name> becomes an overlay whiteout (char 0:0)', () => {
    ok(tar(w.dir('etc'), w.file('etc/.wh.passwd', Buffer.alloc(0), { uid: 0, gid: 0 })));
    const st = lstatSync(join(dest, 'etc/passwd'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(() => lstatSync(join(dest, 'etc/.wh.passwd'))).toThrow();
  });
  it('.wh..wh..opq marks the directory opaque', () => {
    ok(tar(w.dir('var/cache'), w.file('var/cache/.wh..wh..opq', Buffer.alloc(0)), w.file('var/cache/new', Buffer.from('n'))));
    expect(getxattr(join(dest, 'var/cache'), 'trusted.overlay.opaque')).toBe('y');
    expect(readFileSync(join(dest, 'var/cache/new'), 'utf8')).toBe('n');
  });
});

describe('tersane-unpack compression and the diff id', () => {
  const layer = tar(w.dir('bin'), w.file('bin/tool', Buffer.alloc(300_000, 9), { mode: 0o755 }), w.file('readme', Buffer.from('hi')));
  it.each([
    ['none', layer],
    ['gzip', gzipSync(layer)],
    ['zstd', execFileSync('zstd', ['-q', '-c'], { input: layer })],
  ])('%s: the diff id is the sha256 of the uncompressed tar', (kind, input) => {
    const r = ok(input as Buffer);
    expect(r.diff_id).toBe(sha256(layer));
    expect(r.compression).toBe(kind);
    expect(r.size).toBe(300_002);
    expect(r.tar_size).toBe(layer.length);
    expect(readFileSync(join(dest, 'bin/tool')).length).toBe(300_000);
  });
  it('concatenated gzip members are one stream', () => {
    const half = layer.length / 2;
    const r = ok(Buffer.concat([gzipSync(layer.subarray(0, half)), gzipSync(layer.subarray(half))]));
    expect(r.diff_id).toBe(sha256(layer));
  });
  it('an explicit --compression that does not match fails clearly', () => {
    const r = unpack(layer, dest, ['--compression', 'gzip']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt gzip stream/);
  });
  it('--decompress writes the uncompressed tar', () => {
    const out = execFileSync(join(new URL('../build/', import.meta.url).pathname, 'tersane-unpack'), ['--decompress'], { input: gzipSync(layer) });
    expect(sha256(out)).toBe(sha256(layer));
  });
});

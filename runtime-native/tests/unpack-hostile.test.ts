/**
 * tersane-unpack against hostile layers: every escape a tar can attempt is refused with an error,
 * and nothing outside the destination is created, changed or read.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TarWriter, headerBlock } from '../../services/containerd/tar.js';
import { headerWithSizeBytes, treeOf, unpack } from './unpack.js';

let root: string;
let dest: string;
let outside: string;
const passwdHash = () => createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex');
let passwdBefore: string;
let passwdLinks: number;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tn-unpack-hostile-'));
  dest = join(root, 'dest');
  outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'secret\n');
  passwdBefore = passwdHash();
  passwdLinks = statSync('/etc/passwd').nlink;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const w = new TarWriter();
const tar = (...parts: Buffer[][]) => Buffer.concat([...parts.flat(), ...w.end()]);

/** Runs the unpacker, expects a refusal matching `message`, and checks nothing outside changed. */
function expectRefused(input: Buffer, message: RegExp): void {
  const before = treeOf(outside);
  const r = unpack(input, dest);
  expect(r.code, r.stdout).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(treeOf(outside)).toEqual(before);
  expect(existsSync(join(root, 'escape'))).toBe(false);
  expect(existsSync(join(root, 'pwned'))).toBe(false);
  expect(passwdHash()).toBe(passwdBefore);
  expect(statSync('/etc/passwd').nlink).toBe(passwdLinks);
}

describe('tersane-unpack refuses escapes', () => {
  it('../ entries', () => expectRefused(tar(w.file('../escape', Buffer.from('x'))), /entry `\.\.\/escape` climbs out of the destination/));
  it('../ hidden in the middle', () => expectRefused(tar(w.dir('a'), w.file('a/../../escape', Buffer.from('x'))), /climbs out of the destination/));
  it('absolute paths', () => expectRefused(tar(w.file(`${root}/escape`, Buffer.from('x'))), /is an absolute path/));
  it('a symlink to a relative path outside, then a write through it', () =>
    expectRefused(tar(w.symlink('evil', '../outside'), w.file('evil/pwned', Buffer.from('x'))), /goes through a symlink that leads outside/));
  it('a symlink to an absolute host path, then a write through it', () =>
    expectRefused(tar(w.symlink('etc', '/etc'), w.file('etc/passwd', Buffer.from('root::0:0::/:/bin/sh\n'))), /goes through a symlink that leads outside/));
  it('a deep symlink chain that climbs out', () =>
    expectRefused(tar(w.dir('a'), w.symlink('a/up', '../..'), w.file('a/up/escape', Buffer.from('x'))), /goes through a symlink that leads outside/));
  it('a hardlink to /etc/passwd', () => expectRefused(tar(w.hardlink('pw', '/etc/passwd')), /hardlink target `\/etc\/passwd` is an absolute path/));
  it('a hardlink climbing out with ..', () => expectRefused(tar(w.hardlink('s', '../outside/secret')), /climbs out of the destination/));
  it('a hardlink through a symlink that leads outside', () =>
    expectRefused(tar(w.symlink('o', '../outside'), w.hardlink('s', 'o/secret')), /goes through a symlink that leads outside/));
  it('a whiteout of ../x', () => expectRefused(tar(w.file('../.wh.secret', Buffer.alloc(0))), /climbs out of the destination/));
  it('a whiteout naming ..', () => expectRefused(tar(w.dir('a'), w.file('a/.wh...', Buffer.alloc(0))), /whiteout `a\/\.wh\.\.\.` names a path outside its directory/));
  it('a truncated gzip stream', () => {
    const z = gzipSync(tar(w.file('big', Buffer.alloc(100_000, 7))));
    expectRefused(z.subarray(0, z.length >> 1), /unexpected end of gzip stream/);
  });
  it('a corrupt gzip stream', () => {
    const z = gzipSync(tar(w.file('f', Buffer.alloc(10_000, 1))));
    z[z.length - 8] ^= 0xff;
    expectRefused(z, /corrupt gzip stream/);
  });
  it('a truncated tar', () => {
    const t = tar(w.file('f', Buffer.alloc(5000, 1)));
    expectRefused(t.subarray(0, 2048), /unexpected end of archive \(truncated tar\)/);
  });
  it('a header with an absurd size (base-256, 2^50 bytes)', () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeBigUInt64BE(2n ** 50n, 4);
    expectRefused(Buffer.concat([headerWithSizeBytes({ name: 'huge', type: 'file' }, size), Buffer.alloc(2048)]), /entry size \d+ is absurd/);
  });
  it('a header with a garbage size field', () => {
    expectRefused(Buffer.concat([headerBlock({ name: 'x', type: 'file', rawSize: 'zz9999' }), Buffer.alloc(1024)]), /invalid number in tar header/);
  });
  it('not a tar at all', () => expectRefused(Buffer.from('hello world, this is not a tar'.repeat(50)), /invalid tar header/));
});

describe('tersane-unpack stays inside without refusing what is legitimate', () => {
  it('replaces a symlink to a host file by a regular file, never writing through it', () => {
    const r = unpack(tar(w.symlink('pw', '/etc/passwd'), w.file('pw', Buffer.from('mine\n'))), dest);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(join(dest, 'pw')).isFile()).toBe(true);
    expect(readFileSync(join(dest, 'pw'), 'utf8')).toBe('mine\n');
    expect(passwdHash()).toBe(passwdBefore);
  });
  it('hardlinks a symlink itself, not its (host) target', () => {
    const r = unpack(tar(w.symlink('s', '/etc/passwd'), w.hardlink('h', 's')), dest);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(dest, 'h'))).toBe('/etc/passwd');
    expect(statSync('/etc/passwd').nlink).toBe(passwdLinks);
  });
  it('follows in-layer symlinks that stay inside', () => {
    const r = unpack(tar(w.dir('real'), w.symlink('alias', 'real'), w.file('alias/f', Buffer.from('ok'))), dest);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dest, 'real/f'), 'utf8')).toBe('ok');
  });
  it('normalizes ./ prefixes and inner .. that stay inside', () => {
    const r = unpack(tar(w.dir('./a'), w.file('./a/b/../c', Buffer.from('c'))), dest);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dest, 'a/c'), 'utf8')).toBe('c');
  });
});

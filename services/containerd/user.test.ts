import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGroup, parsePasswd, readAccounts, readImageFile, resolveUser } from './user.js';

const PASSWD = parsePasswd('root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nweb:x:1000:1000::/home/web:/bin/sh\n# comment\nbroken line\n');
const GROUP = parseGroup('root:x:0:\ndaemon:x:1:\nwheel:x:10:root,web\nweb:x:1000:\nstaff:x:50:web\n');

describe('resolveUser (runc/Docker semantics)', () => {
  it('defaults to root with root\'s groups', () => {
    expect(resolveUser('', [], PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [10], home: '/root' });
  });
  it('by name, with supplementary groups listing the user', () => {
    expect(resolveUser('web', [], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50], home: '/home/web' });
  });
  it('by number, known and unknown', () => {
    expect(resolveUser('1', [], PASSWD, GROUP)).toMatchObject({ uid: 1, gid: 1 });
    expect(resolveUser('4242', [], PASSWD, GROUP)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
  });
  it('user:group by names and numbers', () => {
    expect(resolveUser('web:staff', [], PASSWD, GROUP)).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/web' });
    expect(resolveUser('4242:4343', [], PASSWD, GROUP)).toMatchObject({ uid: 4242, gid: 4343 });
    expect(resolveUser('7:0', [], undefined, undefined)).toEqual({ uid: 7, gid: 0, additionalGids: [], home: '/' });
  });
  it('additional groups by name or number', () => {
    expect(resolveUser('daemon', ['staff', '777'], PASSWD, GROUP).additionalGids).toEqual([50, 777]);
  });
  it('errors as Docker words them', () => {
    expect(() => resolveUser('foo', [], PASSWD, GROUP)).toThrow('unable to find user foo: no matching entries in passwd file');
    expect(() => resolveUser('foo', [], undefined, undefined)).toThrow('unable to find user foo: no matching entries in passwd file');
    expect(() => resolveUser('web:nogroup', [], PASSWD, GROUP)).toThrow('unable to find group nogroup: no matching entries in group file');
    expect(() => resolveUser('web', ['ghosts'], PASSWD, GROUP)).toThrow('unable to find group ghosts: no matching entries in group file');
  });
});

describe('reading /etc/passwd from the layers', () => {
  const root = mkdtempSync(join(tmpdir(), 'tn-user-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const layer = (name: string, files: Record<string, string | { symlink: string } | 'whiteout'>) => {
    const dir = join(root, name);
    for (const [path, what] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      if (what === 'whiteout') execFileSync('mknod', [join(dir, path), 'c', '0', '0']);
      else if (typeof what === 'string') writeFileSync(join(dir, path), what);
      else symlinkSync(what.symlink, join(dir, path));
    }
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  it('takes the topmost layer\'s file', () => {
    const bottom = layer('a1', { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'etc/group': 'root:x:0:\n' });
    const top = layer('a2', { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\nweb:x:7:7::/w:/bin/sh\n' });
    const acc = readAccounts([top, bottom]);
    expect(acc.passwd?.map((p) => p.name)).toEqual(['root', 'web']);
    expect(acc.group?.map((g) => g.name)).toEqual(['root']);
  });
  it('a whiteout hides the file of the layers below', () => {
    const bottom = layer('b1', { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n' });
    const top = layer('b2', { 'etc/passwd': 'whiteout' });
    expect(readAccounts([top, bottom]).passwd).toBeUndefined();
    expect(() => resolveUser('web', [], readAccounts([top, bottom]).passwd, undefined)).toThrow('no matching entries in passwd file');
  });
  it('resolves symlinks inside the image, never on the host', () => {
    const secret = join(root, 'host-secret');
    writeFileSync(secret, 'evil:x:0:0::/:/bin/sh\n');
    const l = layer('c1', { 'etc/passwd': { symlink: secret }, 'data/real': 'ok\n', 'etc/alias': { symlink: '../data/real' } });
    // The absolute link target is looked up in the image, where it does not exist.
    expect(readImageFile([l], '/etc/passwd')).toBeUndefined();
    expect(readImageFile([l], '/etc/alias')?.toString()).toBe('ok\n');
    const climbing = layer('c2', { 'etc/passwd': { symlink: '../../../../../..' + secret } });
    expect(readImageFile([climbing], '/etc/passwd')).toBeUndefined();
  });
});

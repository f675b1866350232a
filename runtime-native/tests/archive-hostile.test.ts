/**
 * tersane-archive (docker cp, export, diff, commit) against hostile container filesystems: a path,
 * a symlink in the container (to /, to ../../etc), one swapped in while the copy runs, or a tar
 * with `..` or absolute names never reads or writes outside the container's root. And Docker's
 * semantics where they are safe: symlinks followed inside the root, `..` cleaned lexically.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTar, TarWriter } from '../../services/containerd/tar.js';
import { treeOf } from './unpack.js';

const ARCHIVE = new URL('../build/tersane-archive', import.meta.url).pathname;

let base: string;
let root: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'tn-archive-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'tmp'));
  mkdirSync(outside);
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:container:/root:/bin/sh\n');
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  symlinkSync('/', join(root, 'rootlink'));
  symlinkSync('../../../../../../../..', join(root, 'up'));
  symlinkSync(outside, join(root, 'outside-abs'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function run(args: string[], input?: Buffer) {
  const r = spawnSync(ARCHIVE, args, { input, maxBuffer: 1 << 26 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.toString() };
}

async function entries(tar: Buffer): Promise<Array<{ name: string; data: string; linkname: string }>> {
  const out = [];
  for await (const e of readTar((async function* () { yield tar; })())) {
    let data = '';
    for await (const p of e.data) data += p.toString();
    out.push({ name: e.name, data, linkname: e.linkname });
  }
  return out;
}

/** stdout of `read`: the stat line, then the tar. */
function splitRead(stdout: Buffer): { stat: Record<string, unknown>; tar: Buffer } {
  const nl = stdout.indexOf(0x0a);
  return { stat: JSON.parse(stdout.subarray(0, nl).toString()), tar: stdout.subarray(nl + 1) };
}

const w = new TarWriter();
const tar = (...parts: Buffer[][]) => Buffer.concat([...parts.flat(), ...w.end()]);

describe('reading (docker cp from a container)', () => {
  it('resolves symlinks inside the root: /rootlink/etc/passwd is the container’s', async () => {
    const r = run(['read', '--root', root, '/rootlink/etc/passwd']);
    expect(r.code, r.stderr).toBe(0);
    const { stat, tar: t } = splitRead(r.stdout);
    expect(stat.name).toBe('passwd');
    expect((await entries(t))[0].data).toContain('container');
  });

  it('cleans `..` lexically (Docker’s ResolvePath) and never climbs out through a symlink', async () => {
    const r = run(['read', '--root', root, '/up/../../etc/passwd']);
    expect(r.code, r.stderr).toBe(0);
    expect((await entries(splitRead(r.stdout).tar))[0].data).toContain('container');
    const viaUp = run(['read', '--root', root, `/up${outside}/secret`]);
    expect(viaUp.code).toBe(3); // not found: inside the root there is no such path
    const viaAbs = run(['read', '--root', root, '/outside-abs/secret']);
    expect(viaAbs.code).toBe(3);
  });

  it('stats a symlink itself and says where it leads inside the root', () => {
    const r = run(['stat', '--root', root, '/up']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.toString());
    expect(s.link_target).toBe('/');
    expect(s.mode & 0o170000).toBe(0o120000);
  });

  it('archives a tree with its symlinks as symlinks (never followed)', async () => {
    const r = run(['read', '--root', root, '/']);
    expect(r.code, r.stderr).toBe(0);
    const names = (await entries(splitRead(r.stdout).tar)).map((e) => e.name);
    expect(names).toContain('//rootlink');
    expect(names.some((n) => n.includes('secret'))).toBe(false);
  });

  it('does not hang on a FIFO', async () => {
    spawnSync('mkfifo', [join(root, 'tmp', 'fifo')]);
    const r = run(['read', '--root', root, '/tmp']);
    expect(r.code, r.stderr).toBe(0);
    expect((await entries(splitRead(r.stdout).tar)).map((e) => e.name)).toContain('tmp/fifo');
  });
});

describe('writing (docker cp into a container)', () => {
  const expectUntouched = (before: ReturnType<typeof treeOf>) => {
    expect(treeOf(outside)).toEqual(before);
    expect(existsSync(join(base, 'escaped'))).toBe(false);
  };

  it('refuses `..` entries that climb out of the destination, Docker’s wording', () => {
    const before = treeOf(outside);
    const r = run(['write', '--root', root, '/tmp'], tar(w.file('../../../../escaped', Buffer.from('x'))));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is outside of "/tmp"');
    expectUntouched(before);
  });

  it('confines absolute entry names to the destination', () => {
    const before = treeOf(outside);
    const r = run(['write', '--root', root, '/tmp'], tar(w.file(`${base}/escaped`, Buffer.from('x'))));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(root, 'tmp', base, 'escaped'))).toBe(true);
    expectUntouched(before);
  });

  it('follows the container’s symlinks inside its root only', () => {
    const before = treeOf(outside);
    expect(run(['write', '--root', root, '/rootlink/tmp'], tar(w.file('a', Buffer.from('1')))).code).toBe(0);
    expect(readFileSync(join(root, 'tmp', 'a'), 'utf8')).toBe('1');
    // A destination through a link to the host's directory lands in the root's namesake, if any.
    const r = run(['write', '--root', root, '/outside-abs'], tar(w.file('pwned', Buffer.from('x'))));
    expect(r.code).toBe(3);
    // A symlink in the archive, then a write through it: resolved inside the root.
    const r2 = run(['write', '--root', root, '/tmp'], tar(w.symlink('evil', outside), w.file('evil/pwned', Buffer.from('x'))));
    expect(r2.code).toBe(1);
    expectUntouched(before);
  });

  it('refuses a hardlink to a file outside', () => {
    const before = treeOf(outside);
    const r = run(['write', '--root', root, '/tmp'], tar(w.hardlink('h', '../../../outside/secret')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid hardlink');
    expectUntouched(before);
  });

  it('keeps a directory from being replaced by a file with --no-overwrite-dir-non-dir', () => {
    mkdirSync(join(root, 'tmp', 'd'));
    const r = run(['write', '--root', root, '--no-overwrite-dir-non-dir', '/tmp'], tar(w.file('d', Buffer.from('x'))));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot overwrite directory "/tmp/d" with non-directory "/tmp"');
    expect(lstatSync(join(root, 'tmp', 'd')).isDirectory()).toBe(true);
  });

  it('owns files by --chown and keeps modes', () => {
    const r = run(['write', '--root', root, '--chown', '4321:8765', '/tmp'], tar(w.file('m', Buffer.from('x'), { mode: 0o4750, uid: 1, gid: 2 })));
    expect(r.code, r.stderr).toBe(0);
    const st = lstatSync(join(root, 'tmp', 'm'));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([4321, 8765, 0o4750]);
  });

  it('never writes outside while a directory is swapped for a symlink to outside (CVE-2018-15664)', async () => {
    const victim = join(root, 'tmp', 'swap');
    const parked = join(root, 'tmp', 'swap-parked');
    mkdirSync(victim);
    // A process of the "container" swaps the directory for a symlink to the host's dir and back, fast.
    const before = treeOf(outside);
    const swapper = spawn(
      'sh',
      ['-c', `while :; do mv -T ${victim} ${parked} 2>/dev/null; ln -sfn ${outside} ${victim}; rm -f ${victim}; mv -T ${parked} ${victim} 2>/dev/null; done`],
      { stdio: 'ignore' },
    );
    try {
      for (let i = 0; i < 60; i++) {
        run(['write', '--root', root, '/tmp/swap'], tar(w.file(`f${i}`, Buffer.from('x'))));
        run(['write', '--root', root, '/tmp'], tar(w.dir('swap'), w.file(`swap/g${i}`, Buffer.from('x'))));
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(treeOf(outside)).toEqual(before);
  });
});

describe('diff and commit layers from an overlay upper directory', () => {
  it('lists A/C/D in Docker’s order and converts whiteouts for the layer', async () => {
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    mkdirSync(join(lower, 'etc'), { recursive: true });
    writeFileSync(join(lower, 'etc', 'passwd'), 'a\n');
    writeFileSync(join(lower, 'etc', 'group'), 'g\n');
    mkdirSync(join(upper, 'etc'), { recursive: true });
    writeFileSync(join(upper, 'etc', 'passwd'), 'a\nb\n');
    spawnSync('mknod', [join(upper, 'etc', 'group'), 'c', '0', '0']);
    mkdirSync(join(upper, 'new'));
    writeFileSync(join(upper, 'new', 'f'), 'x');
    // Placeholders the runtime made for mounts (Docker's init layer): left out.
    mkdirSync(join(upper, 'proc'));
    writeFileSync(join(upper, 'etc', 'hosts'), '');
    const layerArgs = ['--upper', upper, '--lower', lower, '--init', '/proc:dir', '--init', '/etc/hosts:file'];
    const changes = run(['changes', ...layerArgs]);
    expect(changes.code, changes.stderr).toBe(0);
    expect(JSON.parse(changes.stdout.toString())).toEqual([
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/group', Kind: 2 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/new', Kind: 1 },
      { Path: '/new/f', Kind: 1 },
    ]);
    const layer = run(['layer', ...layerArgs]);
    expect(layer.code, layer.stderr).toBe(0);
    expect((await entries(layer.stdout)).map((e) => e.name)).toEqual(['etc/', 'etc/.wh.group', 'etc/passwd', 'new/', 'new/f']);
  });

  it('says null when nothing changed but the init layer', () => {
    const upper = join(base, 'upper2');
    mkdirSync(join(upper, 'dev'), { recursive: true });
    mkdirSync(join(upper, 'sys'));
    const r = run(['changes', '--upper', upper, '--init', '/sys:dir', '--init', '/dev/pts:dir']);
    expect(r.stdout.toString().trim()).toBe('null');
  });
});

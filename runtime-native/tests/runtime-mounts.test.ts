/**
 * The container's filesystem and what it inherits: mount destinations are resolved inside the
 * rootfs (a symlink in the image cannot send a mount outside it), bind options (ro needs a
 * remount; rro is recursive), rootfsPropagation, --no-pivot, tmpcopyup, custom masked and
 * read-only paths, and no descriptor or working directory of the host reaching the container
 * except what --preserve-fds or LISTEN_FDS hand over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reduceMountinfo, RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
let scratch: string;
beforeAll(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
  scratch = mkdtempSync(join(tmpdir(), 'tn-mounts-'));
});
afterAll(async () => {
  await h.cleanup();
  spawnSync('sh', ['-c', `grep -q ' ${scratch}' /proc/self/mountinfo && umount -R ${scratch}/* 2>/dev/null; true`]);
  rmSync(scratch, { recursive: true, force: true });
});

function mountsOf(out: string): string[] {
  return reduceMountinfo(out);
}

describe('mounts', () => {
  it('a symlink in the image cannot send a mount outside the rootfs', async () => {
    const target = join(scratch, `escape-${randomBytes(3).toString('hex')}`);
    const b = await h.bundle(['sh', '-c', 'cat /proc/self/mountinfo'], (c) => {
      c.mounts.push(
        { destination: '/abs/sub', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
        { destination: '/rel/sub', type: 'tmpfs', source: 'tmpfs', options: ['nodev'] },
        { destination: '/abs/file', type: 'bind', source: '/etc/hostname', options: ['bind', 'ro'] },
      );
    });
    // /abs points at a host path, /rel climbs out with ../
    symlinkSync(target, join(b.rootfs, 'abs'));
    symlinkSync(`../../../../../../../..${target}`, join(b.rootfs, 'rel'));
    const r = h.run(['run', '--bundle', b.dir, 'escape']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(target)).toBe(false);
    const m = mountsOf(r.stdout);
    // inside, the symlinks were followed within the rootfs: both land at <rootfs>/<target>
    const subs = m.filter((l) => l.startsWith(`${target}/sub tmpfs `));
    expect(subs).toHaveLength(2);
    expect(subs.some((l) => l.split(' ')[2].includes('nosuid'))).toBe(true);
    expect(subs.some((l) => l.split(' ')[2].includes('nodev'))).toBe(true);
    expect(m.some((l) => l.startsWith(`${target}/file `) && l.split(' ')[2].startsWith('ro,'))).toBe(true);
    expect(existsSync(join(b.rootfs, target, 'sub'))).toBe(true);
    expect(h.leftovers(b, 'escape')).toEqual([]);
  });

  it('bind mounts: ro is applied by a remount; rro reaches submounts; the host side is untouched', async () => {
    const src = join(scratch, `src-${randomBytes(3).toString('hex')}`);
    mkdirSync(join(src, 'inner'), { recursive: true });
    writeFileSync(join(src, 'f'), 'host\n');
    spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(src, 'inner')]);
    try {
      const script = 'cat /ro/f; echo x > /ro/f 2>&1; echo x > /ro/inner/g && echo inner-writable; echo y > /rro/inner/g 2>&1; echo x > /rw/f && echo rw-ok; grep -E " /(ro|rro|rw)(/inner)? " /proc/self/mountinfo | cut -d" " -f5,6';
      const b = await h.bundle(['sh', '-c', script], (c) => {
        c.mounts.push(
          { destination: '/ro', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid'] },
          { destination: '/rro', type: 'bind', source: src, options: ['rbind', 'rro'] },
          { destination: '/rw', type: 'none', source: src, options: ['bind'] },
        );
      });
      const r = h.run(['run', '--bundle', b.dir, 'binds']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("sh: can't create /ro/f: Read-only file system\nsh: can't create /rro/inner/g: Read-only file system\n");
      expect(r.stdout).toBe([
        'host',
        'inner-writable',
        'rw-ok',
        '/ro ro,nosuid,relatime',
        '/ro/inner rw,relatime',
        '/rro ro,relatime',
        '/rro/inner ro,relatime',
        '/rw rw,relatime',
        '',
      ].join('\n'));
      expect(readFileSync(join(src, 'f'), 'utf8')).toBe('x\n');
    } finally {
      spawnSync('umount', ['-l', join(src, 'inner')]);
    }
  });

  it('rootfsPropagation: slave by default, shared or private when asked', async () => {
    const optional = async (prop?: string) => {
      const b = await h.bundle(['sh', '-c', 'head -1 /proc/self/mountinfo'], (c) => {
        if (prop) c.linux.rootfsPropagation = prop;
      });
      const r = h.run(['run', '--bundle', b.dir, `prop${prop ?? 'default'}`]);
      expect(r.status, r.stderr).toBe(0);
      const f = r.stdout.trim().split(' ');
      return f.slice(6, f.indexOf('-')).join(' ');
    };
    // the default is rslave: a slave of the host's mount when that one is shared, else private
    expect(await optional()).toMatch(/^(master:\d+)?$/);
    expect(await optional('shared')).toMatch(/^shared:\d+/);
    expect(await optional('private')).toBe('');
    expect(await optional('unbindable')).toBe('unbindable');
  });

  it('--no-pivot runs the same container with MS_MOVE and chroot', async () => {
    const b = await h.bundle(['sh', '-c', 'ls /; cat /proc/self/mountinfo | wc -l; readlink /proc/self/root']);
    const r = h.run(['run', '--no-pivot', '--bundle', b.dir, 'nopivot']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^bin\ndev\netc\nhome\n(linuxrc\n)?proc\nroot\nsbin\nsys\ntmp\nusr\n/);
    expect(r.stdout.trim().endsWith('\n/')).toBe(true);
    expect(h.leftovers(b, 'nopivot')).toEqual([]);
  });

  it('tmpcopyup, masked and read-only paths of the config', async () => {
    const b = await h.bundle(['sh', '-c', 'cat /etc/passwd | head -1; echo new > /etc/added; cat /etc/group | wc -c; ls /home | wc -l; touch /root/x 2>&1; exit 0'], (c) => {
      c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'mode=755'] });
      c.linux.maskedPaths.push('/etc/group', '/home');
      c.linux.readonlyPaths.push('/root');
    });
    writeFileSync(join(b.rootfs, 'home', 'secret'), 'x');
    const r = h.run(['run', '--bundle', b.dir, 'paths']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('root:x:0:0:root:/root:/bin/sh\n0\n0\ntouch: /root/x: Read-only file system\n');
    expect(existsSync(join(b.rootfs, 'etc', 'added'))).toBe(false);
  });

  it('no host descriptor or directory reaches the container; --preserve-fds and LISTEN_FDS hand some over', async () => {
    const b = await h.bundle(['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo; readlink /proc/1/cwd; echo "LISTEN_FDS=$LISTEN_FDS"; cat /proc/self/fd/3 2>/dev/null']);
    const extra = join(scratch, 'extra.txt');
    writeFileSync(extra, 'from the host\n');
    const fd = openSync(extra, 'r');
    try {
      const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(TERSANE_RUNTIME, ['--root', h.root, 'run', ...args, '--bundle', b.dir, `fds${randomBytes(3).toString('hex')}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd], env });
      // the runtime got fd 3 but does not pass it on: 0, 1, 2 and ls's own descriptor only
      let r = run([]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('0 1 2 3 \n/\nLISTEN_FDS=\n');
      r = run(['--preserve-fds', '1']);
      expect(r.stdout).toBe('0 1 2 3 4 \n/\nLISTEN_FDS=\nfrom the host\n');
      r = run([], { ...process.env, LISTEN_FDS: '1' });
      expect(r.stdout).toBe('0 1 2 3 4 \n/\nLISTEN_FDS=1\nfrom the host\n');
      r = run(['--preserve-fds', '2']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('tersane-runtime: --preserve-fds: descriptor 4: Bad file descriptor\n');
    } finally {
      closeSync(fd);
    }
  });
});

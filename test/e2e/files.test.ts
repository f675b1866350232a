/**
 * A container's files through the real docker CLI: `docker cp` both ways on running and stopped
 * containers (modes, ownership with -a, symlinks), its hostile cases (symlinks in the container to
 * / and ../../etc, `..` in the path, a tar with `..` entries: nothing outside the container's root is
 * read or written), `docker diff`, `docker export`, `docker commit --change` and `docker rename`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarWriter } from '../../services/containerd/tar.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let work: string;

/** The busybox image's /etc/passwd (images/build.ts), to tell the container's from the host's. */
const BUSYBOX_PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n';

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
  work = join(stack.root, 'work');
  mkdirSync(work);
});

afterAll(async () => {
  await stack?.stop();
});

/** A tree with distinct modes, a symlink and a nested directory, owned by 1234:5678. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(dir, 'plain'), 'plain file\n');
  writeFileSync(join(dir, 'secret'), 'only me\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho run\n');
  writeFileSync(join(dir, 'sub', 'deep', 'leaf'), 'leaf\n');
  symlinkSync('plain', join(dir, 'link'));
  chmodSync(join(dir, 'secret'), 0o600);
  chmodSync(join(dir, 'run.sh'), 0o755);
  chmodSync(join(dir, 'sub'), 0o750);
  chmodSync(join(dir, 'sub', 'deep'), 0o700);
  for (const p of ['', 'plain', 'secret', 'run.sh', 'sub', 'sub/deep', 'sub/deep/leaf']) chownSync(join(dir, p), 1234, 5678);
}

/** path → "mode content-or-link" for every entry of a tree. */
function describeTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of spawnSync('ls', ['-A', d], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(p, r);
      } else out[r] = `file ${mode} ${readFileSync(p, 'utf8')}`;
    }
  };
  walk(dir, '');
  return out;
}

/** Whether `docker events` (since the start, filtered) shows `line`; events reach NATS through an outbox, so it is asked again for a while. */
async function eventually(filters: string[], line: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const out = await stack.dockerOk(['events', '--since', '1', '--until', String(Math.floor(Date.now() / 1000) + 1), ...filters]);
    if (out.split('\n').includes(line)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** `tar tv --numeric-owner` of a `docker cp c:path -` as name → "uid/gid". */
function owners(container: string, path: string): Record<string, string> {
  const r = spawnSync('docker', ['cp', `${container}:${path}`, '-'], { env: stack.env, maxBuffer: 1 << 26 });
  expect(r.status, r.stderr.toString()).toBe(0);
  const list = spawnSync('tar', ['-tv', '--numeric-owner'], { input: r.stdout, encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of list.stdout.split('\n').filter(Boolean)) {
    const f = line.split(/\s+/);
    out[f[5].replace(/\/$/, '')] = f[1];
  }
  return out;
}

describe('docker cp', () => {
  it('round-trips a tree with modes into and out of a running container, and a stopped one', async () => {
    const src = join(work, 'tree');
    makeTree(src);
    const want = describeTree(src);
    await stack.dockerOk(['run', '-d', '--name', 'cp-run', 'busybox', 'sleep', '1000']);

    await stack.dockerOk(['cp', src, 'cp-run:/copied']);
    await stack.dockerOk(['cp', 'cp-run:/copied', join(work, 'back-running')]);
    expect(describeTree(join(work, 'back-running'))).toEqual(want);

    await stack.dockerOk(['stop', '-t', '1', 'cp-run']);
    await stack.dockerOk(['cp', src, 'cp-run:/copied-stopped']);
    await stack.dockerOk(['cp', 'cp-run:/copied-stopped', join(work, 'back-stopped')]);
    expect(describeTree(join(work, 'back-stopped'))).toEqual(want);
    // "dir/." copies a directory's contents, both ways.
    mkdirSync(join(work, 'contents'));
    await stack.dockerOk(['cp', 'cp-run:/copied/.', join(work, 'contents')]);
    expect(describeTree(join(work, 'contents'))).toEqual(want);
    await stack.dockerOk(['cp', `${src}/.`, 'cp-run:/tmp']);
    await stack.dockerOk(['cp', 'cp-run:/tmp/sub/deep/leaf', join(work, 'leaf-from-contents')]);
    expect(readFileSync(join(work, 'leaf-from-contents'), 'utf8')).toBe('leaf\n');
    // What was copied while it ran is there after the stop too.
    await stack.dockerOk(['cp', 'cp-run:/copied/sub/deep/leaf', join(work, 'leaf')]);
    expect(readFileSync(join(work, 'leaf'), 'utf8')).toBe('leaf\n');
    // A stopped container's rootfs is mounted only for the copy, in a namespace of its own.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${stack.root}/lib/containerd/bundles`);
  });

  it('keeps the archive’s owners, and with -a gives the files to the container’s user', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'cp-own', '--user', '4321:8765', 'busybox', 'sleep', '1000']);
    const src = join(work, 'tree');
    await stack.dockerOk(['cp', src, 'cp-own:/tmp/plain-copy']);
    await stack.dockerOk(['cp', '-a', src, 'cp-own:/tmp/archive-copy']);
    expect(owners('cp-own', '/tmp/plain-copy')['plain-copy/secret']).toBe('1234/5678');
    const a = owners('cp-own', '/tmp/archive-copy');
    expect(a['archive-copy/secret']).toBe('4321/8765');
    expect(a['archive-copy/sub/deep/leaf']).toBe('4321/8765');
  });

  it('answers Docker’s errors for a missing path and a file as the destination directory', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'cp-err', 'busybox', 'sleep', '1000']);
    const missing = await stack.docker(['cp', 'cp-err:/no/such/file', work]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Could not find the file /no/such/file in container cp-err');
    const tar = Buffer.concat([...new TarWriter().file('x', Buffer.from('x')), ...new TarWriter().end()]);
    const notDir = await stack.docker(['cp', '-', 'cp-err:/etc/passwd'], { input: tar });
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toMatch(/must be a directory|extraction point is not a directory/);
  });
});

describe('docker cp against a hostile container', () => {
  let hostSecret: string;

  beforeAll(async () => {
    hostSecret = join(work, 'host-secret');
    writeFileSync(hostSecret, 'host only\n');
    // Links the container's own processes made: to /, climbing with .., to the host's path.
    await stack.dockerOk([
      'run', '-d', '--name', 'hostile', 'busybox', 'sh', '-c',
      `ln -s / /rootlink; ln -s ../../../../../../../etc /etc-up; ln -s ${work} /hostdir; sleep 1000`,
    ]);
    for (let i = 0; i < 50 && (await stack.docker(['cp', 'hostile:/hostdir', '-'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  });

  it('reads the container’s /etc/passwd through /etc-up and /rootlink/../../etc, never the host’s', async () => {
    for (const path of ['/etc-up/passwd', '/rootlink/../../etc/passwd', '/etc-up/../../../etc/passwd']) {
      const out = join(work, `pw-${path.replace(/\W+/g, '_')}`);
      await stack.dockerOk(['cp', `hostile:${path}`, out]);
      expect(readFileSync(out, 'utf8')).toBe(BUSYBOX_PASSWD);
    }
  });

  it('does not reach a host file through a symlink to /, to .., or to the host path', async () => {
    for (const path of [`/rootlink${hostSecret}`, `/etc-up/..${hostSecret}`, '/hostdir/host-secret']) {
      const r = await stack.docker(['cp', `hostile:${path}`, '-']);
      expect(r.code, path).toBe(1);
      expect(r.stderr).toContain('Could not find the file');
      expect(r.stdout).not.toContain('host only');
    }
  });

  it('writes through /rootlink into the container’s own root, never the host’s', async () => {
    mkdirSync(join(work, 'elsewhere'));
    const src = join(work, 'elsewhere', 'dropped-in');
    writeFileSync(src, 'dropped\n');
    await stack.dockerOk(['cp', src, 'hostile:/rootlink/tmp/']);
    await stack.dockerOk(['cp', 'hostile:/tmp/dropped-in', join(work, 'dropped-back')]);
    expect(readFileSync(join(work, 'dropped-back'), 'utf8')).toBe('dropped\n');
    expect(existsSync('/tmp/dropped-in')).toBe(false);
    // Into the host-looking path: the container has no such directory, so nothing is written.
    const r = await stack.docker(['cp', src, `hostile:/hostdir/`]);
    expect(r.code).toBe(1);
    expect(existsSync(join(work, 'dropped-in'))).toBe(false);
    expect(readFileSync(hostSecret, 'utf8')).toBe('host only\n');
  });

  it('refuses a tar with ../ entries and confines absolute ones', async () => {
    const w = new TarWriter();
    const escape = Buffer.concat([...w.file(`../../../../../../..${work}/escaped`, Buffer.from('x')), ...w.end()]);
    const r = await stack.docker(['cp', '-', 'hostile:/tmp'], { input: escape });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('is outside of "/tmp"');
    expect(existsSync(join(work, 'escaped'))).toBe(false);

    const absolute = Buffer.concat([...w.file(`${work}/escaped-abs`, Buffer.from('x')), ...w.end()]);
    await stack.dockerOk(['cp', '-', 'hostile:/tmp'], { input: absolute });
    expect(existsSync(join(work, 'escaped-abs'))).toBe(false);
    await stack.dockerOk(['cp', `hostile:/tmp${work}/escaped-abs`, join(work, 'confined')]);
    expect(readFileSync(join(work, 'confined'), 'utf8')).toBe('x');
  });
});

describe('docker diff, export, commit', () => {
  beforeAll(async () => {
    await stack.dockerOk(['run', '--name', 'changed', 'busybox', 'sh', '-c', 'mkdir /newdir; echo hello > /hello; echo x >> /etc/passwd; rm /etc/group']);
  });

  it('docker diff lists added, changed and deleted paths, not the runtime’s mount points', async () => {
    const lines = (await stack.dockerOk(['diff', 'changed'])).split('\n');
    expect(lines).toEqual(['C /etc', 'D /etc/group', 'C /etc/passwd', 'A /hello', 'A /newdir']);
  });

  it('docker export | tar t lists the whole root filesystem', async () => {
    const r = spawnSync('sh', ['-c', 'docker export changed | tar t'], { env: stack.env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const names = r.stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'bin/sh', 'etc/passwd', 'hello', 'newdir/']));
    expect(names).not.toContain('etc/group');
  });

  it('docker commit makes an image that runs with the change', async () => {
    const id = await stack.dockerOk(['commit', '--change', 'CMD ["cat","/hello"]', '--change', 'ENV GREETING=hi', '-m', 'with hello', 'changed', 'committed:v1']);
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await stack.dockerOk(['run', '--rm', 'committed:v1'])).toBe('hello');
    expect(await stack.dockerOk(['run', '--rm', 'committed:v1', 'sh', '-c', 'echo $GREETING; cat /etc/group 2>&1 || true'])).toMatch(/^hi\n.*No such file/s);
    const history = await stack.dockerOk(['history', '--format', '{{.Comment}}', 'committed:v1']);
    expect(history.split('\n')[0]).toBe('with hello');
    expect(await eventually(['--filter', 'event=commit', '--format', '{{.Actor.Attributes.imageRef}}'], 'committed:v1')).toBe(true);
  });

  it('docker commit of a running container pauses it for the commit and keeps it running', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo alive > /alive; mkdir -p /var/x; ln -s /alive /var/x/link; sleep 1000']);
    for (let i = 0; i < 50 && (await stack.docker(['cp', 'live:/var/x/link', '-'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    for (const n of [1, 2, 3]) {
      await stack.dockerOk(['commit', 'live', `live-image:${n}`]);
      expect(await stack.dockerOk(['run', '--rm', `live-image:${n}`, 'cat', '/var/x/link'])).toBe('alive');
    }
    expect(await stack.dockerOk(['inspect', '--format', '{{.State.Status}}', 'live'])).toBe('running');
  });

  it('refuses an instruction --change does not allow, and makes no image', async () => {
    const before = await stack.dockerOk(['images', '-q']);
    const r = await stack.docker(['commit', '--change', 'RUN echo hi', 'changed', 'never']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run is not a valid change command');
    expect(await stack.dockerOk(['images', '-q'])).toBe(before);
  });
});

describe('docker rename', () => {
  it('renames, keeps the hostname, and says oldName in its event', async () => {
    await stack.dockerOk(['run', '-d', '--name', 'before-rename', 'busybox', 'sleep', '1000']);
    const hostname = await stack.dockerOk(['inspect', '--format', '{{.Config.Hostname}}', 'before-rename']);
    await stack.dockerOk(['rename', 'before-rename', 'after-rename']);
    expect(await stack.dockerOk(['inspect', '--format', '{{.Name}} {{.Config.Hostname}}', 'after-rename'])).toBe(`/after-rename ${hostname}`);
    await stack.dockerOk(['cp', 'after-rename:/etc/hostname', join(work, 'hostname')]);
    expect(readFileSync(join(work, 'hostname'), 'utf8').trim()).toBe(hostname);
    expect(await eventually(['--filter', 'event=rename', '--format', '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}'], '/before-rename after-rename')).toBe(true);
  });

  it('answers Docker’s errors', async () => {
    await stack.dockerOk(['create', '--name', 'taken-name', 'busybox', 'true']);
    const clash = await stack.docker(['rename', 'after-rename', 'taken-name']);
    expect(clash.stderr).toContain('Error when allocating new name: Conflict. The container name "/taken-name" is already in use by container');
    const same = await stack.docker(['rename', 'after-rename', 'after-rename']);
    expect(same.stderr).toContain('Renaming a container with the same name as its current name');
    const bad = await stack.docker(['rename', 'after-rename', 'no/slash']);
    expect(bad.stderr).toContain('Invalid container name (/no/slash)');
    const none = await stack.docker(['rename', 'no-such-container', 'x2']);
    expect(none.stderr).toContain('No such container: no-such-container');
    expect(await stack.dockerOk(['inspect', '--format', '{{.Name}}', 'after-rename'])).toBe('/after-rename');
  });
});

/**
 * Volumes, binds and tmpfs through the real docker CLI: named volumes that outlive containers,
 * read-only binds, image VOLUMEs filled from the image (ownership and modes kept), anonymous
 * volumes that go with `rm -v` and `run --rm`, --volumes-from, tmpfs options, Docker's errors for
 * bad mounts, and the volume API's shapes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayer, dockerArchive } from '../../images/build.js';
import { TarWriter } from '../../services/containerd/tar.js';
import { leftovers, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let scratch: string;

/** busybox with a second layer holding /data (uid 1000, mode 0750, a seed file 0640) and VOLUME /data. */
function volumeImage(): Buffer {
  const busybox = readFileSync('/bin/busybox');
  const applets = execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const w = new TarWriter();
  const meta = { mtime: 1_704_067_200 };
  const data = Buffer.concat([
    ...w.dir('data', { ...meta, mode: 0o750, uid: 1000, gid: 1000 }),
    ...w.file('data/seed.txt', Buffer.from('seeded by the image\n'), { ...meta, mode: 0o640, uid: 1000, gid: 1000 }),
    ...w.dir('data/sub', { ...meta, mode: 0o700, uid: 0, gid: 0 }),
    ...w.end(),
  ]);
  return dockerArchive([busyboxLayer(busybox, applets), data], { repo: 'withvolume', tag: 'latest' }, { cmd: ['sh'], volumes: ['/data'] }).tar;
}

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
  scratch = mkdtempSync(join(stack.root, 'scratch-'));
  const tar = join(scratch, 'withvolume.tar');
  writeFileSync(tar, volumeImage());
  await stack.dockerOk(['load', '-i', tar]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const docker = (args: string[]) => stack.docker(args, { timeoutMs: 60_000 });
const ok = (args: string[]) => stack.dockerOk(args, { timeoutMs: 60_000 });
const volumeNames = async () => (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort();

describe('named volumes', () => {
  it('data written to a named volume is there for the next container; in use it cannot be removed', async () => {
    await ok(['volume', 'create', '--label', 'kind=test', 'v1']);
    await ok(['run', '--rm', '-v', 'v1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/file']);
    expect(await ok(['run', '--rm', '-v', 'v1:/data:ro', 'busybox', 'cat', '/data/file'])).toBe('kept');
    const doc = JSON.parse(await ok(['volume', 'inspect', 'v1']))[0];
    expect(doc).toMatchObject({ Name: 'v1', Driver: 'local', Scope: 'local', Labels: { kind: 'test' }, Mountpoint: expect.stringMatching(/\/volumes\/v1\/_data$/) });
    expect(readFileSync(join(doc.Mountpoint, 'file'), 'utf8')).toBe('kept\n');
    const id = await ok(['create', '-v', 'v1:/data', 'busybox', 'true']);
    const r = await docker(['volume', 'rm', 'v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`remove v1: volume is in use - [${id}]`);
    expect(await ok(['ps', '-a', '-q', '--filter', 'volume=v1', '--no-trunc'])).toBe(id);
    await ok(['rm', id]);
    await ok(['volume', 'rm', 'v1']);
    expect((await docker(['volume', 'inspect', 'v1'])).stderr).toContain('get v1: no such volume');
  });

  it('`-v name:/path` makes the volume; `docker volume create` with a bad name is refused', async () => {
    await ok(['run', '--rm', '-v', 'implicit:/x', 'busybox', 'true']);
    expect(await volumeNames()).toContain('implicit');
    await ok(['volume', 'rm', 'implicit']);
    const r = await docker(['volume', 'create', 'bad/name']);
    expect(r.stderr).toContain('"bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed');
  });
});

describe('image volumes and anonymous volumes', () => {
  it('an image VOLUME is filled from the image, owners and modes kept; rm -v takes the anonymous volume', async () => {
    const before = await volumeNames();
    const out = await ok(['run', '--name', 'seeded', 'withvolume', 'sh', '-c', 'cat /data/seed.txt; stat -c "%u:%g %a" /data /data/seed.txt /data/sub']);
    expect(out.split('\n')).toEqual(['seeded by the image', '1000:1000 750', '1000:1000 640', '0:0 700']);
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', 'seeded']));
    expect(mounts).toEqual([{ Type: 'volume', Name: expect.stringMatching(/^[0-9a-f]{64}$/), Source: expect.any(String), Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' }]);
    expect(await volumeNames()).toEqual([...before, mounts[0].Name].sort());
    await ok(['rm', '-v', 'seeded']);
    expect(await volumeNames()).toEqual(before);
  });

  it('run --rm takes its anonymous volumes but never a named one; a named volume is filled from the image too', async () => {
    const before = await volumeNames();
    await ok(['run', '--rm', '-v', '/scratch', '-v', 'keepme:/data', 'withvolume', 'sh', '-c', 'test -f /data/seed.txt && touch /scratch/x']);
    expect(await volumeNames()).toEqual([...before, 'keepme'].sort());
    await ok(['volume', 'rm', 'keepme']);
  });

  it('--volumes-from shares another container’s volumes (read-only when asked)', async () => {
    await ok(['create', '--name', 'holder', '-v', 'shared:/shared', 'busybox', 'true']);
    await ok(['run', '--rm', '--volumes-from', 'holder', 'busybox', 'sh', '-c', 'echo via-holder > /shared/f']);
    expect(await ok(['run', '--rm', '--volumes-from', 'holder:ro', 'busybox', 'cat', '/shared/f'])).toBe('via-holder');
    const r = await docker(['run', '--rm', '--volumes-from', 'holder:ro', 'busybox', 'sh', '-c', 'echo x > /shared/f']);
    expect(r.stderr).toContain('Read-only file system');
    await ok(['rm', 'holder']);
    await ok(['volume', 'rm', 'shared']);
  });

  it('docker volume prune removes unused anonymous volumes only (named ones with --all)', async () => {
    await ok(['create', '--name', 'anon', '-v', '/tmpvol', 'busybox', 'true']);
    const anon = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', 'anon']))[0].Name as string;
    await ok(['rm', 'anon']); // without -v: the volume stays, unused
    await ok(['volume', 'create', 'named1']);
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toContain(anon);
    expect(await volumeNames()).toContain('named1');
    expect(await ok(['volume', 'prune', '-f', '--all'])).toContain('named1');
  });
});

describe('binds and tmpfs', () => {
  it('a read-only bind refuses writes; a writable one writes through; propagation shows in inspect', async () => {
    const dir = mkdtempSync(join(scratch, 'bind-'));
    const r = await docker(['run', '--rm', '-v', `${dir}:/ro:ro`, 'busybox', 'sh', '-c', 'echo x > /ro/f']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Read-only file system');
    const m = await docker(['run', '--rm', '--mount', `type=bind,source=${dir},target=/ro,readonly`, 'busybox', 'touch', '/ro/f']);
    expect(m.stderr).toContain('Read-only file system');
    await ok(['run', '--name', 'rw', '-v', `${dir}:/rw:rshared`, 'busybox', 'sh', '-c', 'echo through > /rw/f']);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('through\n');
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', 'rw']));
    expect(mounts).toEqual([{ Type: 'bind', Source: dir, Destination: '/rw', Mode: 'rshared', RW: true, Propagation: 'rshared' }]);
    await ok(['rm', 'rw']);
  });

  it('-v makes a missing host directory; --mount refuses it in Docker’s words', async () => {
    const missing = join(scratch, 'made-by-v');
    await ok(['run', '--rm', '-v', `${missing}:/m`, 'busybox', 'true']);
    expect(execFileSync('stat', ['-c', '%F', missing], { encoding: 'utf8' }).trim()).toBe('directory');
    const r = await docker(['run', '--rm', '--mount', `type=bind,source=${join(scratch, 'nope')},target=/m`, 'busybox', 'true']);
    expect(r.stderr).toContain(`invalid mount config for type "bind": bind source path does not exist: ${join(scratch, 'nope')}`);
  });

  it('a file bound where the image has a directory fails the start clearly and leaves no mount behind', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'x');
    const r = await docker(['run', '--name', 'filedir', '-v', `${file}:/etc`, 'busybox', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`error mounting "${file}" to rootfs at "/etc"`);
    expect(r.stderr).toContain('not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type');
    expect(await ok(['inspect', '--format', '{{.State.Status}}', 'filedir'])).toBe('created');
    expect(leftovers(stack).mounts).toEqual([]);
    await ok(['rm', 'filedir']);
  });

  it('tmpfs mounts take size and mode (--tmpfs and --mount type=tmpfs)', async () => {
    const out = await ok(['run', '--rm', '--tmpfs', '/t1:size=1m', '--mount', 'type=tmpfs,target=/t2,tmpfs-size=2097152,tmpfs-mode=1770', 'busybox', 'sh', '-c',
      'grep -E " /t1 | /t2 " /proc/mounts; stat -c "%a" /t2']);
    expect(out).toMatch(/tmpfs \/t1 tmpfs [^ ]*size=1024k/);
    expect(out).toMatch(/tmpfs \/t2 tmpfs [^ ]*size=2048k/);
    expect(out.split('\n').pop()).toBe('1770');
  });
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * The daemon's userns-remap (TERSANE_USERNS_REMAP=default, Docker's `--userns-remap=default`):
 * root in a container is an unprivileged id of the remap range on the host, what it writes in a
 * volume or bind mount belongs to that range, images run unchanged (their layers idmapped, never
 * copied), and --userns=host opts out. `default` makes the user tersane-remap and gives it a range
 * in /etc/subuid and /etc/subgid when it has none, as dockerd does for dockremap.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRemap } from '../../services/daemon/userns.js';
import { IMAGES, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let bindDir: string;
let range: { uid: number; gid: number; size: number };

beforeAll(async () => {
  stack = await startStack({ env: { TERSANE_USERNS_REMAP: 'default', TERSANE_NO_NEW_PRIVILEGES: '1' } });
  await stack.loadImage('busybox');
  const remap = resolveRemap('default');
  range = { uid: remap.uidMappings[0].host_id, gid: remap.gidMappings[0].host_id, size: remap.uidMappings[0].size };
  bindDir = mkdtempSync('/tmp/tsn-userns-bind-');
  // a bind mount is the user's path: its owner decides who may write (as with Docker)
  chmodSync(bindDir, 0o777);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(bindDir, { recursive: true, force: true });
});

const inRange = (id: number, first: number) => id >= first && id < first + range.size;

describe('userns-remap', () => {
  it('is listed in docker info, with the range in /etc/subuid and /etc/subgid', async () => {
    const opts = JSON.parse(await stack.dockerOk(['info', '--format', '{{json .SecurityOptions}}'])) as string[];
    expect(opts).toContain('name=userns');
    expect(opts).toContain('name=no-new-privileges');
    expect(readFileSync('/etc/subuid', 'utf8')).toMatch(/^tersane-remap:\d+:\d+$/m);
    expect(readFileSync('/etc/subgid', 'utf8')).toMatch(/^tersane-remap:\d+:\d+$/m);
    expect(range.uid).toBeGreaterThanOrEqual(100000);
  });

  it('root in the container is an unprivileged id on the host, and the image runs unchanged', async () => {
    const id = await stack.dockerOk(['run', '-d', '-v', 'userns-vol:/vol', '-v', `${bindDir}:/bind`, 'busybox', 'sh', '-c', 'touch /vol/made /bind/made /made-in-rootfs && sleep 300']);
    const pid = Number(await stack.dockerOk(['inspect', '--format', '{{.State.Pid}}', id]));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uids = /^Uid:\s+(.*)$/m.exec(status)![1].split(/\s+/).map(Number);
    const gids = /^Gid:\s+(.*)$/m.exec(status)![1].split(/\s+/).map(Number);
    expect(uids).toEqual([range.uid, range.uid, range.uid, range.uid]);
    expect(gids).toEqual([range.gid, range.gid, range.gid, range.gid]);
    expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number)).toEqual([0, range.uid, range.size]);
    // inside it is root, and the image's files are root's
    expect(await stack.dockerOk(['exec', id, 'id', '-u'])).toBe('0');
    expect(await stack.dockerOk(['exec', id, 'stat', '-c', '%u:%g', '/bin/busybox', '/etc/passwd', '/made-in-rootfs'])).toBe('0:0\n0:0\n0:0');
    for (let i = 0; i < 50 && (await stack.docker(['exec', id, 'ls', '/bind/made'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    // what it wrote belongs to its range on the host
    const volume = await stack.dockerOk(['volume', 'inspect', '--format', '{{.Mountpoint}}', 'userns-vol']);
    for (const f of [join(volume, 'made'), join(bindDir, 'made')]) {
      const st = statSync(f);
      expect(inRange(st.uid, range.uid), `${f} uid ${st.uid}`).toBe(true);
      expect(inRange(st.gid, range.gid), `${f} gid ${st.gid}`).toBe(true);
      expect(st.uid).toBe(range.uid);
    }
    // an exec is in the same user namespace
    const execUid = await stack.dockerOk(['exec', id, 'sh', '-c', 'cat /proc/self/uid_map']);
    expect(execUid.trim().split(/\s+/).map(Number)).toEqual([0, range.uid, range.size]);
    await stack.dockerOk(['rm', '-f', id]);
    await stack.dockerOk(['volume', 'rm', 'userns-vol']);
  });

  it('shares the image layers as they are: idmapped, not copied or chowned', async () => {
    const snapshots = join(stack.cfg.layerState('containerd'), 'snapshots');
    const before = readdirSync(snapshots).length;
    await stack.dockerOk(['run', '--rm', 'busybox', 'true']);
    // the layer keeps host root's ownership
    const layers = readdirSync(snapshots).filter((d) => /^\d+$/.test(d));
    const owners = layers.map((d) => statSync(join(snapshots, d, 'fs', 'bin', 'busybox'), { throwIfNoEntry: false })?.uid).filter((u) => u !== undefined);
    expect(owners).toContain(0);
    expect(readdirSync(snapshots).length).toBe(before);
  });

  it('nginx runs remapped: master as the range root, workers as its www-data', async () => {
    await stack.dockerOk(['load', '-i', join(IMAGES, 'nginx.tar')]);
    const id = await stack.dockerOk(['run', '-d', 'nginx']);
    let procs: number[] = [];
    for (let i = 0; i < 100 && procs.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      procs = (await stack.dockerOk(['top', id, '-o', 'pid'])).split('\n').slice(1).map(Number).filter(Boolean);
    }
    const owners = procs.map((p) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]));
    expect(owners).toContain(range.uid);
    expect(owners).toContain(range.uid + 33);
    expect((await stack.dockerOk(['logs', id])) + (await stack.docker(['logs', id])).stderr).not.toContain('emerg');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('the daemon-wide no-new-privileges holds unless a container asks no-new-privileges=false', async () => {
    const nnp = async (args: string[]) => /^NoNewPrivs:\s*(\d)/m.exec(await stack.dockerOk(['run', '--rm', ...args, 'busybox', 'cat', '/proc/self/status']))![1];
    expect(await nnp([])).toBe('1');
    expect(await nnp(['--security-opt', 'no-new-privileges=false'])).toBe('0');
    expect(await nnp(['--userns', 'host'])).toBe('1');
  });

  it('a user beyond the remapped range: the start fails with the reason, and --rm leaves nothing', async () => {
    // setuid is refused inside the container process, after the runtime's create: the start
    // reports it, it does not pass for a container that ran and exited.
    const run = await stack.docker(['run', '--rm', '--user', '70000', 'busybox', 'true']);
    expect(run.code).toBe(125);
    expect(run.stderr).toContain('failed to start task for container');
    expect(run.stderr).toContain('setuid 70000: Invalid argument');
    expect((await stack.dockerOk(['ps', '-aq'])).trim()).toBe('');
  });

  it("--userns=host opts out; what user namespaces cannot do is refused in Docker's words", async () => {
    expect((await stack.dockerOk(['run', '--rm', '--userns', 'host', 'busybox', 'cat', '/proc/self/uid_map'])).trim().split(/\s+/)).toEqual(['0', '0', '4294967295']);
    const priv = await stack.docker(['run', '--rm', '--privileged', 'busybox', 'true']);
    expect(priv.stderr).toContain('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
    expect((await stack.docker(['run', '--rm', '--network', 'host', 'busybox', 'true'])).stderr).toContain("cannot share the host's network namespace when user namespaces are enabled");
    expect((await stack.docker(['run', '--rm', '--pid', 'host', 'busybox', 'true'])).stderr).toContain('cannot share the host PID namespace when user namespaces are enabled');
    await stack.dockerOk(['run', '--rm', '--userns', 'host', '--privileged', 'busybox', 'true']);
    expect((await stack.dockerOk(['ps', '-aq'])).trim()).toBe('');
  });
});

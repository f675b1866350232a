/**
 * The rest of config.json and of the command line, each observed from inside the container:
 * personality, I/O priority and scheduler, domainname, the device cgroup (compared with runc),
 * block I/O weight (BFQ's file on this kernel), cgroupsPath forms, exec's per-flag options
 * (capabilities, no_new_privs, groups, --detach with --pid-file), --systemd-cgroup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNC, RuntimeHarness, TERSANE_RUNTIME } from './runtime-harness.js';

let h: RuntimeHarness;
let runc: RuntimeHarness;
beforeAll(() => {
  h = new RuntimeHarness(TERSANE_RUNTIME);
  runc = new RuntimeHarness(RUNC);
});
afterAll(async () => {
  await h.cleanup();
  await runc.cleanup();
});

describe('more of the configuration', () => {
  it('personality, ioPriority, scheduler and domainname', async () => {
    const b = await h.bundle(['sh', '-c', 'uname -m; ionice; cat /proc/self/stat | cut -d" " -f19,41; cat /proc/sys/kernel/domainname'], (c) => {
      c.linux.personality = { domain: 'LINUX32' };
      c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
      c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
      c.domainname = 'example.test';
    });
    const r = h.run(['run', '--bundle', b.dir, 'pers']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // i686 under LINUX32; idle I/O class; nice 7, policy 3 (SCHED_BATCH)
    expect(r.stdout).toBe('i686\nidle\n7 3\nexample.test\n');
  });

  it('the device cgroup denies what the rules do not allow, like runc', async () => {
    const script = 'mknod /tmp/tty0 c 4 0 && echo mknod-ok; head -c1 /tmp/tty0 2>&1 | sed "s/^.*: //"; head -c1 /dev/zero | wc -c; head -c1 /dev/fuse 2>&1 | sed "s/^.*: //"';
    const edit = (c: any) => {
      c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666 }];
    };
    const o = h.run(['run', '--bundle', (await h.bundle(['sh', '-c', script], edit)).dir, 'devcg']);
    const r = runc.run(['run', '--bundle', (await runc.bundle(['sh', '-c', script], edit)).dir, 'devcg']);
    // tty0 is not allowed: mknod (c *:* m) works, opening does not; /dev/zero is in the default set
    const lines = o.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['mknod-ok', 'Operation not permitted', '1']);
    expect(lines.slice(0, 3)).toEqual(r.stdout.split('\n').slice(0, 3));
    // a device listed in linux.devices "MUST be available in the container" (the spec): it is
    // allowed (the read fails in fuse itself, not with EPERM); runc 1.1 leaves it to
    // resources.devices and denies it
    expect(lines[3]).not.toBe('Operation not permitted');
    expect(r.stdout.split('\n')[3]).toBe('Operation not permitted');
  });

  it('blockIO weight: BFQ\'s blkio.bfq.weight where CFQ\'s blkio.weight is missing', async () => {
    const hasBfq = existsSync('/sys/fs/cgroup/blkio') && !existsSync('/sys/fs/cgroup/blkio/blkio.weight');
    const b = await h.bundle(['sh', '-c', 'cat /sys/fs/cgroup/blkio/blkio.bfq.weight /sys/fs/cgroup/blkio/blkio.weight 2>/dev/null | head -1'], (c) => (c.linux.resources.blockIO = { weight: 300 }));
    const r = h.run(['run', '--bundle', b.dir, 'bfq']);
    if (!hasBfq && r.status !== 0) {
      // neither file on this kernel: the weight is refused with a clear error
      expect(r.stderr).toMatch(/linux\.resources\.blockIO\.weight/);
      return;
    }
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^(default )?300$/);
  });

  it('cgroupsPath: absolute, relative to the runtime\'s own cgroup, empty; the systemd form is refused', async () => {
    // the runtime runs in this process's cgroups: a relative path is below them
    const [hid, , ownPath] = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.includes(':memory:'))!.split(':');
    const own = ownPath === '/' ? '' : ownPath;
    const rel = `tn-rel-${process.pid}`;
    let b = await h.bundle(['sh', '-c', 'grep :memory: /proc/self/cgroup'], (c) => (c.linux.cgroupsPath = `${rel}/ctr`));
    let r = h.run(['run', '--bundle', b.dir, 'relcg']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${hid}:memory:${own}/${rel}/ctr\n`);
    // the container's own cgroup is gone; the parent made for it stays, as runc leaves it
    expect(existsSync(join('/sys/fs/cgroup/memory', own, rel, 'ctr'))).toBe(false);
    spawnSync('sh', ['-c', `find /sys/fs/cgroup -maxdepth 8 -depth -type d -name ${rel} -exec rmdir {} \\; 2>/dev/null; true`]);
    b = await h.bundle(['sh', '-c', 'grep :memory: /proc/self/cgroup'], (c) => delete c.linux.cgroupsPath);
    r = h.run(['run', '--bundle', b.dir, 'nocgpath']);
    expect(r.stdout).toBe(`${hid}:memory:${own}/nocgpath\n`);
    b = await h.bundle(['true'], (c) => (c.linux.cgroupsPath = 'system.slice:tersane:x'));
    r = h.run(['run', '--bundle', b.dir, 'sdcg']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/linux\.cgroupsPath: .*systemd/);
    const s = h.run(['--systemd-cgroup', 'list']);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/--systemd-cgroup is not supported/);
  });

  it('exec: --cap, --no-new-privs, --additional-gids, --detach with --pid-file', async () => {
    const b = await h.bundle(['sleep', '1000'], (c) => (c.process.noNewPrivileges = false));
    expect(h.run(['run', '-d', '--bundle', b.dir, 'execflags']).status).toBe(0);
    const caps = h.run(['exec', '--cap', 'CAP_SYS_ADMIN', '--no-new-privs', '-g', '10', '-g', '20', '--user', '0:0', 'execflags', 'sh', '-c', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; id -G']);
    expect(caps.stderr).toBe('');
    expect(caps.stdout).toBe('CapEff:\t00000000a82425fb\nNoNewPrivs:\t1\n0 10 20\n');
    const plain = h.run(['exec', 'execflags', 'sh', '-c', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status']);
    expect(plain.stdout).toBe('CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\n');
    const bad = h.run(['exec', '--cap', 'CAP_NOPE', 'execflags', 'true']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown capability "CAP_NOPE"/);
    const pidFile = join(b.dir, 'exec.pid');
    const d = h.run(['exec', '-d', '--pid-file', pidFile, 'execflags', 'sleep', '77']);
    expect(d.status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u000077\u0000');
    expect(JSON.parse(h.run(['ps', '--format', 'json', 'execflags']).stdout)).toContain(pid);
    expect(h.run(['delete', '--force', 'execflags']).status).toBe(0);
    expect(h.leftovers(b, 'execflags')).toEqual([]);
  });
});

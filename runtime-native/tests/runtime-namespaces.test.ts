/**
 * Namespaces beyond the default five: a user namespace with uid/gid mappings written by the
 * runtime (compared with runc), joining an existing network namespace by path (`ip netns`),
 * joining another container's pid and user namespaces, a cgroup namespace, a time namespace with
 * offsets; a user the namespace does not map.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { reduceMountinfo, RUNC, RuntimeHarness, sections, TERSANE_RUNTIME } from './runtime-harness.js';

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

const userns = (c: any) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

describe('namespaces', () => {
  it('a user namespace with uid/gid mappings, the same as runc', async () => {
    const script = [
      'echo "== maps"; cat /proc/self/uid_map /proc/self/gid_map',
      'echo "== id"; id',
      'echo "== caps"; grep -E "^Cap(Eff|Bnd|Prm)" /proc/self/status',
      'echo "== touch"; touch /tmp/made-inside; ls -ln /tmp/made-inside | awk \'{print $3, $4}\'',
      'echo "== dev"; ls -l /dev/null /dev/zero | awk \'{print $1, $3, $4, $5, $6}\'',
      'echo "== mounts"; cat /proc/self/mountinfo',
    ].join('; ');
    const results = [];
    for (const rt of [h, runc]) {
      const b = await rt.bundle(['sh', '-c', script], userns);
      chmodSync(b.dir, 0o755); // the mapped root must be able to reach its rootfs
      const id = `userns${randomBytes(3).toString('hex')}`;
      const r = rt.run(['run', '--bundle', b.dir, id]);
      expect(r.stderr, rt.bin).toBe('');
      expect(r.status, rt.bin).toBe(0);
      // on the host, the file made by root inside belongs to the mapped uid
      const st = statSync(join(b.rootfs, 'tmp', 'made-inside'));
      expect([st.uid, st.gid]).toEqual([100000, 100000]);
      results.push(sections(r.stdout));
      if (rt === h) expect(h.leftovers(b, id)).toEqual([]);
    }
    const [o, r] = results;
    expect(o.maps).toBe('         0     100000      65536\n         0     100000      65536\n');
    expect(o.id).toBe('uid=0(root) gid=0(root)\n');
    expect(o.touch).toBe('0 0\n');
    for (const k of ['maps', 'id', 'caps', 'touch', 'dev']) expect(o[k], k).toBe(r[k]);
    expect(reduceMountinfo(o.mounts)).toEqual(reduceMountinfo(r.mounts));
  });

  it('a user the namespace does not map: `run` fails, and after `create` it is `start` that fails, with the reason', async () => {
    // The container process takes its credentials (and loads its seccomp filter) once `create`
    // has handed it over, so what the kernel refuses there is reported like a failing
    // startContainer hook: by `start`, with the container left stopped.
    const unmapped = (c: any) => {
      userns(c);
      c.process.user = { uid: 70000, gid: 0 };
    };
    const b = await h.bundle(['true'], unmapped);
    chmodSync(b.dir, 0o755);
    const run = h.run(['run', '--bundle', b.dir, 'unmapped1']);
    expect(run.stderr).toBe('tersane-runtime: process.user/capabilities: setuid 70000: Invalid argument\n');
    expect(run.status).toBe(1);
    expect(h.leftovers(b, 'unmapped1')).toEqual([]);

    expect(h.run(['create', '--bundle', b.dir, 'unmapped2']).status).toBe(0);
    const start = h.run(['start', 'unmapped2']);
    expect(start.stderr).toBe('tersane-runtime: process.user/capabilities: setuid 70000: Invalid argument\n');
    expect(start.status).toBe(1);
    await h.waitStatus('unmapped2', 'stopped');
    expect(h.run(['delete', 'unmapped2']).status).toBe(0);
    expect(h.leftovers(b, 'unmapped2')).toEqual([]);
  });

  it('joins an existing network namespace by path', async () => {
    const name = `tn-test-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', name]);
    try {
      // a change made from the host is seen inside: lo is up in this namespace only
      execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
      const b = await h.bundle(['sh', '-c', 'readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate; ls /sys/class/net'], (c) => {
        for (const n of c.linux.namespaces) if (n.type === 'network') n.path = `/run/netns/${name}`;
      });
      const r = h.run(['run', '--bundle', b.dir, 'netjoin']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const ino = statSync(`/run/netns/${name}`).ino;
      expect(r.stdout).toBe(`net:[${ino}]\nunknown\nlo\n`);
      expect(r.stdout).not.toContain(readlinkSync('/proc/self/ns/net'));
      expect(h.leftovers(b, 'netjoin')).toEqual([]);
      // the namespace itself belongs to its owner and outlives the container
      expect(statSync(`/run/netns/${name}`).ino).toBe(ino);
    } finally {
      spawnSync('ip', ['netns', 'del', name]);
    }
  });

  it('joins another container\'s pid and user namespaces by path', async () => {
    const a = await h.bundle(['sleep', '1000'], userns);
    chmodSync(a.dir, 0o755);
    expect(h.run(['run', '-d', '--bundle', a.dir, 'nsowner']).status).toBe(0);
    const pid = h.state('nsowner').pid;
    const b = await h.bundle(['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; cat /proc/self/uid_map; echo $$'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid');
      c.linux.namespaces.push({ type: 'pid', path: `/proc/${pid}/ns/pid` }, { type: 'user', path: `/proc/${pid}/ns/user` });
    });
    chmodSync(b.dir, 0o755);
    const r = h.run(['run', '--bundle', b.dir, 'nsjoiner']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('sleep 1000 ');
    expect(lines[1]).toBe('         0     100000      65536');
    expect(Number(lines[2])).toBeGreaterThan(1); // not the namespace's init
    expect(h.leftovers(b, 'nsjoiner')).toEqual([]);
    expect(h.run(['delete', '--force', 'nsowner']).status).toBe(0);
  });

  it('a cgroup namespace shows the container\'s cgroup as the root, like runc', async () => {
    const script = 'echo "== cgroup"; cat /proc/self/cgroup; echo "== mounts"; cat /proc/self/mountinfo';
    const out = [];
    for (const rt of [h, runc]) {
      const b = await rt.bundle(['sh', '-c', script], (c) => c.linux.namespaces.push({ type: 'cgroup' }));
      const r = rt.run(['run', '--bundle', b.dir, `cgns${randomBytes(3).toString('hex')}`]);
      expect(r.status, r.stderr).toBe(0);
      out.push(sections(r.stdout));
    }
    for (const line of out[0].cgroup.trim().split('\n')) expect(line).toMatch(/:\/$/);
    expect(out[0].cgroup).toBe(out[1].cgroup);
    expect(reduceMountinfo(out[0].mounts)).toEqual(reduceMountinfo(out[1].mounts));
  });

  it('a time namespace with a monotonic and boottime offset', async () => {
    const b = await h.bundle(['cat', '/proc/uptime'], (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 }, monotonic: { secs: 1000, nanosecs: 0 } };
    });
    const r = h.run(['run', '--bundle', b.dir, 'timens']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const inside = Number(r.stdout.split(' ')[0]);
    const host = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(inside - host).toBeGreaterThan(86400 * 365 - 60);
    expect(inside - host).toBeLessThan(86400 * 365 + 60);
  });
});

/**
 * Differential tests: the same bundle run by Debian's runc and by tersane-runtime (each with its
 * own --root and its own cgroupsPath), comparing what the process inside observes: hostname, id,
 * its mount table, capability/no_new_privs/seccomp lines of /proc/self/status, rlimits, cgroup
 * limit files, namespace identities, environment, working directory and umask, and exit codes and
 * deaths by signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readlinkSync } from 'node:fs';
import { reduceMountinfo, RUNC, RuntimeHarness, sections, TERSANE_RUNTIME } from './runtime-harness.js';

let ours: RuntimeHarness;
let runc: RuntimeHarness;
beforeAll(() => {
  ours = new RuntimeHarness(TERSANE_RUNTIME);
  runc = new RuntimeHarness(RUNC);
});
afterAll(async () => {
  await ours.cleanup();
  await runc.cleanup();
});

const OBSERVE = [
  'echo "== hostname"; hostname',
  'echo "== id"; id',
  'echo "== mounts"; cat /proc/self/mountinfo',
  'echo "== status"; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
  'echo "== limits"; cat /proc/self/limits',
  'echo "== cgroup"; for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes memory/memory.soft_limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares pids/pids.max; do echo "$f $(cat /sys/fs/cgroup/$f 2>&1)"; done',
  'echo "== ns"; for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done',
  'echo "== env"; env | sort',
  'echo "== cwd"; pwd; umask',
  'echo "== oom"; cat /proc/self/oom_score_adj',
  'echo "== devices"; ls -ln /dev | grep -v "^total" | awk \'{print $1, $3, $4, $5, $6, $NF}\'',
].join('; ');

function hostNamespaces(): Record<string, string> {
  const res: Record<string, string> = {};
  for (const n of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts']) res[n] = readlinkSync(`/proc/self/ns/${n}`);
  return res;
}

/** Runs `args` with `edit` in a bundle of each runtime; returns both results. */
async function both(args: string[], edit?: (c: any) => void) {
  const id = `diff${Math.random().toString(16).slice(2, 8)}`;
  const bo = await ours.bundle(args, edit);
  const br = await runc.bundle(args, edit);
  const o = ours.run(['run', '--bundle', bo.dir, id]);
  const r = runc.run(['run', '--bundle', br.dir, id]);
  return { o, r, bo, br, id };
}

function compareObservations(o: string, r: string, configured: string[]) {
  const so = sections(o);
  const sr = sections(r);
  for (const key of ['hostname', 'id', 'status', 'limits', 'cgroup', 'env', 'cwd', 'oom', 'devices']) {
    expect(so[key], `section ${key}`).toBe(sr[key]);
  }
  // the mount table as the container sees it: mount point, type, per-mount and super options
  expect(reduceMountinfo(so.mounts)).toEqual(reduceMountinfo(sr.mounts));
  // namespaces: the configured ones differ from the host's, the others are the host's — for both
  const host = hostNamespaces();
  for (const text of [so.ns, sr.ns]) {
    for (const line of text.trim().split('\n')) {
      const [type, link] = line.split(' ');
      if (configured.includes(type)) expect(link, `${type} namespace`).not.toBe(host[type]);
      else expect(link, `${type} namespace`).toBe(host[type]);
    }
  }
}

describe('tersane-runtime and runc, side by side', () => {
  it('the default bundle (runc spec\'s shape) with limits, rlimits and an oom score', async () => {
    const { o, r } = await both(['sh', '-c', OBSERVE], (c) => {
      c.hostname = 'diffhost';
      c.process.env.push('EXTRA=with spaces', 'EMPTY=');
      c.process.cwd = '/tmp/work/dir';
      c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1000 },
        { type: 'RLIMIT_NPROC', hard: 500, soft: 400 },
        { type: 'RLIMIT_CORE', hard: 1048576, soft: 0 },
      ];
      c.process.oomScoreAdj = 200;
      c.linux.resources.memory = { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024, swap: 128 * 1024 * 1024 };
      c.linux.resources.cpu = { shares: 512, quota: 30000, period: 100000 };
      c.linux.resources.pids = { limit: 42 };
      c.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 0, gid: 0 }];
    });
    expect(o.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(o.status).toBe(0);
    compareObservations(o.stdout, r.stdout, ['ipc', 'mnt', 'net', 'pid', 'uts']);
    // and what those values are, so a shared mistake would show too
    const s = sections(o.stdout);
    expect(s.hostname).toBe('diffhost\n');
    expect(s.cgroup).toContain('memory/memory.limit_in_bytes 67108864\n');
    expect(s.cgroup).toContain('cpu/cpu.cfs_quota_us 30000\n');
    expect(s.cgroup).toContain('pids/pids.max 42\n');
    expect(s.limits).toMatch(/Max open files\s+1000\s+2048/);
    expect(s.status).toContain('CapEff:\t00000000a80425fb');
    expect(s.status).toContain('NoNewPrivs:\t1');
    expect(s.cwd).toBe('/tmp/work/dir\n0022\n');
    expect(s.env).toContain('EXTRA=with spaces\n');
    expect(s.oom).toBe('200\n');
    expect(s.devices).toMatch(/^crw-r----- 0 0 10, 229 fuse$/m);
  });

  it('a non-root user with groups, a umask, capabilities in all five sets, no no_new_privs, a read-only root', async () => {
    const caps = ['CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_CHOWN'];
    const { o, r } = await both(['sh', '-c', OBSERVE + '; echo "== write"; touch /x 2>&1; echo $?'], (c) => {
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: ['CAP_NET_BIND_SERVICE'] };
      c.process.noNewPrivileges = false;
      c.root.readonly = true;
      c.process.cwd = '/';
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1000' };
    });
    expect(o.stderr).toBe('');
    expect(o.status).toBe(0);
    expect(r.status).toBe(0);
    compareObservations(o.stdout, r.stdout, ['ipc', 'mnt', 'net', 'pid', 'uts']);
    expect(sections(o.stdout).write).toBe(sections(r.stdout).write);
    const s = sections(o.stdout);
    expect(s.id).toBe('uid=1000 gid=1001 groups=10(wheel),20\n');
    expect(s.status).toContain('CapAmb:\t0000000000000400');
    expect(s.status).toContain('NoNewPrivs:\t0');
    expect(s.cwd).toBe('/\n0027\n');
    expect(sections(o.stdout).write).toMatch(/Read-only file system/);
  });

  it('sysctls are written inside the container\'s namespaces', async () => {
    const script = 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/net/core/somaxconn';
    const { o, r } = await both(['sh', '-c', script], (c) => {
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shmmni': '1000', 'net.core.somaxconn': '99' };
    });
    expect(o.stdout).toBe(r.stdout);
    expect(o.stdout).toBe('1\n1000\n99\n');
    expect(readFileSync('/proc/sys/kernel/shmmni', 'utf8')).not.toBe('1000\n');
  });

  it('exit codes and deaths by signal', async () => {
    let res = await both(['sh', '-c', 'exit 7']);
    expect(res.r.status).toBe(7);
    expect(res.o.status).toBe(7);
    // as pid 1 of its pid namespace a shell ignores its own SIGKILL: without one, it dies of it
    res = await both(['sh', '-c', 'kill -9 $$'], (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid')));
    expect(res.r.status).toBe(137);
    expect(res.o.status).toBe(137);
    res = await both(['sh', '-c', 'kill -SEGV $$'], (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'pid')));
    expect(res.r.status).toBe(139);
    expect(res.o.status).toBe(139);
    // a child killed by a signal: the shell reports 128+9 as its own status
    res = await both(['sh', '-c', 'sleep 100 & kill -9 $!; wait $!']);
    expect(res.r.status).toBe(137);
    expect(res.o.status).toBe(137);
  });

  it('a signal from the runtime: kill with SIGKILL ends a running container with 137', async () => {
    for (const h of [ours, runc]) {
      const b = await h.bundle(['sleep', '1000']);
      const id = `sig${Math.random().toString(16).slice(2, 8)}`;
      const fg = h.spawn(['run', '--bundle', b.dir, id]);
      await h.waitStatus(id, 'running');
      expect(h.run(['kill', id, 'KILL']).status).toBe(0);
      const res = await fg.done;
      expect(res.status, h.bin).toBe(137);
    }
  });

  it('the runtime forwards signals it receives to the container (run in the foreground)', async () => {
    const script = 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done';
    for (const h of [ours, runc]) {
      const b = await h.bundle(['sh', '-c', script]);
      const id = `fwd${Math.random().toString(16).slice(2, 8)}`;
      const fg = h.spawn(['run', '--bundle', b.dir, id]);
      await h.waitStatus(id, 'running');
      await new Promise((r) => setTimeout(r, 200));
      process.kill(fg.pid, 'SIGTERM');
      const res = await fg.done;
      expect(res.stdout, h.bin).toBe('ready\ngot TERM\n');
      expect(res.status, h.bin).toBe(3);
    }
  });
});

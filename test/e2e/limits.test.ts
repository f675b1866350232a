/**
 * Limits and options through the real docker CLI, checked where they take effect: the container's
 * cgroup files, what the process sees, `docker stats`/`top`/`update`/`pause`, health checks, --init,
 * and bad input answered in Docker's words with nothing left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, sleep, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

beforeAll(async () => {
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
});

/** A file of the container's cgroup: the v1 controller's directory, or the v2 one. */
function cgroupFile(id: string, v1: [string, string], v2: string): string {
  const dir = V2 ? join('/sys/fs/cgroup', stack.cfg.cgroupParent, id) : join('/sys/fs/cgroup', v1[0], stack.cfg.cgroupParent, id);
  return readFileSync(join(dir, V2 ? v2 : v1[1]), 'utf8').trim();
}

const cpuQuota = (id: string) => (V2 ? cgroupFile(id, ['', ''], 'cpu.max') : `${cgroupFile(id, ['cpu', 'cpu.cfs_quota_us'], '')} ${cgroupFile(id, ['cpu', 'cpu.cfs_period_us'], '')}`);
const memoryLimit = (id: string) => cgroupFile(id, ['memory', 'memory.limit_in_bytes'], 'memory.max');

/** One stats document of the API (stream=false: two samples a second apart). */
function apiStats(id: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: stack.cfg.dockerSocket, path: `/containers/${id}/stats?stream=false` }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, tries = 100): Promise<T> {
  let v = await fn();
  for (let i = 0; i < tries && !ok(v); i++) {
    await sleep(200);
    v = await fn();
  }
  if (!ok(v)) throw new Error(`${what}: last seen ${JSON.stringify(v)}`);
  return v;
}

describe('memory, pids and cpu limits', () => {
  it('kills a container that allocates past -m 32m and says OOMKilled with exit code 137', async () => {
    const r = await stack.docker(['run', '--name', 'oom', '-m', '32m', 'busybox', 'sh', '-c', 'x=$(head -c 100m /dev/zero | tr "\\0" x); echo survived']);
    expect(r.code).toBe(137);
    expect(r.stdout).not.toContain('survived');
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}', 'oom'])).toBe(
      `true 137 ${32 << 20} ${64 << 20}`,
    );
    await stack.dockerOk(['rm', 'oom']);
  });

  it('stops a (bounded) fork bomb at --pids-limit 20, and the host is unaffected', async () => {
    const id = await stack.dockerOk(['run', '-d', '--pids-limit', '20', 'busybox', 'sh', '-c',
      'i=0; while [ $i -lt 60 ]; do (sleep 30 &) 2>/dev/null || echo fail; i=$((i+1)); done; echo finished; sleep 1000']);
    const logs = await until(() => stack.dockerOk(['logs', id]), (l) => l.includes('finished'), 'the bomb to finish');
    expect(logs.split('\n').filter((l) => l === 'fail').length).toBeGreaterThan(0);
    expect(cgroupFile(id, ['pids', 'pids.max'], 'pids.max')).toBe('20');
    expect(Number(cgroupFile(id, ['pids', 'pids.current'], 'pids.current'))).toBeLessThanOrEqual(20);
    expect(spawnSync('sh', ['-c', 'sleep 0 & wait; echo host-ok'], { encoding: 'utf8' }).stdout).toBe('host-ok\n');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('puts --cpus 0.5 in the cgroup and stats show it throttled', async () => {
    const id = await stack.dockerOk(['run', '-d', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done']);
    expect(cpuQuota(id)).toBe('50000 100000');
    const stats = await until(() => apiStats(id), (s) => s.cpu_stats.throttling_data.throttled_periods > 0, 'throttled periods');
    expect(stats.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(stats.precpu_stats.cpu_usage.total_usage);
    expect(stats.precpu_stats.system_cpu_usage).toBeGreaterThan(0);
    // Network counters come from the container's own namespace (its eth0 on the default network).
    expect(stats.networks?.eth0).toMatchObject({ rx_bytes: expect.any(Number), tx_bytes: expect.any(Number) });
    expect(stats.memory_stats.limit).toBeGreaterThan(0);
    // The CLI's figure: at most half a CPU, with room for the sampling's own slack.
    const line = await stack.dockerOk(['stats', '--no-stream', '--format', '{{.CPUPerc}} {{.PIDs}}', id]);
    const [cpu, pids] = line.split(' ');
    expect(Number.parseFloat(cpu)).toBeLessThanOrEqual(60);
    expect(pids).toBe('1');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('changes a running container’s limits with docker update', async () => {
    const id = await stack.dockerOk(['run', '-d', '-m', '32m', '--cpus', '0.5', 'busybox', 'sleep', '1000']);
    expect(memoryLimit(id)).toBe(String(32 << 20));
    const refused = await stack.docker(['update', '--memory', '100m', id]);
    expect(refused.stderr).toContain(`Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    await stack.dockerOk(['update', '--memory', '48m', '--memory-swap', '96m', '--cpus', '1', '--pids-limit', '30', id]);
    expect(memoryLimit(id)).toBe(String(48 << 20));
    expect(cpuQuota(id)).toBe('100000 100000');
    expect(cgroupFile(id, ['pids', 'pids.max'], 'pids.max')).toBe('30');
    expect(await stack.dockerOk(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', id])).toBe(`${48 << 20} 1000000000 30`);
    // The stats limit follows, and so does the next start.
    expect(await stack.dockerOk(['stats', '--no-stream', '--format', '{{.MemUsage}}', id])).toMatch(/ \/ 48MiB$/);
    await stack.dockerOk(['restart', '-t', '0', id]);
    expect(memoryLimit(id)).toBe(String(48 << 20));
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('writes --cpu-shares, --cpuset-cpus, --memory-swap and --oom-kill-disable to the cgroup', async () => {
    const id = await stack.dockerOk(['run', '-d', '--cpu-shares', '512', '--cpuset-cpus', '0', '-m', '64m', '--memory-swap', '128m', '--oom-kill-disable', 'busybox', 'sleep', '1000']);
    expect(cgroupFile(id, ['cpu', 'cpu.shares'], 'cpu.weight')).toBe(V2 ? '20' : '512');
    expect(cgroupFile(id, ['cpuset', 'cpuset.cpus'], 'cpuset.cpus')).toBe('0');
    expect(cgroupFile(id, ['memory', 'memory.memsw.limit_in_bytes'], 'memory.swap.max')).toBe(String(V2 ? 64 << 20 : 128 << 20));
    if (!V2) expect(cgroupFile(id, ['memory', 'memory.oom_control'], '')).toContain('oom_kill_disable 1');
    await stack.dockerOk(['rm', '-f', id]);
  });
});

describe('process options', () => {
  it('--ulimit, --shm-size, --user, --workdir, --env-file, --entrypoint', async () => {
    expect(await stack.dockerOk(['run', '--rm', '--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'echo $(ulimit -n) $(ulimit -Hn)'])).toBe('100 200');
    expect(await stack.dockerOk(['run', '--rm', '--shm-size', '16m', 'busybox', 'sh', '-c', "df -k /dev/shm | tail -1 | awk '{print $2}'"])).toBe('16384');
    expect(await stack.dockerOk(['run', '--rm', '-u', 'daemon', '-w', '/tmp', 'busybox', 'sh', '-c', 'echo $(id -u) $(pwd)'])).toBe('1 /tmp');
    const envFile = join(stack.root, 'env');
    spawnSync('sh', ['-c', `printf 'A=1\\n# a comment\\nB=two words\\n' > ${envFile}`]);
    expect(await stack.dockerOk(['run', '--rm', '--env-file', envFile, '-e', 'C=3', 'busybox', 'sh', '-c', 'echo $A $B $C'])).toBe('1 two words 3');
    expect(await stack.dockerOk(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint'])).toBe('from entrypoint');
  });

  it('--read-only, --cap-drop, --cap-add, --privileged, --security-opt no-new-privileges', async () => {
    const ro = await stack.docker(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toContain('Read-only file system');
    expect((await stack.docker(['run', '--rm', '--cap-drop', 'chown', 'busybox', 'chown', '1', '/tmp'])).code).toBe(1);
    const capEff = async (args: string[]) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(await stack.dockerOk(['run', '--rm', ...args, 'busybox', 'cat', '/proc/self/status']))![1]}`);
    const CAP_SYS_ADMIN = 1n << 21n;
    expect((await capEff([])) & CAP_SYS_ADMIN).toBe(0n);
    expect((await capEff(['--cap-add', 'sys_admin'])) & CAP_SYS_ADMIN).toBe(CAP_SYS_ADMIN);
    // Privileged: every capability of the host's bounding set (this host's lacks CAP_SYS_RESOURCE).
    const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
    expect(await capEff(['--privileged'])).toBe(bounding);
    expect(await stack.dockerOk(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])).toMatch(/NoNewPrivs:\s+1/);
  });

  it('--stop-signal and --stop-timeout', async () => {
    const id = await stack.dockerOk(['run', '-d', '--stop-signal', 'SIGUSR1', '--stop-timeout', '3', 'busybox', 'sh', '-c', 'trap "echo got-usr1; exit 9" USR1; while :; do sleep 0.1; done']);
    expect(await stack.dockerOk(['inspect', '-f', '{{.Config.StopSignal}} {{.Config.StopTimeout}}', id])).toBe('SIGUSR1 3');
    await stack.dockerOk(['stop', id]);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.ExitCode}}', id])).toBe('9');
    expect(await stack.dockerOk(['logs', id])).toBe('got-usr1');
    // A process that ignores its stop signal is killed once the stop timeout is over.
    const stubborn = await stack.dockerOk(['run', '-d', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done']);
    await stack.dockerOk(['stop', stubborn]);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.ExitCode}}', stubborn])).toBe('137');
    await stack.dockerOk(['rm', id, stubborn]);
  });

  it('--init reaps zombies and forwards SIGTERM', async () => {
    // Without an init, PID 1 (sleep) never reaps the orphan it inherits: a zombie stays.
    const script = '(sleep 0.2 &); exec sleep 1000';
    const bare = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', script]);
    const zombies = (id: string) => stack.dockerOk(['exec', id, 'sh', '-c', "ps -o stat | grep -c '^Z' || true"]);
    expect(await until(() => zombies(bare), (n) => n === '1', 'a zombie without --init')).toBe('1');
    const init = await stack.dockerOk(['run', '-d', '--init', 'busybox', 'sh', '-c', script]);
    await sleep(1000);
    expect(await zombies(init)).toBe('0');
    expect(await stack.dockerOk(['top', init, '-o', 'pid,comm'])).toContain('docker-init');
    await stack.dockerOk(['rm', '-f', bare, init]);

    const term = await stack.dockerOk(['run', '-d', '--init', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done']);
    await stack.dockerOk(['stop', '-t', '10', term]);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.ExitCode}}', term])).toBe('7');
    expect(await stack.dockerOk(['logs', term])).toBe('got-term');
    await stack.dockerOk(['rm', term]);
  });
});

describe('top, pause and health', () => {
  it('docker top lists the container’s processes', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', 'sleep 1001 & sleep 1002']);
    const out = await until(() => stack.dockerOk(['top', id]), (o) => o.includes('sleep 1002') && o.includes('sleep 1001'), 'top');
    expect(out.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(out).not.toContain('sleep 1000');
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('pause freezes the container (its counter stops) and unpause thaws it', async () => {
    const id = await stack.dockerOk(['run', '-d', 'busybox', 'sh', '-c', 'trap "exit 5" TERM; i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
    const last = async () => Number((await stack.dockerOk(['logs', '--tail', '1', id])) || 0);
    await until(last, (n) => n > 3, 'the counter running');
    await stack.dockerOk(['pause', id]);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', id])).toBe('paused true true');
    expect(await stack.dockerOk(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}'])).toMatch(/\(Paused\)$/);
    const frozen = await last();
    await sleep(600);
    expect(await last()).toBe(frozen);
    expect((await stack.docker(['pause', id])).stderr).toContain(`Container ${id} is already paused`);
    await stack.dockerOk(['unpause', id]);
    await until(last, (n) => n > frozen, 'the counter going on');
    expect((await stack.docker(['unpause', id])).stderr).toContain(`Container ${id} is not paused`);
    // Stopping a paused container unpauses it after the signal, so it handles it at once (Docker's).
    await stack.dockerOk(['pause', id]);
    await stack.dockerOk(['stop', '-t', '30', id]);
    expect(await stack.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).toBe('exited 5');
    await stack.dockerOk(['rm', id]);
  });

  it('reports health: starting, healthy, then unhealthy after the retries, with events', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await stack.dockerOk(['run', '-d', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '1s', '--health-retries', '2',
      '--health-timeout', '5s', 'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 1000']);
    const status = () => stack.dockerOk(['inspect', '-f', '{{.State.Health.Status}}', id]);
    await until(status, (s) => s === 'healthy', 'healthy');
    expect(await stack.dockerOk(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}'])).toMatch(/^Up .* \(healthy\)$/);
    await stack.dockerOk(['exec', id, 'rm', '/tmp/ok']);
    await until(status, (s) => s === 'unhealthy', 'unhealthy');
    const health = JSON.parse(await stack.dockerOk(['inspect', '-f', '{{json .State.Health}}', id]));
    expect(health.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(health.Log.length).toBeLessThanOrEqual(5);
    expect(health.Log.at(-1).ExitCode).toBe(1);
    expect(await stack.dockerOk(['ps', '--filter', 'health=unhealthy', '--format', '{{.ID}}'])).toBe(id.slice(0, 12));
    const until_ = Math.floor(Date.now() / 1000) + 1;
    const events = await stack.dockerOk(['events', '--since', String(since), '--until', String(until_), '--filter', `container=${id}`, '--format', '{{.Action}}']);
    expect(events.split('\n')).toEqual(expect.arrayContaining(['health_status: healthy', 'health_status: unhealthy']));
    await stack.dockerOk(['rm', '-f', id]);
  });

  it('kills a probe past its timeout, and --no-healthcheck leaves no health', async () => {
    const id = await stack.dockerOk(['run', '-d', '--health-cmd', 'sleep 30', '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '1', 'busybox', 'sleep', '1000']);
    await until(() => stack.dockerOk(['inspect', '-f', '{{.State.Health.Status}}', id]), (s) => s === 'unhealthy', 'unhealthy');
    const log = JSON.parse(await stack.dockerOk(['inspect', '-f', '{{json .State.Health.Log}}', id]));
    expect(log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (1s)' });
    const none = await stack.dockerOk(['run', '-d', '--no-healthcheck', 'busybox', 'sleep', '1000']);
    expect(await stack.dockerOk(['inspect', '-f', '{{json .State.Health}}', none])).toBe('null');
    await stack.dockerOk(['rm', '-f', id, none]);
  });
});

describe('bad input: Docker’s words, nothing left behind', () => {
  it.each([
    [['-u', 'nope'], 'unable to find user nope: no matching entries in passwd file'],
    [['-m', '4m'], 'Minimum memory limit allowed is 6MB'],
    [['--cpus', '-1'], 'Range of CPUs is from 0.01 to'],
    [['--cpus', '99'], 'Range of CPUs is from 0.01 to'],
    [['--restart', 'sometimes'], "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"],
  ])('docker run %j', async (flags, message) => {
    const before = await stack.dockerOk(['ps', '-aq']);
    const r = await stack.docker(['run', ...flags, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(message);
    expect(await stack.dockerOk(['ps', '-aq'])).toBe(before);
    expect(leftovers(stack).cgroups).toEqual([]);
  });
});

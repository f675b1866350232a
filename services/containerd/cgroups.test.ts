/**
 * cgroups.ts against temporary directories laid out like cgroup v1 (one directory per controller)
 * and like cgroup v2 (one unified directory): the samples stats are made of, the pids, and the
 * writes of docker update in the order the kernel accepts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyCgroupResources, cgroupDir, cgroupPids, detectCgroups, parseBlkioV1, parseIoStatV2, parseNetDev, readCgroupStats,
  sharesToWeight, systemCpuUsage,
} from './cgroups.js';

const PATH = '/tersane-test/abc';
const HOST_MEMORY = 8 * 1024 ** 3;
const roots: string[] = [];

afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function layout(files: Record<string, string>, v2: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'cg-'));
  roots.push(root);
  if (v2) writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids io\n');
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

describe('cgroup v2', () => {
  const dir = PATH.slice(1);
  const files = {
    [`${dir}/cpu.stat`]: 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2000\n',
    [`${dir}/memory.current`]: '1048576\n',
    [`${dir}/memory.max`]: '33554432\n',
    [`${dir}/memory.stat`]: 'anon 524288\nfile 262144\ninactive_file 131072\n',
    [`${dir}/pids.current`]: '3\n',
    [`${dir}/pids.max`]: '20\n',
    [`${dir}/io.stat`]: '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
    [`${dir}/cgroup.procs`]: '101\n102\n',
  };

  it('is detected from cgroup.controllers at the root', () => {
    expect(detectCgroups(layout({}, true)).v2).toBe(true);
    expect(detectCgroups(layout({}, false)).v2).toBe(false);
  });

  it('reads a sample in the units Docker reports (ns, bytes)', () => {
    const cg = detectCgroups(layout(files, true));
    const s = readCgroupStats(cg, PATH, HOST_MEMORY);
    expect(s.cpu).toEqual({
      total_usage: 1_500_000, percpu_usage: [], usage_in_kernelmode: 500_000, usage_in_usermode: 1_000_000,
      throttling_periods: 10, throttled_periods: 4, throttled_time: 2_000_000,
    });
    expect(s.memory).toMatchObject({ usage: 1048576, limit: 33554432, stats: { anon: 524288, file: 262144, inactive_file: 131072 } });
    expect(s.pids_current).toBe(3);
    expect(s.pids_limit).toBe(20);
    expect(s.io_service_bytes).toEqual([
      { major: 8, minor: 0, op: 'read', value: 4096 },
      { major: 8, minor: 0, op: 'write', value: 8192 },
    ]);
    expect(s.io_serviced).toEqual([
      { major: 8, minor: 0, op: 'read', value: 1 },
      { major: 8, minor: 0, op: 'write', value: 2 },
    ]);
    expect(cgroupPids(cg, PATH)).toEqual([101, 102]);
  });

  it('shows the host’s memory as the limit of an unlimited cgroup, and no pids limit', () => {
    const cg = detectCgroups(layout({ ...files, [`${dir}/memory.max`]: 'max\n', [`${dir}/pids.max`]: 'max\n' }, true));
    const s = readCgroupStats(cg, PATH, HOST_MEMORY);
    expect(s.memory.limit).toBe(HOST_MEMORY);
    expect(s.pids_limit).toBe(0);
  });

  it('writes limits in v2 terms: cpu.max, cpu.weight, memory.swap.max as swap alone, pids.max', () => {
    const root = layout({ ...files, [`${dir}/cpu.max`]: 'max 100000\n', [`${dir}/cpu.weight`]: '100\n', [`${dir}/memory.swap.max`]: 'max\n' }, true);
    const cg = detectCgroups(root);
    applyCgroupResources(cg, PATH, { cpu_quota: 50_000, cpu_period: 100_000, cpu_shares: 512, memory: 64 << 20, memory_swap: 128 << 20, pids_limit: -1 });
    const read = (f: string) => readFileSync(join(root, dir, f), 'utf8');
    expect(read('cpu.max')).toBe('50000 100000');
    expect(read('cpu.weight')).toBe('20');
    expect(read('memory.max')).toBe(String(64 << 20));
    expect(read('memory.swap.max')).toBe(String(64 << 20));
    expect(read('pids.max')).toBe('max');
  });
});

describe('cgroup v1', () => {
  const p = PATH.slice(1);
  const files = {
    [`cpuacct/${p}/cpuacct.usage`]: '3000000\n',
    [`cpuacct/${p}/cpuacct.usage_percpu`]: '1000000 2000000 \n',
    [`cpuacct/${p}/cpuacct.stat`]: 'user 20\nsystem 10\n',
    [`cpu/${p}/cpu.stat`]: 'nr_periods 5\nnr_throttled 2\nthrottled_time 7000\n',
    [`memory/${p}/memory.usage_in_bytes`]: '2097152\n',
    [`memory/${p}/memory.max_usage_in_bytes`]: '4194304\n',
    [`memory/${p}/memory.failcnt`]: '1\n',
    [`memory/${p}/memory.limit_in_bytes`]: '9223372036854771712\n',
    [`memory/${p}/memory.memsw.limit_in_bytes`]: '9223372036854771712\n',
    [`memory/${p}/memory.stat`]: 'cache 4096\nrss 8192\ntotal_inactive_file 4096\n',
    [`pids/${p}/pids.current`]: '2\n',
    [`pids/${p}/pids.max`]: 'max\n',
    [`pids/${p}/cgroup.procs`]: '7\n',
    [`blkio/${p}/blkio.io_service_bytes_recursive`]: 'Total 0\n',
    [`blkio/${p}/blkio.throttle.io_service_bytes_recursive`]: '8:0 Read 512\n8:0 Write 1024\n8:0 Total 1536\nTotal 1536\n',
  };

  it('reads each controller’s own directory, cpuacct ticks as ns, the first blkio file with entries', () => {
    const cg = detectCgroups(layout(files, false));
    expect(cgroupDir(cg, 'memory', PATH)).toMatch(/\/memory\/tersane-test\/abc$/);
    const s = readCgroupStats(cg, PATH, HOST_MEMORY);
    expect(s.cpu).toEqual({
      total_usage: 3_000_000, percpu_usage: [1_000_000, 2_000_000], usage_in_kernelmode: 100_000_000, usage_in_usermode: 200_000_000,
      throttling_periods: 5, throttled_periods: 2, throttled_time: 7000,
    });
    expect(s.memory).toEqual({ usage: 2097152, max_usage: 4194304, failcnt: 1, limit: HOST_MEMORY, stats: { cache: 4096, rss: 8192, total_inactive_file: 4096 } });
    expect(s.pids_limit).toBe(0);
    expect(s.io_service_bytes.map((e) => e.op)).toEqual(['Read', 'Write', 'Total']);
    expect(cgroupPids(cg, PATH)).toEqual([7]);
  });

  it('writes the memory, memory+swap, CFS quota and pids limits', () => {
    const root = layout({ ...files, [`memory/${p}/memory.limit_in_bytes`]: String(32 << 20), [`memory/${p}/memory.memsw.limit_in_bytes`]: String(64 << 20) }, false);
    const cg = detectCgroups(root);
    applyCgroupResources(cg, PATH, { memory: 48 << 20, memory_swap: 96 << 20, cpu_quota: 100_000, cpu_period: 100_000, pids_limit: 30 });
    const read = (ctrl: string, f: string) => readFileSync(join(root, ctrl, p, f), 'utf8');
    expect(read('memory', 'memory.limit_in_bytes')).toBe(String(48 << 20));
    expect(read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(96 << 20));
    expect(read('cpu', 'cpu.cfs_quota_us')).toBe('100000');
    expect(read('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(read('pids', 'pids.max')).toBe('30');
  });

  it('fails in Docker’s terms on a file the kernel refuses', () => {
    const cg = detectCgroups(layout({}, false));
    expect(() => applyCgroupResources(cg, PATH, { cpu_shares: 512 })).toThrow(/failed to write "512" to .*cpu\.shares/);
  });
});

describe('parsers', () => {
  it('cpu.shares to cpu.weight as runc converts them', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });

  it('/proc/stat: user…softirq of the cpu line in ns, and the CPUs', () => {
    const stat = 'cpu  100 0 50 1000 10 0 5 3 0 0\ncpu0 50 0 25 500 5 0 2 1 0 0\ncpu1 50 0 25 500 5 0 3 2 0 0\nintr 1\n';
    expect(systemCpuUsage(stat)).toEqual({ usage: 1165 * 10_000_000, onlineCpus: 2 });
  });

  it('/proc/net/dev without loopback', () => {
    const dev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
      '  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(dev)).toEqual([
      { name: 'eth0', rx_bytes: 2000, rx_packets: 20, rx_errors: 1, rx_dropped: 2, tx_bytes: 3000, tx_packets: 30, tx_errors: 3, tx_dropped: 4 },
    ]);
  });

  it('blkio and io.stat lines', () => {
    expect(parseBlkioV1('253:1 Read 10\nTotal 10\n')).toEqual([{ major: 253, minor: 1, op: 'Read', value: 10 }]);
    expect(parseIoStatV2('').bytes).toEqual([]);
  });
});

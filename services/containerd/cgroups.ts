/**
 * A container's cgroup, read and written directly (cgroupfs driver), on cgroup v1 and v2 alike:
 * the samples `docker stats` is made of, the pids `docker top` lists, and the new limits of
 * `docker update`. The container's cgroup is its spec's linux.cgroupsPath (/<parent>/<id>) below
 * each v1 hierarchy (/sys/fs/cgroup/<controller>/…) or below the v2 root.
 *
 * Which version is in use is found at run time (cgroup.controllers at the root means v2); every
 * function takes the root, so the tests run them against a directory laid out like either.
 *
 * @example
 *   const cg = detectCgroups();
 *   const sample = readCgroupStats(cg, '/tersane/abc…');
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/errors.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** USER_HZ: the unit of cpuacct.stat (and /proc/stat) on every Linux Docker runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;
/** v1 reports "no limit" as the largest page-aligned int64. */
const V1_UNLIMITED = 0x7ffffffffffff000n;
/** runc's conversion of cpu.shares (2…262144) to cgroup v2's cpu.weight (1…10000). */
const SHARES_MIN = 2;
const SHARES_MAX = 262_144;
const WEIGHT_MAX = 10_000;

export interface Cgroups {
  root: string;
  v2: boolean;
}

export function detectCgroups(root = CGROUP_ROOT): Cgroups {
  return { root, v2: existsSync(join(root, 'cgroup.controllers')) };
}

/** The directory of one controller's view of the cgroup (the same for every controller on v2). */
export function cgroupDir(cg: Cgroups, controller: string, cgroupsPath: string): string {
  const rel = cgroupsPath.replace(/^\/+/, '');
  return cg.v2 ? join(cg.root, rel) : join(cg.root, controller, rel);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(path: string): bigint | undefined {
  const text = read(path)?.trim();
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return BigInt(text);
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
export function parseKeyValues(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

const num = (v: bigint | undefined): number => (v === undefined ? 0 : Number(v));

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CgroupStats {
  cpu: {
    total_usage: number;
    percpu_usage: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
    throttling_periods: number;
    throttled_periods: number;
    throttled_time: number;
  };
  memory: { usage: number; max_usage: number; failcnt: number; limit: number; stats: Record<string, number> };
  pids_current: number;
  pids_limit: number;
  io_service_bytes: BlkioEntry[];
  io_serviced: BlkioEntry[];
}

/** v1 blkio lines: "8:0 Read 4096" (and a "Total N" line, skipped). */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", as Docker's read/write entries. */
export function parseIoStatV2(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(parts[0] ?? '');
    if (!dev) continue;
    const kv = new Map(parts.slice(1).map((p) => p.split('=') as [string, string]));
    const major = Number(dev[1]);
    const minor = Number(dev[2]);
    for (const [key, op, list] of [['rbytes', 'read', bytes], ['wbytes', 'write', bytes], ['rios', 'read', ios], ['wios', 'write', ios]] as const) {
      const v = kv.get(key);
      if (v !== undefined && /^\d+$/.test(v)) list.push({ major, minor, op, value: Number(v) });
    }
  }
  return { bytes, ios };
}

/** The first of the v1 blkio files that has entries (CFQ, then BFQ, then the throttle policy's). */
function blkioV1(dir: string, name: string): BlkioEntry[] {
  for (const prefix of ['blkio.', 'blkio.bfq.', 'blkio.throttle.']) {
    const entries = parseBlkioV1(read(join(dir, `${prefix}${name}`)));
    if (entries.length > 0) return entries;
  }
  return [];
}

/**
 * One sample of the cgroup. `hostMemory` stands for the limit when there is none (as Docker shows
 * it). Files that do not exist (a controller not mounted) read as zeros.
 */
export function readCgroupStats(cg: Cgroups, cgroupsPath: string, hostMemory: number): CgroupStats {
  const dir = (c: string) => cgroupDir(cg, c, cgroupsPath);
  if (cg.v2) {
    const d = dir('');
    const cpu = parseKeyValues(read(join(d, 'cpu.stat')));
    const memStat = parseKeyValues(read(join(d, 'memory.stat')));
    const max = read(join(d, 'memory.max'))?.trim();
    const limit = max && /^\d+$/.test(max) ? Math.min(Number(max), hostMemory) : hostMemory;
    const pidsMax = read(join(d, 'pids.max'))?.trim();
    const io = parseIoStatV2(read(join(d, 'io.stat')));
    return {
      cpu: {
        total_usage: num(cpu.get('usage_usec')) * 1000,
        percpu_usage: [],
        usage_in_kernelmode: num(cpu.get('system_usec')) * 1000,
        usage_in_usermode: num(cpu.get('user_usec')) * 1000,
        throttling_periods: num(cpu.get('nr_periods')),
        throttled_periods: num(cpu.get('nr_throttled')),
        throttled_time: num(cpu.get('throttled_usec')) * 1000,
      },
      memory: {
        usage: num(readNumber(join(d, 'memory.current'))),
        max_usage: num(readNumber(join(d, 'memory.peak'))),
        failcnt: 0,
        limit,
        stats: Object.fromEntries([...memStat].map(([k, v]) => [k, Number(v)])),
      },
      pids_current: num(readNumber(join(d, 'pids.current'))),
      pids_limit: pidsMax && /^\d+$/.test(pidsMax) ? Number(pidsMax) : 0,
      io_service_bytes: io.bytes,
      io_serviced: io.ios,
    };
  }
  const cpuacct = dir('cpuacct');
  const ticks = parseKeyValues(read(join(cpuacct, 'cpuacct.stat')));
  const throttling = parseKeyValues(read(join(dir('cpu'), 'cpu.stat')));
  const mem = dir('memory');
  const rawLimit = readNumber(join(mem, 'memory.limit_in_bytes'));
  const limit = rawLimit === undefined || rawLimit >= V1_UNLIMITED ? hostMemory : Math.min(Number(rawLimit), hostMemory);
  const pidsMax = read(join(dir('pids'), 'pids.max'))?.trim();
  return {
    cpu: {
      total_usage: num(readNumber(join(cpuacct, 'cpuacct.usage'))),
      percpu_usage: (read(join(cpuacct, 'cpuacct.usage_percpu')) ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
      usage_in_kernelmode: num(ticks.get('system')) * NS_PER_TICK,
      usage_in_usermode: num(ticks.get('user')) * NS_PER_TICK,
      throttling_periods: num(throttling.get('nr_periods')),
      throttled_periods: num(throttling.get('nr_throttled')),
      throttled_time: num(throttling.get('throttled_time')),
    },
    memory: {
      usage: num(readNumber(join(mem, 'memory.usage_in_bytes'))),
      max_usage: num(readNumber(join(mem, 'memory.max_usage_in_bytes'))),
      failcnt: num(readNumber(join(mem, 'memory.failcnt'))),
      limit,
      stats: Object.fromEntries([...parseKeyValues(read(join(mem, 'memory.stat')))].map(([k, v]) => [k, Number(v)])),
    },
    pids_current: num(readNumber(join(dir('pids'), 'pids.current'))),
    pids_limit: pidsMax && /^\d+$/.test(pidsMax) ? Number(pidsMax) : 0,
    io_service_bytes: blkioV1(dir('blkio'), 'io_service_bytes_recursive'),
    io_serviced: blkioV1(dir('blkio'), 'io_serviced_recursive'),
  };
}

/** Every process in the cgroup (its cgroup.procs; the pids hierarchy on v1). */
export function cgroupPids(cg: Cgroups, cgroupsPath: string): number[] {
  for (const controller of cg.v2 ? [''] : ['pids', 'memory', 'cpu', 'freezer']) {
    const text = read(join(cgroupDir(cg, controller, cgroupsPath), 'cgroup.procs'));
    if (text !== undefined) return text.split('\n').filter(Boolean).map(Number);
  }
  return [];
}

/** The host's CPU time so far (ns; user…softirq of /proc/stat's "cpu" line) and its CPUs online. */
export function systemCpuUsage(procStat: string): { usage: number; onlineCpus: number } {
  let usage = 0;
  let onlineCpus = 0;
  for (const line of procStat.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'cpu') {
      const ticks = parts.slice(1, 8).reduce((sum, v) => sum + Number(v), 0);
      usage = ticks * NS_PER_TICK;
    } else if (/^cpu\d+$/.test(parts[0] ?? '')) onlineCpus++;
  }
  return { usage, onlineCpus };
}

export interface NetworkCounters {
  name: string;
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** /proc/<pid>/net/dev of the container's network namespace, loopback left out (as Docker). */
export function parseNetDev(text: string): NetworkCounters[] {
  const out: NetworkCounters[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.push({
      name: m[1],
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    });
  }
  return out;
}

// ---- limits (docker update) ---------------------------------------------------------------------

export interface CgroupResources {
  memory?: number;
  memory_reservation?: number;
  memory_swap?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpuset_cpus?: string;
  cpuset_mems?: string;
  pids_limit?: number;
  blkio_weight?: number;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EINVAL' ? 'invalid argument' : e.code === 'EBUSY' ? 'device or resource busy' : e.message;
    throw invalidArgument(`failed to write ${JSON.stringify(value)} to ${path}: ${why}`);
  }
}

/** cpu.shares → cpu.weight, as runc converts them. */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  const s = Math.min(Math.max(shares, SHARES_MIN), SHARES_MAX);
  return 1 + Math.floor(((s - SHARES_MIN) * (WEIGHT_MAX - 1)) / (SHARES_MAX - SHARES_MIN));
}

/**
 * Writes the limits that are set (non-zero; pids_limit ≤ 0 and memory_swap -1 mean unlimited) to
 * the cgroup of a running container. Memory and swap are written in the order the kernel accepts
 * (the memory limit may never exceed memory+swap on v1).
 */
export function applyCgroupResources(cg: Cgroups, cgroupsPath: string, r: CgroupResources): void {
  const dir = (c: string) => cgroupDir(cg, c, cgroupsPath);
  if (cg.v2) {
    const d = dir('');
    if (r.cpu_shares) write(join(d, 'cpu.weight'), String(sharesToWeight(r.cpu_shares)));
    if (r.cpu_quota || r.cpu_period) {
      const [curQuota, curPeriod] = (read(join(d, 'cpu.max')) ?? 'max 100000').trim().split(/\s+/);
      const quota = r.cpu_quota ? (r.cpu_quota < 0 ? 'max' : String(r.cpu_quota)) : curQuota;
      write(join(d, 'cpu.max'), `${quota} ${r.cpu_period || curPeriod}`);
    }
    if (r.cpuset_cpus) write(join(d, 'cpuset.cpus'), r.cpuset_cpus);
    if (r.cpuset_mems) write(join(d, 'cpuset.mems'), r.cpuset_mems);
    if (r.memory_reservation) write(join(d, 'memory.low'), String(r.memory_reservation));
    if (r.memory) write(join(d, 'memory.max'), r.memory < 0 ? 'max' : String(r.memory));
    if (r.memory_swap) {
      // v2 limits swap alone: Docker's MemorySwap is memory plus swap.
      const memory = r.memory || Number(readNumber(join(d, 'memory.max')) ?? 0);
      write(join(d, 'memory.swap.max'), r.memory_swap < 0 || memory <= 0 ? 'max' : String(Math.max(r.memory_swap - memory, 0)));
    }
    if (r.pids_limit !== undefined && r.pids_limit !== 0) write(join(d, 'pids.max'), r.pids_limit < 0 ? 'max' : String(r.pids_limit));
    if (r.blkio_weight && existsSync(join(d, 'io.weight'))) write(join(d, 'io.weight'), `default ${r.blkio_weight}`);
    return;
  }
  const cpu = dir('cpu');
  if (r.cpu_shares) write(join(cpu, 'cpu.shares'), String(r.cpu_shares));
  if (r.cpu_period) write(join(cpu, 'cpu.cfs_period_us'), String(r.cpu_period));
  if (r.cpu_quota) write(join(cpu, 'cpu.cfs_quota_us'), String(r.cpu_quota));
  const cpuset = dir('cpuset');
  if (r.cpuset_cpus) write(join(cpuset, 'cpuset.cpus'), r.cpuset_cpus);
  if (r.cpuset_mems) write(join(cpuset, 'cpuset.mems'), r.cpuset_mems);
  const mem = dir('memory');
  if (r.memory_reservation) write(join(mem, 'memory.soft_limit_in_bytes'), String(r.memory_reservation));
  const hasSwap = existsSync(join(mem, 'memory.memsw.limit_in_bytes'));
  const memory = r.memory ?? 0;
  let swap = r.memory_swap ?? 0;
  if (memory === -1 && swap === 0) swap = -1;
  const setMemory = () => memory && write(join(mem, 'memory.limit_in_bytes'), String(memory));
  const setSwap = () => swap && hasSwap && write(join(mem, 'memory.memsw.limit_in_bytes'), String(swap));
  const current = Number(readNumber(join(mem, 'memory.limit_in_bytes')) ?? 0);
  if (memory && swap && (swap === -1 || current < swap)) {
    setSwap();
    setMemory();
  } else {
    setMemory();
    setSwap();
  }
  if (r.pids_limit !== undefined && r.pids_limit !== 0) write(join(dir('pids'), 'pids.max'), r.pids_limit < 0 ? 'max' : String(r.pids_limit));
  if (r.blkio_weight && existsSync(join(dir('blkio'), 'blkio.weight'))) write(join(dir('blkio'), 'blkio.weight'), String(r.blkio_weight));
}

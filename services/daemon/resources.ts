/**
 * Docker's resource checks and adjustments that depend on the host (verifyPlatformContainerResources
 * and adaptContainerSettings): the CPUs there are, whether the kernel limits swap and can turn the
 * OOM killer off, which CPUs a cpuset may name. Applied on create and on update; they return
 * Docker's warnings and change the HostConfig as Docker does.
 *
 * @example
 *   const warnings = adaptResources(hostConfig, readResourceHost(), { create: true });
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { invalidArgument } from '../../common/errors.js';
import type { HostConfig } from './createConfig.js';

/** Docker's bounds for cpu.shares on Linux (linuxMinCPUShares, linuxMaxCPUShares). */
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262_144;
const NANO = 1e9;

export interface ResourceHost {
  /** CPUs this process may run on (Docker's sysinfo.NumCPU). */
  cpus: number;
  /** The CPUs a cpuset may name ("0-1"). */
  cpusetCpus: string;
  swapLimit: boolean;
  oomKillDisable: boolean;
}

export function readResourceHost(root = '/sys/fs/cgroup'): ResourceHost {
  const v2 = existsSync(`${root}/cgroup.controllers`);
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return {
    cpus: availableParallelism(),
    cpusetCpus: read(v2 ? `${root}/cpuset.cpus.effective` : `${root}/cpuset/cpuset.cpus`) || `0-${availableParallelism() - 1}`,
    // v2 always has memory.swap.max where it has memory; v1 only with swap accounting.
    swapLimit: v2 || existsSync(`${root}/memory/memory.memsw.limit_in_bytes`),
    // cgroup v2 has no switch for the OOM killer.
    oomKillDisable: !v2 && existsSync(`${root}/memory/memory.oom_control`),
  };
}

let cached: ResourceHost | undefined;

/** The host's facts, read once per process (they do not change under a running engine). */
export function resourceHost(): ResourceHost {
  cached ??= readResourceHost();
  return cached;
}

/** "0-3,5" → {0,1,2,3,5}; undefined when malformed. */
export function parseCpuList(list: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    for (let c = from; c <= to; c++) out.add(c);
  }
  return out;
}

type Adaptable = Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpusetCpus'> & {
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
};

/** Docker's host-dependent checks; returns its warnings. `create` adds create-only defaults. */
export function adaptResources(h: Adaptable, host: ResourceHost, opts: { create: boolean }): string[] {
  const warnings: string[] = [];
  if (h.NanoCpus < 0 || h.NanoCpus > host.cpus * NANO) {
    throw invalidArgument(`Range of CPUs is from 0.01 to ${host.cpus}.00, as there are only ${host.cpus} CPUs available`);
  }
  if (h.CpuShares > 0 && h.CpuShares < MIN_CPU_SHARES) {
    warnings.push(`Changing requested CPUShares of ${h.CpuShares} to minimum allowed of ${MIN_CPU_SHARES}`);
    h.CpuShares = MIN_CPU_SHARES;
  } else if (h.CpuShares > MAX_CPU_SHARES) {
    warnings.push(`Changing requested CPUShares of ${h.CpuShares} to maximum allowed of ${MAX_CPU_SHARES}`);
    h.CpuShares = MAX_CPU_SHARES;
  }
  if (h.CpusetCpus) {
    const wanted = parseCpuList(h.CpusetCpus);
    if (!wanted) throw invalidArgument(`Invalid value ${h.CpusetCpus} for cpuset cpus`);
    const available = parseCpuList(host.cpusetCpus) ?? new Set<number>();
    if ([...wanted].some((c) => !available.has(c))) {
      throw invalidArgument(`Requested CPUs are not available - requested ${h.CpusetCpus}, available: ${host.cpusetCpus}`);
    }
  }
  if (h.Memory > 0 && h.MemorySwap > 0 && !host.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    h.MemorySwap = -1;
  }
  // By default a container may use as much swap as memory (MemorySwap twice Memory).
  if (opts.create && h.Memory > 0 && h.MemorySwap === 0 && host.swapLimit) h.MemorySwap = h.Memory * 2;
  if (h.OomKillDisable === true) {
    if (!host.oomKillDisable) {
      warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
      h.OomKillDisable = false;
    } else if (h.Memory === 0) {
      warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
    }
  }
  return warnings;
}

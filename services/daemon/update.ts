/**
 * `docker update`: new resource limits (and restart policy) for a container, as Docker's
 * ContainerUpdate: the UpdateConfig is checked like a create's resources, merged into the
 * container's HostConfig with Docker's rules, stored, given to containerd for the next start
 * (Containers.Update) and, while the task runs, written to its cgroup (Tasks.Update). A failure
 * below leaves the container's HostConfig as it was.
 *
 * @example
 *   const warnings = await updateContainer(deps, lifecycle, 'ctr1', body);
 */
import { conflict, EngineError, invalidArgument } from '../../common/errors.js';
import type { Resources } from '../../common/proto-types/tersane/containerd/v1/Resources.js';
import { resourcesOf, validateResources, type HostConfig, type RestartPolicy } from './createConfig.js';
import { recordContainerEvent } from './dockerEvents.js';
import { isRunning, parsedHostConfig, type Lifecycle, type LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';
import { adaptResources, resourceHost } from './resources.js';

const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'];

/** The fields of Docker's UpdateConfig the engine acts on. */
export interface UpdateConfig {
  CpuShares: number;
  Memory: number;
  NanoCpus: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
  MemoryReservation: number;
  MemorySwap: number;
  BlkioWeight: number;
  PidsLimit: number | null;
  RestartPolicy: RestartPolicy;
}

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw invalidArgument(`json: cannot unmarshal ${typeof v} into Go struct field UpdateConfig.${field} of type int64`);
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  throw invalidArgument(`json: cannot unmarshal ${typeof v} into Go struct field UpdateConfig.${field} of type string`);
}

export function parseUpdateConfig(raw: Buffer | string): UpdateConfig {
  let b: Record<string, any>;
  try {
    b = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw invalidArgument('invalid JSON: the update config must be an object');
  const rp = b.RestartPolicy ?? {};
  return {
    CpuShares: num(b.CpuShares, 'CpuShares'),
    Memory: num(b.Memory, 'Memory'),
    NanoCpus: num(b.NanoCpus, 'NanoCpus'),
    CpuPeriod: num(b.CpuPeriod, 'CpuPeriod'),
    CpuQuota: num(b.CpuQuota, 'CpuQuota'),
    CpusetCpus: str(b.CpusetCpus, 'CpusetCpus'),
    CpusetMems: str(b.CpusetMems, 'CpusetMems'),
    MemoryReservation: num(b.MemoryReservation, 'MemoryReservation'),
    MemorySwap: num(b.MemorySwap, 'MemorySwap'),
    BlkioWeight: num(b.BlkioWeight, 'BlkioWeight'),
    PidsLimit: b.PidsLimit === undefined || b.PidsLimit === null ? null : num(b.PidsLimit, 'PidsLimit'),
    RestartPolicy: { Name: str(rp.Name, 'RestartPolicy.Name'), MaximumRetryCount: num(rp.MaximumRetryCount, 'RestartPolicy.MaximumRetryCount') },
  };
}

/**
 * Docker's merge of an update into the container's HostConfig (container.UpdateContainer): only
 * what is set changes; NanoCpus and a CFS period or quota never mix; a memory limit above the
 * memory+swap limit needs a new memory+swap limit too.
 */
export function mergeUpdate(current: HostConfig, u: UpdateConfig): HostConfig {
  const h: HostConfig = { ...current, RestartPolicy: { ...current.RestartPolicy } };
  if (u.NanoCpus > 0 && h.CpuPeriod > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (u.NanoCpus > 0 && h.CpuQuota > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (u.CpuPeriod > 0 && h.NanoCpus > 0) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (u.CpuQuota > 0 && h.NanoCpus > 0) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  if (u.BlkioWeight !== 0) h.BlkioWeight = u.BlkioWeight;
  if (u.CpuShares !== 0) h.CpuShares = u.CpuShares;
  if (u.NanoCpus !== 0) h.NanoCpus = u.NanoCpus;
  if (u.CpuPeriod !== 0) h.CpuPeriod = u.CpuPeriod;
  if (u.CpuQuota !== 0) h.CpuQuota = u.CpuQuota;
  if (u.CpusetCpus !== '') h.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems !== '') h.CpusetMems = u.CpusetMems;
  if (u.Memory !== 0) {
    if (u.Memory > h.MemorySwap && u.MemorySwap === 0) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    h.Memory = u.Memory;
  }
  if (u.MemorySwap !== 0) h.MemorySwap = u.MemorySwap;
  if (u.MemoryReservation !== 0) h.MemoryReservation = u.MemoryReservation;
  if (u.PidsLimit !== null) h.PidsLimit = u.PidsLimit;
  if (u.RestartPolicy.Name !== '') {
    if (u.RestartPolicy.Name !== 'no' && h.AutoRemove) throw conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
    h.RestartPolicy = { ...u.RestartPolicy };
  }
  return h;
}

/** What changed, for the running task's cgroup: the update's own fields, in containerd's terms. */
function liveResources(h: HostConfig, u: UpdateConfig): Resources {
  const all = resourcesOf(h);
  const nano = u.NanoCpus !== 0;
  return {
    memory: u.Memory !== 0 ? all.memory : 0,
    memory_reservation: u.MemoryReservation !== 0 ? all.memory_reservation : 0,
    memory_swap: u.MemorySwap !== 0 ? all.memory_swap : 0,
    cpu_shares: u.CpuShares !== 0 ? all.cpu_shares : 0,
    cpu_quota: nano || u.CpuQuota !== 0 ? all.cpu_quota : 0,
    cpu_period: nano || u.CpuPeriod !== 0 ? all.cpu_period : 0,
    cpuset_cpus: u.CpusetCpus,
    cpuset_mems: u.CpusetMems,
    // A pids limit of 0 or below is "unlimited" (-1 to the cgroup).
    pids_limit: u.PidsLimit === null ? 0 : u.PidsLimit > 0 ? u.PidsLimit : -1,
    blkio_weight: u.BlkioWeight,
  };
}

export async function updateContainer(deps: LifecycleDeps, lifecycle: Lifecycle, ref: string, body: Buffer | string): Promise<string[]> {
  const u = parseUpdateConfig(body);
  validateResources({ ...u, MemorySwappiness: null, OomScoreAdj: 0, ShmSize: 0, Ulimits: null });
  const warnings = adaptResources({ ...u, OomKillDisable: null }, resourceHost(), { create: false });
  if (u.RestartPolicy.Name !== '' && !RESTART_POLICIES.includes(u.RestartPolicy.Name)) {
    throw invalidArgument(`invalid restart policy: unknown policy '${u.RestartPolicy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  const first = findContainer(deps.store, ref);
  const cannot = (err: unknown): never => {
    const e = err instanceof EngineError ? err : new EngineError('internal', String((err as Error)?.message ?? err));
    throw new EngineError(e.kind, `Cannot update container ${first.id}: ${e.message}`);
  };
  await lifecycle.locks.run(first.id, async () => {
    const row = deps.store.get(first.id);
    if (!row) throw new EngineError('not_found', `No such container: ${ref}`);
    if (row.status === 'removing' || row.status === 'dead') cannot(conflict('container is marked for removal and cannot be "update"'));
    const before = parsedHostConfig(row);
    let after: HostConfig;
    try {
      after = mergeUpdate(before, u);
    } catch (err) {
      return cannot(err);
    }
    const { containerd, store, bus } = deps;
    try {
      await containerd.containers.call('Update', { id: row.id, resources: resourcesOf(after) });
      if (isRunning(row) && row.status !== 'restarting') {
        await containerd.tasks.call('Update', { container_id: row.id, resources: liveResources(after, u) });
      }
    } catch (err) {
      // The limits below may be half applied: put the stored ones back as they were.
      await containerd.containers.call('Update', { id: row.id, resources: resourcesOf(before) }).catch(() => undefined);
      return cannot(err);
    }
    store.tx(() => {
      store.update(row.id, { host_config: JSON.stringify(after) });
      recordContainerEvent(bus, 'update', row);
    });
  });
  return warnings;
}

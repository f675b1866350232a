/**
 * `docker stats`: Docker's stats documents (GET /containers/{id}/stats) made of containerd's
 * samples of the container's cgroup (Tasks.Stats). Streaming, one document a second, each with the
 * previous sample as its `precpu_stats` and `preread`; not streaming, one document of two samples a
 * second apart (so the CLI can compute CPU %), or of one with `one_shot`.
 *
 * @example
 *   for await (const doc of statsDocuments(deps, row, { stream: true }, signal)) write(doc);
 */
import { EngineError } from '../../common/errors.js';
import type { TaskStats__Output } from '../../common/proto-types/tersane/containerd/v1/TaskStats.js';
import type { BlkioEntry__Output } from '../../common/proto-types/tersane/containerd/v1/BlkioEntry.js';
import { formatRfc3339Nano, ZERO_TIME } from '../../common/time.js';
import { isRunning, type LifecycleDeps } from './lifecycle.js';
import type { ContainerRow } from './store.js';

/** Docker's collector samples every second. */
export const STATS_INTERVAL_MS = 1000;

type Doc = Record<string, unknown>;

function blkio(entries: BlkioEntry__Output[]): Array<Record<string, unknown>> | null {
  if (entries.length === 0) return null;
  return entries.map((e) => ({ major: Number(e.major), minor: Number(e.minor), op: e.op, value: Number(e.value) }));
}

function cpuDocument(s: TaskStats__Output | undefined): Doc {
  if (!s) {
    return {
      cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    };
  }
  const c = s.cpu!;
  const usage: Doc = { total_usage: Number(c.total_usage) };
  if (c.percpu_usage.length > 0) usage.percpu_usage = c.percpu_usage.map(Number);
  usage.usage_in_kernelmode = Number(c.usage_in_kernelmode);
  usage.usage_in_usermode = Number(c.usage_in_usermode);
  return {
    cpu_usage: usage,
    system_cpu_usage: Number(s.system_cpu_usage),
    online_cpus: s.online_cpus,
    throttling_data: { periods: Number(c.throttling_periods), throttled_periods: Number(c.throttled_periods), throttled_time: Number(c.throttled_time) },
  };
}

/** Docker's StatsResponse for one sample (and the one before it, for the rates). */
export function statsDocument(row: Pick<ContainerRow, 'id' | 'name'>, s: TaskStats__Output, prev?: TaskStats__Output): Doc {
  const m = s.memory!;
  const memory: Doc = { usage: Number(m.usage) };
  // Fields Docker leaves out when the cgroup version has no such counter (omitempty).
  if (Number(m.max_usage) > 0) memory.max_usage = Number(m.max_usage);
  memory.stats = Object.fromEntries(Object.entries(m.stats ?? {}).map(([k, v]) => [k, Number(v)]));
  if (Number(m.failcnt) > 0 || !s.cgroup_v2) memory.failcnt = Number(m.failcnt);
  memory.limit = Number(m.limit);
  const pids: Doc = { current: Number(s.pids_current) };
  if (Number(s.pids_limit) > 0) pids.limit = Number(s.pids_limit);
  const doc: Doc = {
    name: row.name,
    id: row.id,
    read: formatRfc3339Nano(BigInt(Math.round(Number(s.read_ns)))),
    preread: prev ? formatRfc3339Nano(BigInt(Math.round(Number(prev.read_ns)))) : ZERO_TIME,
    pids_stats: pids,
    blkio_stats: {
      io_service_bytes_recursive: blkio(s.io_service_bytes),
      io_serviced_recursive: blkio(s.io_serviced),
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuDocument(s),
    precpu_stats: cpuDocument(prev),
    memory_stats: memory,
  };
  if (s.networks.length > 0) {
    doc.networks = Object.fromEntries(
      s.networks.map((n) => [
        n.name,
        {
          rx_bytes: Number(n.rx_bytes), rx_packets: Number(n.rx_packets), rx_errors: Number(n.rx_errors), rx_dropped: Number(n.rx_dropped),
          tx_bytes: Number(n.tx_bytes), tx_packets: Number(n.tx_packets), tx_errors: Number(n.tx_errors), tx_dropped: Number(n.tx_dropped),
        },
      ]),
    );
  }
  return doc;
}

/** What Docker answers for a container that does not run: its name and id, everything else zero. */
export function emptyStatsDocument(row: Pick<ContainerRow, 'id' | 'name'>): Doc {
  return {
    name: row.name,
    id: row.id,
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuDocument(undefined),
    precpu_stats: cpuDocument(undefined),
    memory_stats: {},
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The documents of one stats request, until the client goes (signal), the container is removed, or
 * (not streaming) the one document is out. A sample that fails because the task just stopped is
 * skipped, as Docker's collector skips containers that do not run.
 */
export async function* statsDocuments(
  deps: Pick<LifecycleDeps, 'store' | 'containerd'>,
  first: ContainerRow,
  opts: { stream: boolean; oneShot: boolean },
  signal: AbortSignal,
): AsyncGenerator<Doc> {
  const sample = async (): Promise<TaskStats__Output | undefined> => {
    try {
      return await deps.containerd.tasks.call('Stats', { container_id: first.id });
    } catch (err) {
      if (err instanceof EngineError && (err.kind === 'failed_precondition' || err.kind === 'not_found')) return undefined;
      throw err;
    }
  };
  if (!opts.stream) {
    const row = deps.store.get(first.id) ?? first;
    if (!isRunning(row) || row.status === 'restarting') return void (yield emptyStatsDocument(row));
    const a = await sample();
    if (!a) return void (yield emptyStatsDocument(row));
    if (opts.oneShot) return void (yield statsDocument(row, a));
    await sleep(STATS_INTERVAL_MS, signal);
    const b = await sample();
    yield b ? statsDocument(row, b, a) : emptyStatsDocument(row);
    return;
  }
  let prev: TaskStats__Output | undefined;
  while (!signal.aborted) {
    const row = deps.store.get(first.id);
    if (!row) return;
    const s = isRunning(row) && row.status !== 'restarting' ? await sample() : undefined;
    if (s) {
      yield statsDocument(row, s, prev);
      prev = s;
    } else prev = undefined;
    await sleep(STATS_INTERVAL_MS, signal);
  }
}

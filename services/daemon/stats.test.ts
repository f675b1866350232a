import { describe, expect, it } from 'vitest';
import type { TaskStats__Output } from '../../common/proto-types/tersane/containerd/v1/TaskStats.js';
import { emptyStatsDocument, statsDocument } from './stats.js';

const ROW = { id: 'a'.repeat(64), name: '/c1' };
const sample = (over: Partial<TaskStats__Output> = {}): TaskStats__Output =>
  ({
    read_ns: Date.UTC(2026, 0, 1) * 1e6,
    cgroup_v2: false,
    cpu: { total_usage: 200, percpu_usage: [150, 50], usage_in_kernelmode: 20, usage_in_usermode: 180, throttling_periods: 3, throttled_periods: 1, throttled_time: 9 },
    system_cpu_usage: 10_000,
    online_cpus: 2,
    memory: { usage: 1000, max_usage: 2000, failcnt: 0, limit: 4000, stats: { total_inactive_file: 100 } },
    pids_current: 2,
    pids_limit: 20,
    io_service_bytes: [{ major: 8, minor: 0, op: 'Read', value: 512 }],
    io_serviced: [],
    networks: [],
    ...over,
  }) as TaskStats__Output;

describe('statsDocument (Docker’s StatsResponse)', () => {
  it('has the fields the CLI computes CPU %, memory, pids and block I/O from', () => {
    const prev = sample({ read_ns: Date.UTC(2026, 0, 1) * 1e6 - 1e9, system_cpu_usage: 8000 });
    const doc = statsDocument(ROW, sample(), prev) as any;
    expect(doc).toMatchObject({
      name: '/c1',
      id: ROW.id,
      read: '2026-01-01T00:00:00.000000000Z',
      preread: '2025-12-31T23:59:59.000000000Z',
      pids_stats: { current: 2, limit: 20 },
      cpu_stats: {
        cpu_usage: { total_usage: 200, percpu_usage: [150, 50], usage_in_kernelmode: 20, usage_in_usermode: 180 },
        system_cpu_usage: 10_000,
        online_cpus: 2,
        throttling_data: { periods: 3, throttled_periods: 1, throttled_time: 9 },
      },
      precpu_stats: { system_cpu_usage: 8000 },
      memory_stats: { usage: 1000, max_usage: 2000, failcnt: 0, limit: 4000, stats: { total_inactive_file: 100 } },
      blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 512 }], io_serviced_recursive: null },
    });
    expect(doc).not.toHaveProperty('networks');
  });
  it('starts from zeros without a previous sample, and names the networks it has', () => {
    const doc = statsDocument(ROW, sample({ networks: [{ name: 'eth0', rx_bytes: 1, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 2, tx_packets: 1, tx_errors: 0, tx_dropped: 0 }] })) as any;
    expect(doc.preread).toBe('0001-01-01T00:00:00Z');
    expect(doc.precpu_stats).toEqual({ cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
    expect(doc.networks.eth0).toMatchObject({ rx_bytes: 1, tx_bytes: 2 });
  });
  it('leaves out what cgroup v2 does not count (per-CPU usage, failcnt, max usage)', () => {
    const doc = statsDocument(ROW, sample({ cgroup_v2: true, cpu: { ...sample().cpu!, percpu_usage: [] }, memory: { usage: 1, max_usage: 0, failcnt: 0, limit: 2, stats: { inactive_file: 0 } } })) as any;
    expect(doc.cpu_stats.cpu_usage).not.toHaveProperty('percpu_usage');
    expect(doc.memory_stats).toEqual({ usage: 1, stats: { inactive_file: 0 }, limit: 2 });
  });
  it('is all zeros for a container that does not run', () => {
    expect(emptyStatsDocument(ROW)).toMatchObject({ name: '/c1', read: '0001-01-01T00:00:00Z', memory_stats: {}, pids_stats: {} });
  });
});

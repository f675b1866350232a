import { describe, expect, it } from 'vitest';
import type { HostConfig } from './createConfig.js';
import { resourcesOf } from './createConfig.js';
import { mergeUpdate, parseUpdateConfig } from './update.js';

const base = {
  Memory: 32 << 20, MemorySwap: 64 << 20, MemoryReservation: 0, NanoCpus: 0, CpuPeriod: 0, CpuQuota: 0, CpuShares: 0,
  CpusetCpus: '', CpusetMems: '', BlkioWeight: 0, PidsLimit: null, AutoRemove: false, OomKillDisable: null,
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
} as unknown as HostConfig;

const update = (body: object) => parseUpdateConfig(JSON.stringify(body));

describe('mergeUpdate (Docker’s UpdateContainer)', () => {
  it('changes only what the update sets', () => {
    const h = mergeUpdate(base, update({ NanoCpus: 1e9, PidsLimit: 30 }));
    expect(h).toMatchObject({ Memory: 32 << 20, MemorySwap: 64 << 20, NanoCpus: 1e9, PidsLimit: 30 });
  });
  it('refuses a memory limit above memory+swap unless memory+swap changes too', () => {
    expect(() => mergeUpdate(base, update({ Memory: 100 << 20 }))).toThrow(
      'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
    );
    expect(mergeUpdate(base, update({ Memory: 100 << 20, MemorySwap: 200 << 20 }))).toMatchObject({ Memory: 100 << 20, MemorySwap: 200 << 20 });
  });
  it('never mixes NanoCpus with a CFS period or quota', () => {
    expect(() => mergeUpdate({ ...base, CpuQuota: 50_000 }, update({ NanoCpus: 1e9 }))).toThrow('Nano CPUs cannot be updated as CPU Quota has already been set');
    expect(() => mergeUpdate({ ...base, NanoCpus: 1e9 }, update({ CpuPeriod: 50_000 }))).toThrow('CPU Period cannot be updated as NanoCPUs has already been set');
  });
  it('takes a restart policy, but not for an auto-remove container', () => {
    expect(mergeUpdate(base, update({ RestartPolicy: { Name: 'always' } })).RestartPolicy).toEqual({ Name: 'always', MaximumRetryCount: 0 });
    expect(() => mergeUpdate({ ...base, AutoRemove: true }, update({ RestartPolicy: { Name: 'always' } }))).toThrow(
      'Restart policy cannot be updated because AutoRemove is enabled for the container',
    );
  });
});

describe('parseUpdateConfig and resourcesOf', () => {
  it('reads Docker’s UpdateConfig and refuses what is not JSON of the right types', () => {
    expect(update({ Memory: 1, CpusetCpus: '0-1' })).toMatchObject({ Memory: 1, CpusetCpus: '0-1', PidsLimit: null, RestartPolicy: { Name: '' } });
    expect(() => parseUpdateConfig('{')).toThrow(/^invalid JSON/);
    expect(() => update({ Memory: 'lots' })).toThrow('json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64');
  });
  it('turns NanoCpus into a CFS quota over a 100 ms period', () => {
    expect(resourcesOf({ ...base, NanoCpus: 5e8 })).toMatchObject({ cpu_quota: 50_000, cpu_period: 100_000, memory: 32 << 20 });
  });
});

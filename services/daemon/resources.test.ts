import { describe, expect, it } from 'vitest';
import { adaptResources, parseCpuList, type ResourceHost } from './resources.js';

const HOST: ResourceHost = { cpus: 2, cpusetCpus: '0-1', swapLimit: true, oomKillDisable: true };
const h = (over: object = {}) => ({ Memory: 0, MemorySwap: 0, NanoCpus: 0, CpuShares: 0, CpusetCpus: '', OomKillDisable: null, ...over });

describe('adaptResources (Docker’s host checks)', () => {
  it('bounds NanoCpus by the CPUs there are', () => {
    expect(() => adaptResources(h({ NanoCpus: 3e9 }), HOST, { create: true })).toThrow('Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
    expect(() => adaptResources(h({ NanoCpus: -1e9 }), HOST, { create: true })).toThrow('Range of CPUs is from 0.01 to 2.00');
    expect(adaptResources(h({ NanoCpus: 2e9 }), HOST, { create: true })).toEqual([]);
  });
  it('gives a memory limit as much swap again by default, on create only', () => {
    const c = h({ Memory: 32 << 20 });
    adaptResources(c, HOST, { create: true });
    expect(c.MemorySwap).toBe(64 << 20);
    const u = h({ Memory: 32 << 20 });
    adaptResources(u, HOST, { create: false });
    expect(u.MemorySwap).toBe(0);
  });
  it('drops swap and OOM-killer settings the kernel cannot do, with Docker’s warnings', () => {
    const c = h({ Memory: 32 << 20, MemorySwap: 64 << 20, OomKillDisable: true });
    const warnings = adaptResources(c, { ...HOST, swapLimit: false, oomKillDisable: false }, { create: true });
    expect(warnings).toEqual([
      'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
      'Your kernel does not support OomKillDisable. OomKillDisable discarded.',
    ]);
    expect(c).toMatchObject({ MemorySwap: -1, OomKillDisable: false });
  });
  it('clamps cpu shares and checks a cpuset against the CPUs there are', () => {
    const c = h({ CpuShares: 1 });
    expect(adaptResources(c, HOST, { create: true })).toEqual(['Changing requested CPUShares of 1 to minimum allowed of 2']);
    expect(c.CpuShares).toBe(2);
    expect(() => adaptResources(h({ CpusetCpus: '0-3' }), HOST, { create: true })).toThrow('Requested CPUs are not available - requested 0-3, available: 0-1');
    expect(() => adaptResources(h({ CpusetCpus: 'x' }), HOST, { create: true })).toThrow('Invalid value x for cpuset cpus');
  });
  it('reads CPU lists', () => {
    expect([...parseCpuList('0-2,5')!]).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('2-1')).toBeUndefined();
  });
});

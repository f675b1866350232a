import { describe, expect, it } from 'vitest';
import { formatCidr } from './ipv4.js';
import { hostRoutes } from './registry.js';
import { validateIpam } from './service.js';

describe('Docker’s IPAM validation', () => {
  it('accepts a subnet, a range inside it and a gateway inside it', () => {
    const r = validateIpam({ Subnet: '10.50.0.0/16', IPRange: '10.50.8.0/24', Gateway: '10.50.0.254' });
    expect(formatCidr(r.subnet!)).toBe('10.50.0.0/16');
    expect(formatCidr(r.ipRange!)).toBe('10.50.8.0/24');
    expect(r.gateway).toBe('10.50.0.254');
  });

  it('lists every problem in Docker’s words', () => {
    expect(() => validateIpam({ Subnet: '10.0.0.0/33' })).toThrow('invalid network config:\ninvalid subnet 10.0.0.0/33: invalid CIDR block notation');
    expect(() => validateIpam({ Subnet: '10.10.10.0/8' })).toThrow('invalid subnet 10.10.10.0/8: it should be 10.0.0.0/8');
    expect(() => validateIpam({ Subnet: '10.0.0.0/24', Gateway: '10.1.0.1' })).toThrow("invalid gateway 10.1.0.1: parent subnet 10.0.0.0/24 doesn't contain this address");
    expect(() => validateIpam({ Subnet: '10.10.10.0/24', IPRange: '10.0.0.0/8' })).toThrow('invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.10.10.0/24');
    expect(() => validateIpam({ Subnet: '10.0.0.0/8', Gateway: '1001.1.1.1' })).toThrow('invalid gateway 1001.1.1.1: invalid address');
  });
});

describe('host routes', () => {
  it('reads /proc/net/route, leaving default routes out', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n');
    expect(hostRoutes(text).map((r) => `${r.iface} ${formatCidr(r.cidr)}`)).toEqual(['eth0 192.0.2.0/24', 'docker0 172.17.0.0/16']);
  });
});

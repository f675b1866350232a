import { describe, expect, it } from 'vitest';
import { hostsFile, resolvConf } from './containerFiles.js';

const base = { hostname: 'abcdef123456', domainname: '', hostNetwork: false, dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [] };

describe('container network files', () => {
  it('writes hosts with loopback, the hostname and --add-host entries', () => {
    const text = hostsFile({ ...base, extraHosts: ['db:10.0.0.5', 'v6=[::2]'] });
    expect(text).toContain('127.0.0.1\tlocalhost\n');
    expect(text).toContain('::1\tlocalhost ip6-localhost ip6-loopback\n');
    expect(text).toContain('\tabcdef123456\n');
    expect(text).toContain('10.0.0.5\tdb\n');
    expect(text).toContain('::2\tv6\n');
  });

  it('drops loopback nameservers from the host resolv.conf, keeping search and options', () => {
    const host = '# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch example.com\noptions edns0 trust-ad\n';
    expect(resolvConf(base, host)).toBe('nameserver 10.1.1.1\nsearch example.com\noptions edns0 trust-ad\n');
  });

  it("falls back to Docker's default nameservers, and honours --dns", () => {
    expect(resolvConf(base, 'nameserver 127.0.0.1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(resolvConf({ ...base, dns: ['1.1.1.1'], dnsSearch: ['x.org'] }, 'nameserver 127.0.0.1\n')).toBe('nameserver 1.1.1.1\nsearch x.org\n');
  });

  it('keeps the host file as it is with the host network', () => {
    const host = 'nameserver 127.0.0.53\n';
    expect(resolvConf({ ...base, hostNetwork: true }, host)).toBe(host);
  });
});

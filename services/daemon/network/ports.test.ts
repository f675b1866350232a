import { describe, expect, it } from 'vitest';
import type { DockerConfig, HostConfig } from '../createConfig.js';
import { listPorts, portRequests, portsDocument } from './ports.js';
import type { PortBindingRow } from './store.js';

const config = (exposed: string[]) => ({ ExposedPorts: Object.fromEntries(exposed.map((p) => [p, {}])) }) as unknown as DockerConfig;
const host = (h: Partial<HostConfig>) => h as HostConfig;

describe('published ports', () => {
  it('reads PortBindings: fixed, ranges, ephemeral, host addresses, protocols', () => {
    const r = portRequests(config([]), host({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }], '53/udp': [{ HostPort: '5000-5010' }] } }));
    expect(r).toEqual([
      { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostRange: [8080, 8080] },
      { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostRange: [0, 0] },
      { proto: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostRange: [5000, 5010] },
    ]);
  });

  it('-P publishes every exposed port not bound already', () => {
    const r = portRequests(config(['80/tcp', '443/tcp']), host({ PortBindings: { '80/tcp': [{ HostPort: '8080' }] }, PublishAllPorts: true }));
    expect(r.map((x) => `${x.containerPort}:${x.hostRange.join('-')}`)).toEqual(['80:8080-8080', '443:0-0']);
  });

  it('refuses nonsense with Docker’s message', () => {
    expect(() => portRequests(config([]), host({ PortBindings: { 'x/tcp': [] } }))).toThrow('invalid port specification: "x/tcp"');
    expect(() => portRequests(config([]), host({ PortBindings: { '80/tcp': [{ HostPort: '9-1' }] } }))).toThrow(/invalid port specification/);
    expect(() => portRequests(config([]), host({ PortBindings: { '80/tcp': [{ HostIp: 'nope' }] } }))).toThrow('invalid IP address: nope');
  });

  it('shows ports as inspect and the list do', () => {
    const b: PortBindingRow[] = [{ container_id: 'c', proto: 'tcp', container_port: 80, host_ip: '0.0.0.0', host_port: 8080, container_ip: '10.0.0.2' }];
    expect(portsDocument(config(['80/tcp', '443/tcp']), b)).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
    expect(listPorts(config(['80/tcp', '443/tcp']), b)).toEqual([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ]);
  });
});

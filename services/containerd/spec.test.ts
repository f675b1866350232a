import { describe, expect, it } from 'vitest';
import type { ContainerSpec__Output } from '../../common/proto-types/tersane/containerd/v1/ContainerSpec.js';
import { ALL_CAPABILITIES, capabilitySet, DEFAULT_CAPABILITIES, generateSpec, MASKED_PATHS, NETWORK_SYSCTLS, normalizeCapability, READONLY_PATHS, type HostFacts } from './spec.js';

/** This host's bounding set lacks CAP_SYS_RESOURCE; the tests pin that down rather than read it. */
const HOST: HostFacts = { boundingCaps: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'), cgroupV2: false };
const USER = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

function spec(over: Partial<ContainerSpec__Output> = {}): ContainerSpec__Output {
  return { args: ['sh'], env: ['PATH=/bin'], ...over } as ContainerSpec__Output;
}

/** Any file stands for the init binary here: the spec only binds it. */
const INIT_BINARY = process.execPath;

const gen = (over: Partial<ContainerSpec__Output> = {}, host = HOST) =>
  generateSpec({ id: 'c0ffee'.padEnd(64, '0'), spec: spec(over), user: USER, cgroupParent: 'tersane-test', host, initBinary: INIT_BINARY });

describe('generateSpec defaults (as Docker)', () => {
  const s = gen();
  it('has the default mounts with their options', () => {
    const byDest = Object.fromEntries(s.mounts.map((m: any) => [m.destination, m]));
    expect(Object.keys(byDest)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(byDest['/proc']).toMatchObject({ type: 'proc', source: 'proc' });
    expect(byDest['/dev'].options).toEqual(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    expect(byDest['/dev/pts'].options).toEqual(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    expect(byDest['/sys'].options).toEqual(['nosuid', 'noexec', 'nodev', 'ro']);
    expect(byDest['/sys/fs/cgroup']).toMatchObject({ type: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] });
    expect(byDest['/dev/mqueue'].type).toBe('mqueue');
    expect(byDest['/dev/shm'].options).toEqual(['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${64 * 1024 * 1024}`]);
  });
  it('has Docker\'s capabilities, masked and read-only paths', () => {
    expect(s.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities.effective).toEqual(DEFAULT_CAPABILITIES);
    expect(s.process.capabilities.permitted).toEqual(DEFAULT_CAPABILITIES);
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.maskedPaths).toContain('/sys/devices/virtual/powercap');
    expect(s.linux.readonlyPaths).toEqual(READONLY_PATHS);
  });
  it('has private namespaces, no cgroup namespace on v1, and the cgroups path', () => {
    expect(s.linux.namespaces.map((n: any) => n.type)).toEqual(['mount', 'network', 'uts', 'pid', 'ipc']);
    expect(gen({}, { ...HOST, cgroupV2: true }).linux.namespaces.map((n: any) => n.type)).toContain('cgroup');
    expect(s.linux.cgroupsPath).toBe(`/tersane-test/${'c0ffee'.padEnd(64, '0')}`);
    expect(gen({ cgroup_parent: '/custom' }).linux.cgroupsPath).toBe(`/custom/${'c0ffee'.padEnd(64, '0')}`);
  });
  it('has the process defaults, the device rules and the default seccomp profile', () => {
    expect(s.process).toMatchObject({ terminal: false, cwd: '/', user: { uid: 0, gid: 0 }, oomScoreAdj: 0, args: ['sh'] });
    expect(s.process.env).toEqual(['PATH=/bin', 'HOME=/root']);
    expect(s.process.noNewPrivileges).toBeUndefined();
    expect(s.linux.resources.devices[0]).toEqual({ allow: false, access: 'rwm' });
    expect(s.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(s.linux.resources.devices).toContainEqual({ allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' });
    // Docker's default profile for the default capability set (seccomp/ has its own tests).
    expect(s.linux.seccomp).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 });
    expect(s.root).toEqual({ path: 'rootfs' });
    expect(s.hostname).toBe('c0ffee000000');
  });
});

describe('generateSpec from the ContainerSpec', () => {
  it('namespaces: host is left out, a path is joined', () => {
    const s = gen({ namespaces: { network: 'host', ipc: '', pid: '/proc/1/ns/pid', uts: '', cgroup: '', user: '' } });
    expect(s.linux.namespaces).toEqual([{ type: 'mount' }, { type: 'uts' }, { type: 'pid', path: '/proc/1/ns/pid' }, { type: 'ipc' }]);
  });
  it('user mounts replace defaults at the same destination and come parents first', () => {
    const s = gen({
      mounts: [
        { destination: '/data/sub', type: 'bind', source: '/tmp/b', options: ['rbind'] },
        { destination: '/data', type: 'bind', source: '/tmp/a', options: ['rbind'] },
        { destination: '/dev/shm', type: 'bind', source: '/tmp/shm', options: ['rbind'] },
      ],
    });
    const dests = s.mounts.map((m: any) => m.destination);
    expect(dests.filter((d: string) => d === '/dev/shm')).toHaveLength(1);
    expect(dests.indexOf('/data')).toBeLessThan(dests.indexOf('/data/sub'));
    expect(s.mounts.find((m: any) => m.destination === '/dev/shm').source).toBe('/tmp/shm');
  });
  it('readonly rootfs, hostname, terminal, cwd, sysctls, rlimits, shm size, resources, no-new-privileges', () => {
    const s = gen({
      readonly_rootfs: true,
      hostname: 'web',
      domainname: 'example.com',
      terminal: true,
      cwd: '/srv',
      sysctls: { 'net.ipv4.ip_forward': '1' },
      rlimits: [{ type: 'nofile', soft: 100, hard: 200 }],
      shm_size: 1024 * 1024,
      no_new_privileges: true,
      oom_score_adj: 500,
      resources: { memory: 1 << 30, memory_reservation: 0, memory_swap: 0, oom_kill_disable: false, cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000, cpuset_cpus: '0', cpuset_mems: '', pids_limit: 64, blkio_weight: 300 },
    } as Partial<ContainerSpec__Output>);
    expect(s.root.readonly).toBe(true);
    expect(s.hostname).toBe('web');
    expect(s.domainname).toBe('example.com');
    expect(s.process.terminal).toBe(true);
    expect(s.process.cwd).toBe('/srv');
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.oomScoreAdj).toBe(500);
    expect(s.linux.sysctl).toEqual({ ...NETWORK_SYSCTLS, 'net.ipv4.ip_forward': '1' });
    expect(s.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
    expect(s.mounts.find((m: any) => m.destination === '/dev/shm').options).toContain('size=1048576');
    expect(s.linux.resources.memory).toEqual({ limit: 1 << 30 });
    expect(s.linux.resources.cpu).toEqual({ shares: 512, quota: 50000, period: 100000, cpus: '0' });
    expect(s.linux.resources.pids).toEqual({ limit: 64 });
    expect(s.linux.resources.blockIO).toEqual({ weight: 300 });
  });
  it('privileged: every capability of the host, host devices, no masks, rw /sys', () => {
    const s = gen({ privileged: true });
    expect(s.process.capabilities.bounding).toEqual(HOST.boundingCaps);
    expect(s.process.capabilities.bounding).not.toContain('CAP_SYS_RESOURCE');
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.linux.readonlyPaths).toBeUndefined();
    expect(s.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(s.linux.devices.some((d: any) => d.path === '/dev/null')).toBe(true);
    expect(s.mounts.find((m: any) => m.destination === '/sys').options).not.toContain('ro');
  });
  it('unmask_paths lifts masks only', () => {
    const s = gen({ unmask_paths: true });
    expect(s.linux.maskedPaths).toBeUndefined();
    expect(s.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
  });
  it('init puts docker-init in front and binds it', () => {
    const s = gen({ init: true, args: ['sleep', '1'] });
    expect(s.process.args).toEqual(['/sbin/docker-init', '--', 'sleep', '1']);
    expect(s.mounts.find((m: any) => m.destination === '/sbin/docker-init')).toMatchObject({ type: 'bind', source: INIT_BINARY, options: ['bind', 'ro'] });
  });

  it('gives a terminal its first size', () => {
    expect(gen({ terminal: true, console_height: 30, console_width: 100 }).process.consoleSize).toEqual({ height: 30, width: 100 });
    expect(gen({ terminal: false, console_height: 30, console_width: 100 }).process.consoleSize).toBeUndefined();
  });
  it('refuses no command, unknown capabilities, unknown devices and ulimits', () => {
    expect(() => gen({ args: [] })).toThrow('no command specified');
    expect(() => gen({ cap_add: ['FOO'] })).toThrow('unknown capability: "CAP_FOO"');
    expect(() => gen({ devices: [{ path_on_host: '/dev/nope', path_in_container: '', permissions: '' }] })).toThrow(
      'error gathering device information while adding custom device "/dev/nope": no such file or directory',
    );
    expect(() => gen({ rlimits: [{ type: 'bogus', soft: 1, hard: 1 }] })).toThrow('invalid ulimit type: bogus');
  });
  it('adds a device with its cgroup rule', () => {
    const s = gen({ devices: [{ path_on_host: '/dev/null', path_in_container: '/dev/mynull', permissions: 'rw' }] });
    expect(s.linux.devices).toEqual([expect.objectContaining({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 })]);
    expect(s.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
  });
});

describe('capabilities (Docker\'s TweakCapabilities)', () => {
  const caps = (cap_add: string[], cap_drop: string[]) => capabilitySet({ privileged: false, cap_add, cap_drop }, HOST);
  it('normalizes names', () => {
    expect(normalizeCapability('net_admin')).toBe('CAP_NET_ADMIN');
    expect(normalizeCapability('CAP_SYS_ADMIN')).toBe('CAP_SYS_ADMIN');
    expect(normalizeCapability('all')).toBe('ALL');
  });
  it('adds and drops', () => {
    const c = caps(['NET_ADMIN'], ['CHOWN', 'cap_kill']);
    expect(c).toContain('CAP_NET_ADMIN');
    expect(c).not.toContain('CAP_CHOWN');
    expect(c).not.toContain('CAP_KILL');
    expect(c).toHaveLength(13);
  });
  it('ALL on either side', () => {
    expect(caps(['ALL'], ['MKNOD'])).toEqual(HOST.boundingCaps.filter((x) => x !== 'CAP_MKNOD'));
    expect(caps(['CHOWN'], ['ALL'])).toEqual(['CAP_CHOWN']);
    expect(caps([], ['ALL'])).toEqual([]);
  });
});

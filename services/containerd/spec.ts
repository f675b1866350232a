/**
 * The OCI runtime spec (config.json) of a container, generated the way Docker generates it (moby's
 * oci defaults and daemon/oci_linux.go): the image config and the daemon's ContainerSpec on top of
 * secure defaults — default mounts, capability set, masked and read-only paths, namespaces,
 * device cgroup rules, cgroups path, resources.
 *
 * Seccomp: Docker's default profile for the container's capability set, a custom profile, or
 * none (privileged, seccomp=unconfined): seccomp/index.ts.
 *
 * @example
 *   const spec = generateSpec({ id, spec: containerSpec, user: resolved, cgroupParent: cfg.cgroupParent, host });
 */
import { readdirSync, readFileSync, statSync, existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/errors.js';
import type { ContainerSpec__Output as ContainerSpec } from '../../common/proto-types/tersane/containerd/v1/ContainerSpec.js';
import type { ResolvedUser } from './user.js';
import { seccompFor } from './seccomp/index.js';
import { hasUserns, ociMappings } from './userns.js';

export const OCI_VERSION = '1.0.2';

/** Every capability Linux defines, by number. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's default capability set, in Docker's order. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Sysctls Docker sets in a container's own network namespace. */
export const NETWORK_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_unprivileged_port_start': '0',
  'net.ipv4.ping_group_range': '0 2147483647',
};

/** Where the init (--init: tersane-init, runtime-native/init) appears inside, as Docker's does. */
const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** What the host contributes: capabilities it can grant, its cgroup version, its devices. */
export interface HostFacts {
  /** Capability names in the host's bounding set. */
  boundingCaps: string[];
  cgroupV2: boolean;
}

export function readHostFacts(): HostFacts {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const mask = m ? BigInt(`0x${m[1]}`) : 0n;
  const boundingCaps = ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
  return { boundingCaps, cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers') };
}

/** "chown", "CAP_CHOWN", "cap_chown" → "CAP_CHOWN"; "all" → "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(full)) throw invalidArgument(`unknown capability: "${full}"`);
  return full;
}

/** Docker's TweakCapabilities: privileged → all; adds ALL → all but drops; drops ALL → only adds;
 * otherwise the defaults minus drops, plus adds. "All" is what the host's bounding set holds. */
export function capabilitySet(spec: Pick<ContainerSpec, 'privileged' | 'cap_add' | 'cap_drop'>, host: HostFacts): string[] {
  const all = host.boundingCaps;
  if (spec.privileged) return [...all];
  const adds = [...new Set((spec.cap_add ?? []).map(normalizeCapability))];
  const drops = [...new Set((spec.cap_drop ?? []).map(normalizeCapability))];
  if (adds.includes('ALL')) return all.filter((c) => !drops.includes(c));
  if (drops.includes('ALL')) return adds;
  const caps = DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
  for (const c of adds) if (!caps.includes(c)) caps.push(c);
  return caps;
}

function defaultMounts(spec: ContainerSpec): OciMount[] {
  const shm = Number(spec.shm_size) > 0 ? Number(spec.shm_size) : DEFAULT_SHM_SIZE;
  const privileged = spec.privileged;
  const ipcHost = spec.namespaces?.ipc === 'host';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: privileged ? ['nosuid', 'noexec', 'nodev'] : ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: privileged ? ['nosuid', 'noexec', 'nodev'] : ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ipcHost
      ? { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'nosuid', 'noexec', 'nodev'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shm}`] },
  ];
}

/** Docker's default device cgroup rules (deny all, then the standard character devices). */
export function defaultDeviceRules(): Array<Record<string, unknown>> {
  const allow = (major: number, minor?: number) => ({ allow: true, type: 'c', major, ...(minor === undefined ? {} : { minor }), access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), // /dev/zero
    allow(1, 3), // /dev/null
    allow(1, 9), // /dev/urandom
    allow(1, 8), // /dev/random
    allow(5, 0), // /dev/tty
    allow(5, 1), // /dev/console
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // /dev/net/tun
    allow(136), // /dev/pts/*
    allow(5, 2), // /dev/ptmx
  ];
}

interface OciDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

function deviceOf(hostPath: string, containerPath: string): OciDevice | undefined {
  const st = statSync(hostPath);
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
  return { path: containerPath, type, major, minor, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid };
}

/** Every device node under the host's /dev (for privileged containers), as Docker's HostDevices. */
function hostDevices(): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (dir === '/dev' && (n === 'pts' || n === 'shm' || n === 'mqueue' || n === 'fd' || n === 'console')) continue;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const d = deviceOf(p, p);
        if (d) out.push(d);
      }
    }
  };
  walk('/dev');
  return out;
}

function devicesOf(spec: ContainerSpec): { devices: OciDevice[]; rules: Array<Record<string, unknown>> } {
  const devices: OciDevice[] = [];
  const rules: Array<Record<string, unknown>> = [];
  for (const d of spec.devices ?? []) {
    let dev: OciDevice | undefined;
    try {
      dev = deviceOf(d.path_on_host, d.path_in_container || d.path_on_host);
    } catch (err) {
      throw invalidArgument(`error gathering device information while adding custom device "${d.path_on_host}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (!dev) throw invalidArgument(`error gathering device information while adding custom device "${d.path_on_host}": not a device node`);
    devices.push(dev);
    rules.push({ allow: true, type: dev.type, major: dev.major, minor: dev.minor, access: d.permissions || 'rwm' });
  }
  return { devices, rules };
}

function namespacesOf(spec: ContainerSpec, host: HostFacts): Array<{ type: string; path?: string }> {
  const ns = spec.namespaces;
  const out: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  const add = (type: string, mode: string | undefined) => {
    if (mode === 'host') return;
    out.push(mode ? { type, path: mode } : { type });
  };
  add('network', ns?.network);
  add('uts', ns?.uts);
  add('pid', ns?.pid);
  add('ipc', ns?.ipc);
  // Docker makes a private cgroup namespace by default only on cgroup v2.
  if (host.cgroupV2 && ns?.cgroup !== 'host') add('cgroup', ns?.cgroup === 'private' ? '' : ns?.cgroup);
  else if (!host.cgroupV2 && ns?.cgroup && ns.cgroup !== 'host' && ns.cgroup !== 'private') add('cgroup', ns.cgroup);
  if (ns?.user && ns.user !== 'host') add('user', ns.user);
  else if (hasUserns(spec)) out.push({ type: 'user' });
  return out;
}

const RLIMIT_NAMES: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

function rlimitType(name: string): string {
  const lower = name.toLowerCase();
  if (RLIMIT_NAMES[lower]) return RLIMIT_NAMES[lower];
  const upper = name.toUpperCase();
  if (Object.values(RLIMIT_NAMES).includes(upper)) return upper;
  throw invalidArgument(`invalid ulimit type: ${name}`);
}

function resourcesOf(spec: ContainerSpec, extraRules: Array<Record<string, unknown>>): Record<string, unknown> {
  const r = spec.resources;
  const out: Record<string, unknown> = {
    devices: spec.privileged ? [{ allow: true, access: 'rwm' }] : [...defaultDeviceRules(), ...extraRules],
  };
  if (!r) return out;
  const memory: Record<string, unknown> = {};
  if (Number(r.memory) > 0) memory.limit = Number(r.memory);
  if (Number(r.memory_reservation) > 0) memory.reservation = Number(r.memory_reservation);
  if (Number(r.memory_swap) !== 0) memory.swap = Number(r.memory_swap);
  if (r.oom_kill_disable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: Record<string, unknown> = {};
  if (Number(r.cpu_shares) > 0) cpu.shares = Number(r.cpu_shares);
  if (Number(r.cpu_quota) !== 0) cpu.quota = Number(r.cpu_quota);
  if (Number(r.cpu_period) > 0) cpu.period = Number(r.cpu_period);
  if (r.cpuset_cpus) cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems) cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (Number(r.pids_limit) !== 0) out.pids = { limit: Number(r.pids_limit) };
  if (Number(r.blkio_weight) > 0) out.blockIO = { weight: Number(r.blkio_weight) };
  return out;
}

/** Docker orders mounts so that a parent is mounted before what is mounted inside it. */
function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

export interface SpecInput {
  id: string;
  spec: ContainerSpec;
  user: ResolvedUser;
  /** The engine's cgroup parent (Config.cgroupParent). */
  cgroupParent: string;
  host: HostFacts;
  /** The init binary on the host for --init (runtime-native/build/tersane-init). */
  initBinary?: string;
}

export function generateSpec(input: SpecInput): Record<string, any> {
  const { id, spec, user, host } = input;
  if (!spec.args || spec.args.length === 0) throw invalidArgument('no command specified');
  const caps = capabilitySet(spec, host);
  const env = [...(spec.env ?? [])];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/'}`);

  const userMounts: OciMount[] = (spec.mounts ?? []).map((m) => ({
    destination: m.destination,
    type: m.type || 'bind',
    source: m.source,
    options: m.options ?? [],
  }));
  let args = [...spec.args];
  if (spec.init) {
    const initBinary = input.initBinary;
    if (!initBinary || !existsSync(initBinary)) throw invalidArgument(`--init: the init binary ${initBinary ?? 'tersane-init'} is not installed`);
    userMounts.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: initBinary, options: ['bind', 'ro'] });
    args = [INIT_PATH_IN_CONTAINER, '--', ...args];
  }
  const overridden = new Set(userMounts.map((m) => m.destination.replace(/\/+$/, '') || '/'));
  const mounts = [
    ...defaultMounts(spec).filter((m) => !overridden.has(m.destination)),
    ...userMounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m),
  ];

  const { devices, rules } = devicesOf(spec);
  const unmasked = spec.privileged || spec.unmask_paths;
  const cgroupParent = (spec.cgroup_parent || input.cgroupParent).replace(/^\/+|\/+$/g, '');

  const process: Record<string, unknown> = {
    terminal: Boolean(spec.terminal),
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    args,
    env,
    cwd: spec.cwd || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    oomScoreAdj: spec.oom_score_adj ?? 0,
  };
  if (spec.terminal && spec.console_height && spec.console_width) {
    process.consoleSize = { height: spec.console_height, width: spec.console_width };
  }
  if (spec.no_new_privileges) process.noNewPrivileges = true;
  if (spec.rlimits?.length) {
    process.rlimits = spec.rlimits.map((r) => ({ type: rlimitType(r.type), hard: Number(r.hard), soft: Number(r.soft) }));
  }

  const linux: Record<string, unknown> = {
    resources: resourcesOf(spec, rules),
    cgroupsPath: `/${cgroupParent}/${id}`,
    namespaces: namespacesOf(spec, host),
  };
  // Docker's defaults for a network namespace of the container's own (moby 20.10+): ports below
  // 1024 and ICMP echo sockets for every user — which also lets the root of a user namespace bind
  // them in a network namespace the engine made. The container's own sysctls take precedence.
  const ownNetwork = spec.namespaces?.network !== 'host' && !(spec.namespaces?.network ?? '').startsWith('/proc/');
  const sysctl = { ...(ownNetwork ? NETWORK_SYSCTLS : {}), ...(spec.sysctls ?? {}) };
  if (Object.keys(sysctl).length) linux.sysctl = sysctl;
  const allDevices = spec.privileged ? hostDevices() : [];
  for (const d of devices) if (!allDevices.some((x) => x.path === d.path)) allDevices.push(d);
  if (allDevices.length) linux.devices = allDevices;
  if (!unmasked) {
    linux.maskedPaths = [...MASKED_PATHS];
    linux.readonlyPaths = [...READONLY_PATHS];
  }
  if (hasUserns(spec)) Object.assign(linux, ociMappings(spec));
  const seccomp = seccompFor(spec, caps);
  if (seccomp) linux.seccomp = seccomp;

  const out: Record<string, any> = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: 'rootfs', ...(spec.readonly_rootfs ? { readonly: true } : {}) },
    hostname: spec.hostname || id.slice(0, 12),
    mounts,
    linux,
  };
  if (spec.domainname) out.domainname = spec.domainname;
  return out;
}

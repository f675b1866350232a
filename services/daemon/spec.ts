/**
 * What the daemon decides about a container, as containerd's ContainerSpec: the final argv, env,
 * mounts (hostname/hosts/resolv.conf, binds, tmpfs), namespaces and resources from the merged
 * Config and HostConfig. containerd adds the image's rootfs and the secure defaults.
 *
 * @example
 *   const spec = containerSpec({ config, hostConfig, path, args, paths, netns: '' });
 */
import { statSync, mkdirSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { invalidArgument } from '../../common/errors.js';
import type { ContainerSpec } from '../../common/proto-types/tersane/containerd/v1/ContainerSpec.js';
import type { MountSpec } from '../../common/proto-types/tersane/containerd/v1/MountSpec.js';
import type { ContainerPaths } from './containerFiles.js';
import { cpuQuota, processEnv, type DockerConfig, type HostConfig } from './createConfig.js';

export interface SpecInput {
  config: DockerConfig;
  hostConfig: HostConfig;
  path: string;
  args: string[];
  paths: ContainerPaths;
  /** The network namespace: "" (private, loopback only), "host", or a path to join. */
  netns: string;
}

export function containerSpec(input: SpecInput): ContainerSpec {
  const { config, hostConfig: h } = input;
  const security = parseSecurityOpt(h.SecurityOpt ?? []);
  const { quota, period } = cpuQuota(h);
  const readonlyFiles = h.ReadonlyRootfs;
  const fileMount = (destination: string, source: string): MountSpec => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', readonlyFiles ? 'ro' : 'rw'],
  });
  const mounts: MountSpec[] = [
    fileMount('/etc/resolv.conf', input.paths.resolvConf),
    fileMount('/etc/hostname', input.paths.hostname),
    fileMount('/etc/hosts', input.paths.hosts),
    ...bindMounts(h),
  ];
  return {
    args: [input.path, ...input.args],
    env: processEnv(config),
    cwd: config.WorkingDir,
    user: config.User,
    additional_groups: h.GroupAdd ?? [],
    terminal: config.Tty,
    hostname: config.Hostname,
    domainname: config.Domainname,
    mounts,
    namespaces: {
      network: input.netns,
      ipc: h.IpcMode === 'host' ? 'host' : '',
      pid: h.PidMode === 'host' ? 'host' : '',
      uts: h.UTSMode === 'host' ? 'host' : '',
      cgroup: h.CgroupnsMode === 'host' ? 'host' : '',
      user: '',
    },
    readonly_rootfs: h.ReadonlyRootfs,
    privileged: h.Privileged,
    cap_add: h.CapAdd ?? [],
    cap_drop: h.CapDrop ?? [],
    no_new_privileges: security.noNewPrivileges,
    resources: {
      memory: h.Memory,
      memory_reservation: h.MemoryReservation,
      memory_swap: h.MemorySwap,
      oom_kill_disable: h.OomKillDisable === true,
      cpu_shares: h.CpuShares,
      cpu_quota: quota,
      cpu_period: period,
      cpuset_cpus: h.CpusetCpus,
      cpuset_mems: h.CpusetMems,
      // Docker: a limit of 0 or below means unlimited.
      pids_limit: h.PidsLimit && h.PidsLimit > 0 ? h.PidsLimit : 0,
      blkio_weight: h.BlkioWeight,
    },
    rlimits: (h.Ulimits ?? []).map((u) => ({ type: u.Name, soft: u.Soft, hard: u.Hard })),
    cgroup_parent: h.CgroupParent,
    sysctls: h.Sysctls ?? {},
    devices: (h.Devices ?? []).map((d) => ({
      path_on_host: d.PathOnHost,
      path_in_container: d.PathInContainer || d.PathOnHost,
      permissions: d.CgroupPermissions || 'rwm',
    })),
    seccomp_profile: security.seccomp,
    shm_size: h.ShmSize,
    init: h.Init === true,
    oom_score_adj: h.OomScoreAdj,
    unmask_paths: security.unmaskPaths,
    stop_signal: config.StopSignal ?? '',
  };
}

interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: string;
  unmaskPaths: boolean;
}

/** Docker's --security-opt values (key=value or the legacy key:value). */
export function parseSecurityOpt(opts: string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: '', unmaskPaths: false };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    const sep = opt.includes('=') ? opt.indexOf('=') : opt.indexOf(':');
    if (sep < 0) throw invalidArgument(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, sep);
    const value = opt.slice(sep + 1);
    switch (key) {
      case 'no-new-privileges':
        if (value !== 'true' && value !== 'false') throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = value === 'true';
        break;
      case 'seccomp':
        out.seccomp = value;
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
        out.unmaskPaths = true;
        break;
      case 'label':
      case 'apparmor':
        // No SELinux/AppArmor on these hosts: accepted and recorded, as Docker does when disabled.
        break;
      default:
        throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

/** -v host:container[:opts] binds, HostConfig.Mounts of type bind and tmpfs, and --tmpfs. */
function bindMounts(h: HostConfig): MountSpec[] {
  const out: MountSpec[] = [];
  const seen = new Set<string>();
  const add = (m: MountSpec) => {
    if (seen.has(m.destination!)) throw invalidArgument(`Duplicate mount point: ${m.destination}`);
    seen.add(m.destination!);
    out.push(m);
  };
  for (const bind of h.Binds ?? []) {
    const parts = bind.split(':');
    if (parts.length < 2 || parts.length > 3) throw invalidArgument(`invalid volume specification: '${bind}'`);
    const [source, destination, mode = ''] = parts;
    if (!isAbsolute(destination)) throw invalidArgument(`invalid volume specification: '${bind}': invalid mount config for type "bind": invalid mount path: '${destination}' mount path must be absolute`);
    if (!isAbsolute(source)) throw invalidArgument(`named volumes are not supported yet (volume "${source}" in '${bind}'); bind an absolute host path instead`);
    const flags = mode === '' ? [] : mode.split(',');
    let ro = false;
    let propagation = 'rprivate';
    for (const f of flags) {
      if (f === 'ro') ro = true;
      else if (f === 'rw' || f === 'z' || f === 'Z' || f === 'nocopy') continue;
      else if (PROPAGATIONS.includes(f)) propagation = f;
      else throw invalidArgument(`invalid mode: ${f}`);
    }
    // Docker creates a missing host directory for -v binds (not for --mount).
    try {
      statSync(source);
    } catch {
      mkdirSync(source, { recursive: true, mode: 0o755 });
    }
    add({ destination, type: 'bind', source, options: ['rbind', propagation, ro ? 'ro' : 'rw'] });
  }
  for (const m of h.Mounts ?? []) {
    const target = m.Target ?? '';
    if (!isAbsolute(target)) throw invalidArgument(`invalid mount config for type "${m.Type}": invalid mount path: '${target}' mount path must be absolute`);
    if (m.Type === 'bind') {
      const source = m.Source ?? '';
      if (!isAbsolute(source)) throw invalidArgument(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      try {
        statSync(source);
      } catch {
        throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
      }
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      add({ destination: target, type: 'bind', source, options: ['rbind', propagation, m.ReadOnly ? 'ro' : 'rw'] });
    } else if (m.Type === 'tmpfs') {
      const options = ['nosuid', 'nodev', 'noexec'];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      if (m.ReadOnly) options.push('ro');
      add({ destination: target, type: 'tmpfs', source: 'tmpfs', options });
    } else if (m.Type === 'volume') {
      throw invalidArgument(`named volumes are not supported yet (mount at ${target})`);
    } else {
      throw invalidArgument(`invalid mount config: mount type unknown: "${m.Type}"`);
    }
  }
  for (const [destination, opts] of Object.entries(h.Tmpfs ?? {})) {
    if (!isAbsolute(destination)) throw invalidArgument(`invalid tmpfs mount path: '${destination}' mount path must be absolute`);
    const options = ['nosuid', 'nodev', 'noexec', ...(opts ? opts.split(',') : [])];
    add({ destination, type: 'tmpfs', source: 'tmpfs', options });
  }
  return out;
}

/** Docker's inspect "Mounts" for the binds and tmpfs mounts (the network files are not listed). */
export function inspectMounts(h: HostConfig): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const bind of h.Binds ?? []) {
    const [source, destination, mode = ''] = bind.split(':');
    const flags = mode === '' ? [] : mode.split(',');
    out.push({
      Type: 'bind',
      Source: source,
      Destination: destination,
      Mode: mode,
      RW: !flags.includes('ro'),
      Propagation: flags.find((f) => PROPAGATIONS.includes(f)) ?? 'rprivate',
    });
  }
  for (const m of h.Mounts ?? []) {
    if (m.Type === 'bind') {
      out.push({ Type: 'bind', Source: m.Source, Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation || 'rprivate' });
    } else if (m.Type === 'tmpfs') {
      out.push({ Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: '' });
    }
  }
  return out;
}

/**
 * What the daemon decides about a container, as containerd's ContainerSpec: the final argv, env,
 * mounts (hostname/hosts/resolv.conf, then the binds, volumes and tmpfs volumes/mounts.ts resolved),
 * namespaces and resources from the merged Config and HostConfig. containerd adds the image's rootfs
 * and the secure defaults.
 *
 * @example
 *   const spec = containerSpec({ config, hostConfig, path, args, paths, netns: '', mounts: [] });
 */
import { invalidArgument } from '../../common/errors.js';
import type { ContainerSpec } from '../../common/proto-types/tersane/containerd/v1/ContainerSpec.js';
import type { MountSpec } from '../../common/proto-types/tersane/containerd/v1/MountSpec.js';
import type { ContainerPaths } from './containerFiles.js';
import { processEnv, resourcesOf, type DockerConfig, type HostConfig } from './createConfig.js';
import { daemonSecurity, userNamespaceOf } from './security.js';

export interface SpecInput {
  config: DockerConfig;
  hostConfig: HostConfig;
  path: string;
  args: string[];
  paths: ContainerPaths;
  /** The network namespace: "" (private, loopback only), "host", or a path to join. */
  netns: string;
  /** Binds, volumes and tmpfs mounts as volumes/mounts.ts resolved them. */
  mounts: MountSpec[];
}

export function containerSpec(input: SpecInput): ContainerSpec {
  const { config, hostConfig: h } = input;
  const security = parseSecurityOpt(h.SecurityOpt ?? []);
  const daemon = daemonSecurity();
  const userns = userNamespaceOf(h, daemon);
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
    ...input.mounts,
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
    // An explicit no-new-privileges=false overrides the daemon's default, as in Docker.
    no_new_privileges: security.noNewPrivileges ?? daemon.noNewPrivileges,
    resources: resourcesOf(h),
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
    ...consoleSize(h),
    ...(userns ? { uid_mappings: userns.uid, gid_mappings: userns.gid } : {}),
  };
}

/** HostConfig.ConsoleSize ([height, width], API 1.42+): the terminal's size before the first resize. */
function consoleSize(h: HostConfig): { console_height?: number; console_width?: number } {
  const size = h.ConsoleSize;
  if (!Array.isArray(size) || size.length !== 2) return {};
  const [height, width] = size.map(Number);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0 || height > 0xffff || width > 0xffff) return {};
  return { console_height: height, console_width: width };
}

interface SecurityOptions {
  /** Undefined when the container does not say (the daemon's default applies). */
  noNewPrivileges?: boolean;
  seccomp: string;
  unmaskPaths: boolean;
}

/** Docker's --security-opt values (key=value or the legacy key:value). */
export function parseSecurityOpt(opts: string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: '', unmaskPaths: false };
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
        // Go's strconv.ParseBool, as Docker parses the value.
        if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) out.noNewPrivileges = true;
        else if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) out.noNewPrivileges = false;
        else throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
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

/**
 * Docker's /info and /version documents (the api adds ApiVersion and MinAPIVersion).
 *
 * @example
 *   const info = await system.info();
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statSync } from 'node:fs';
import type { Config } from '../../common/config.js';
import { metaValue, type Db } from '../../common/db.js';
import { nowRfc3339Nano } from '../../common/time.js';
import type { ContainerdClients } from '../containerd/client.js';
import type { ContainerStore } from './store.js';
import { within } from './within.js';
import { securityOptions } from './security.js';

/** How long /info waits for containerd's image count (it answers without it otherwise). */
const IMAGE_COUNT_WAIT_MS = 1000;

/** cgroup2's filesystem magic (statfs f_type). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

export function cgroupVersion(): '1' | '2' {
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC ? '2' : '1';
  } catch {
    return '1';
  }
}

function operatingSystem(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    if (m) return m[1];
  } catch {
    // fall through
  }
  return 'Linux';
}

function dockerArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i386', arm: 'armv7l' };
  return map[arch()] ?? arch();
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };
  return map[arch()] ?? arch();
}

/** The package version (package.json beside dist/ and the sources). */
function engineVersion(prefix: string): string {
  try {
    return (JSON.parse(readFileSync(join(prefix, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function gitCommit(prefix: string): string {
  if (process.env.TERSANE_GIT_COMMIT) return process.env.TERSANE_GIT_COMMIT;
  try {
    return execFileSync('git', ['-C', prefix, 'rev-parse', '--short=7', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

/** When this code was built: the compiled module's modification time. */
function buildTime(): string {
  try {
    return statSync(fileURLToPath(import.meta.url)).mtime.toUTCString();
  } catch {
    return '';
  }
}

export class SystemService {
  private readonly version: string;
  private readonly commit: string;

  constructor(
    private readonly cfg: Config,
    private readonly db: Db,
    private readonly store: ContainerStore,
    private readonly containerd: ContainerdClients,
  ) {
    this.version = engineVersion(cfg.prefix);
    this.commit = gitCommit(cfg.prefix);
  }

  async info(): Promise<Record<string, unknown>> {
    const rows = this.store.list();
    const running = rows.filter((r) => r.status === 'running' || r.status === 'restarting').length;
    const paused = rows.filter((r) => r.status === 'paused').length;
    let images = 0;
    const warnings: string[] = [];
    try {
      images = (await within(IMAGE_COUNT_WAIT_MS, this.containerd.images.call('List', {}))).images.length;
    } catch (err) {
      warnings.push(`WARNING: cannot count images: ${(err as Error).message}`);
    }
    const cgroup = cgroupVersion();
    const runtimes: Record<string, { path: string }> = {};
    for (const name of ['tersane', 'runc', 'crun']) {
      const r = this.cfg.runtime(name);
      if (r) runtimes[name] = { path: r.path };
    }
    return {
      ID: metaValue(this.db, 'instance') ?? '',
      Containers: rows.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: rows.length - running - paused,
      Images: images,
      Driver: 'overlay2',
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
        ['Using metacopy', 'false'],
        ['Native Overlay Diff', 'true'],
        ['userxattr', 'false'],
      ],
      Plugins: { Volume: ['local'], Network: ['host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: cgroup === '2',
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      BridgeNfIptables: false,
      BridgeNfIp6tables: false,
      Debug: this.cfg.logLevel === 'debug',
      NFd: 0,
      OomKillDisable: cgroup === '1',
      NGoroutines: 0,
      SystemTime: this.nowLocal(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroup,
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: operatingSystem(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: dockerArch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], Mirrors: null },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: this.cfg.stateDir,
      HttpProxy: process.env.HTTP_PROXY ?? '',
      HttpsProxy: process.env.HTTPS_PROXY ?? '',
      NoProxy: process.env.NO_PROXY ?? '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: this.version,
      Runtimes: runtimes,
      DefaultRuntime: this.cfg.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: this.commit },
      RuncCommit: { ID: this.commit },
      InitCommit: { ID: '' },
      SecurityOptions: securityOptions(cgroup === '2'),
      CDISpecDirs: [],
      Containerd: { Address: this.cfg.socket('containerd'), Namespaces: { Containers: 'tersane', Plugins: 'tersane' } },
      Warnings: warnings,
    };
  }

  versionDocument(): Record<string, unknown> {
    const built = buildTime();
    return {
      Platform: { Name: 'tersane' },
      Components: [
        {
          Name: 'Engine',
          Version: this.version,
          Details: { ApiVersion: '', Arch: goArch(), BuildTime: built, Experimental: 'false', GitCommit: this.commit, GoVersion: 'n/a', KernelVersion: release(), MinAPIVersion: '', Os: 'linux' },
        },
        { Name: 'tersane-runtime', Version: this.version, Details: { GitCommit: this.commit } },
      ],
      Version: this.version,
      ApiVersion: '',
      MinAPIVersion: '',
      GitCommit: this.commit,
      GoVersion: 'n/a',
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: built,
    };
  }

  private nowLocal(): string {
    return nowRfc3339Nano();
  }
}

/**
 * Docker's ContainerCreate body: parsing, Docker's validations (with its exact messages), the
 * merge of the image's config into the container's, and the defaults Docker fills into HostConfig.
 * Pure functions: no I/O, so every rule is unit-tested (createConfig.test.ts).
 *
 * @example
 *   const req = parseCreateBody(body);
 *   const config = mergeImageConfig(req.config, imageConfig.config);
 *   const { path, args } = entrypointAndArgs(config);
 */
import { invalidArgument } from '../../common/errors.js';
import type { Resources } from '../../common/proto-types/tersane/containerd/v1/Resources.js';
import { jsonFileLimits } from './logOptions.js';
import { parseSignal } from './signals.js';

// ---- the shapes (Docker Engine API field names) --------------------------------------------------

export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** Docker's container Config (the create body's top level, and inspect's Config). */
export interface DockerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[] | null;
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface MountConfig {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** The HostConfig fields the daemon acts on; every other field is kept as the client sent it. */
export interface HostConfig {
  Binds: string[] | null;
  LogConfig: { Type: string; Config: Record<string, string> };
  NetworkMode: string;
  PortBindings: Record<string, unknown> | null;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  CgroupnsMode: string;
  Dns: string[] | null;
  DnsOptions: string[] | null;
  DnsSearch: string[] | null;
  ExtraHosts: string[] | null;
  GroupAdd: string[] | null;
  IpcMode: string;
  OomScoreAdj: number;
  PidMode: string;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  SecurityOpt: string[] | null;
  UTSMode: string;
  UsernsMode: string;
  ShmSize: number;
  Sysctls?: Record<string, string> | null;
  Runtime: string;
  Init?: boolean | null;
  CpuShares: number;
  Memory: number;
  NanoCpus: number;
  CgroupParent: string;
  BlkioWeight: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
  Devices: DeviceMapping[] | null;
  MemoryReservation: number;
  MemorySwap: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits: Ulimit[] | null;
  Mounts?: MountConfig[] | null;
  Tmpfs?: Record<string, string> | null;
  [other: string]: unknown;
}

export interface CreateBody {
  config: DockerConfig;
  hostConfig: HostConfig;
  networkingConfig: Record<string, unknown>;
}

/** What the image contributes (the `config` object of an OCI / Docker image config). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  OnBuild?: string[] | null;
  Shell?: string[] | null;
}

// ---- constants ----------------------------------------------------------------------------------

/** Docker's default /dev/shm size. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Docker's smallest memory limit (linuxMinMemory). */
const MIN_MEMORY = 6 * 1024 * 1024;
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'];
const NANO = 1e9;
/** The CFS period Docker uses to turn NanoCpus into a quota. */
const CFS_PERIOD_US = 100_000;

/** Every Linux capability Docker knows (without the CAP_ prefix). */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

// ---- parsing ------------------------------------------------------------------------------------

/** A strslice: Docker accepts a string or a list of strings (or null). */
function strSlice(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field Config.${field} of type strslice.StrSlice`);
}

function stringList(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw invalidArgument(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field ${field} of type []string`);
}

function str(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type string`);
}

function num(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type int64`);
}

function bool(value: unknown): boolean {
  return value === true;
}

function stringMap(value: unknown, field: string): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value) && Object.values(value as object).every((v) => typeof v === 'string')) {
    return { ...(value as Record<string, string>) };
  }
  throw invalidArgument(`json: cannot unmarshal into Go struct field ${field} of type map[string]string`);
}

/**
 * A list of objects, each checked by `item` (Go's decoder: a wrong type anywhere is a 400 naming
 * the field, never a crash further on); null or absent is null.
 */
function objectList<T>(value: unknown, field: string, type: string, item: (o: Record<string, unknown>, field: string) => T): T[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw invalidArgument(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${field} of type []${type}`);
  return value.map((v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type ${type}`);
    return item(v as Record<string, unknown>, field);
  });
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

function ulimit(o: Record<string, unknown>, field: string): Ulimit {
  return { Name: str(o.Name, `${field}.Name`), Soft: num(o.Soft, `${field}.Soft`), Hard: num(o.Hard, `${field}.Hard`) };
}

function deviceMapping(o: Record<string, unknown>, field: string): DeviceMapping {
  return {
    PathOnHost: str(o.PathOnHost, `${field}.PathOnHost`),
    PathInContainer: str(o.PathInContainer, `${field}.PathInContainer`),
    CgroupPermissions: str(o.CgroupPermissions, `${field}.CgroupPermissions`),
  };
}

function mountConfig(o: Record<string, unknown>, field: string): MountConfig {
  for (const k of ['BindOptions', 'TmpfsOptions', 'VolumeOptions']) {
    const v = o[k];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) {
      throw invalidArgument(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${field}.${k} of type mount.${k}`);
    }
  }
  if (o.ReadOnly !== undefined && o.ReadOnly !== null && typeof o.ReadOnly !== 'boolean') {
    throw invalidArgument(`json: cannot unmarshal ${jsonType(o.ReadOnly)} into Go struct field ${field}.ReadOnly of type bool`);
  }
  return { ...o, Type: str(o.Type, `${field}.Type`), Source: str(o.Source, `${field}.Source`), Target: str(o.Target, `${field}.Target`) } as MountConfig;
}

/** Parses and validates the create body (Docker's decoder plus verifyContainerSettings). */
export function parseCreateBody(raw: Buffer | string): CreateBody {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.trim() === '') throw invalidArgument('invalid JSON: got EOF while reading request body');
  let body: Record<string, any>;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidArgument('config cannot be empty in order to create a container');

  const config: DockerConfig = {
    Hostname: str(body.Hostname, 'Config.Hostname'),
    Domainname: str(body.Domainname, 'Config.Domainname'),
    User: str(body.User, 'Config.User'),
    AttachStdin: bool(body.AttachStdin),
    AttachStdout: bool(body.AttachStdout),
    AttachStderr: bool(body.AttachStderr),
    ExposedPorts: body.ExposedPorts ?? undefined,
    Tty: bool(body.Tty),
    OpenStdin: bool(body.OpenStdin),
    StdinOnce: bool(body.StdinOnce),
    Env: stringList(body.Env, 'Config.Env'),
    Cmd: strSlice(body.Cmd, 'Cmd'),
    Healthcheck: body.Healthcheck ?? undefined,
    ArgsEscaped: body.ArgsEscaped === true ? true : undefined,
    Image: str(body.Image, 'Config.Image'),
    Volumes: body.Volumes ?? null,
    WorkingDir: str(body.WorkingDir, 'Config.WorkingDir'),
    Entrypoint: strSlice(body.Entrypoint, 'Entrypoint'),
    NetworkDisabled: body.NetworkDisabled === true ? true : undefined,
    MacAddress: body.MacAddress ? String(body.MacAddress) : undefined,
    OnBuild: stringList(body.OnBuild, 'Config.OnBuild'),
    Labels: stringMap(body.Labels, 'Config.Labels') ?? {},
    StopSignal: body.StopSignal ? str(body.StopSignal, 'Config.StopSignal') : undefined,
    StopTimeout: body.StopTimeout === undefined || body.StopTimeout === null ? undefined : num(body.StopTimeout, 'Config.StopTimeout'),
    Shell: stringList(body.Shell, 'Config.Shell') ?? undefined,
  };
  const hostConfig = normalizeHostConfig(body.HostConfig ?? {});
  const networkingConfig = body.NetworkingConfig && typeof body.NetworkingConfig === 'object' ? body.NetworkingConfig : {};

  validateConfig(config);
  validateHostConfig(hostConfig);
  return { config, hostConfig, networkingConfig };
}

function normalizeHostConfig(h: Record<string, any>): HostConfig {
  if (typeof h !== 'object' || Array.isArray(h)) throw invalidArgument('json: cannot unmarshal into Go struct field HostConfig');
  const logConfig = h.LogConfig ?? {};
  const restart = h.RestartPolicy ?? {};
  const networkMode = str(h.NetworkMode, 'HostConfig.NetworkMode');
  return {
    ...h,
    Binds: stringList(h.Binds, 'HostConfig.Binds'),
    LogConfig: { Type: str(logConfig.Type, 'LogConfig.Type') || 'json-file', Config: stringMap(logConfig.Config, 'LogConfig.Config') ?? {} },
    NetworkMode: networkMode === '' || networkMode === 'default' ? 'bridge' : networkMode,
    PortBindings: h.PortBindings ?? {},
    RestartPolicy: { Name: str(restart.Name, 'RestartPolicy.Name') || 'no', MaximumRetryCount: num(restart.MaximumRetryCount, 'RestartPolicy.MaximumRetryCount') },
    AutoRemove: bool(h.AutoRemove),
    CapAdd: strSlice(h.CapAdd, 'CapAdd'),
    CapDrop: strSlice(h.CapDrop, 'CapDrop'),
    CgroupnsMode: str(h.CgroupnsMode, 'HostConfig.CgroupnsMode') || 'private',
    Dns: stringList(h.Dns, 'HostConfig.Dns') ?? [],
    DnsOptions: stringList(h.DnsOptions, 'HostConfig.DnsOptions') ?? [],
    DnsSearch: stringList(h.DnsSearch, 'HostConfig.DnsSearch') ?? [],
    ExtraHosts: stringList(h.ExtraHosts, 'HostConfig.ExtraHosts'),
    GroupAdd: stringList(h.GroupAdd, 'HostConfig.GroupAdd'),
    IpcMode: str(h.IpcMode, 'HostConfig.IpcMode') || 'private',
    OomScoreAdj: num(h.OomScoreAdj, 'HostConfig.OomScoreAdj'),
    PidMode: str(h.PidMode, 'HostConfig.PidMode'),
    Privileged: bool(h.Privileged),
    ReadonlyRootfs: bool(h.ReadonlyRootfs),
    SecurityOpt: stringList(h.SecurityOpt, 'HostConfig.SecurityOpt'),
    UTSMode: str(h.UTSMode, 'HostConfig.UTSMode'),
    UsernsMode: str(h.UsernsMode, 'HostConfig.UsernsMode'),
    ShmSize: num(h.ShmSize, 'HostConfig.ShmSize') || DEFAULT_SHM_SIZE,
    Sysctls: stringMap(h.Sysctls, 'HostConfig.Sysctls'),
    Runtime: str(h.Runtime, 'HostConfig.Runtime'),
    Init: h.Init === true ? true : h.Init === false ? false : null,
    CpuShares: num(h.CpuShares, 'HostConfig.CpuShares'),
    Memory: num(h.Memory, 'HostConfig.Memory'),
    NanoCpus: num(h.NanoCpus, 'HostConfig.NanoCpus'),
    CgroupParent: str(h.CgroupParent, 'HostConfig.CgroupParent'),
    BlkioWeight: num(h.BlkioWeight, 'HostConfig.BlkioWeight'),
    CpuPeriod: num(h.CpuPeriod, 'HostConfig.CpuPeriod'),
    CpuQuota: num(h.CpuQuota, 'HostConfig.CpuQuota'),
    CpusetCpus: str(h.CpusetCpus, 'HostConfig.CpusetCpus'),
    CpusetMems: str(h.CpusetMems, 'HostConfig.CpusetMems'),
    Devices: objectList(h.Devices, 'HostConfig.Devices', 'container.DeviceMapping', deviceMapping) ?? [],
    MemoryReservation: num(h.MemoryReservation, 'HostConfig.MemoryReservation'),
    MemorySwap: num(h.MemorySwap, 'HostConfig.MemorySwap'),
    MemorySwappiness: h.MemorySwappiness ?? null,
    OomKillDisable: h.OomKillDisable ?? null,
    PidsLimit: h.PidsLimit ?? null,
    Ulimits: objectList(h.Ulimits, 'HostConfig.Ulimits', 'units.Ulimit', ulimit) ?? [],
    Mounts: objectList(h.Mounts, 'HostConfig.Mounts', 'mount.Mount', mountConfig) ?? undefined,
    Tmpfs: stringMap(h.Tmpfs, 'HostConfig.Tmpfs'),
  };
}

// ---- validation (Docker's verifyContainerSettings and its platform checks) -----------------------

function validateConfig(c: DockerConfig): void {
  if (c.WorkingDir !== '' && !c.WorkingDir.startsWith('/')) {
    throw invalidArgument(`the working directory '${c.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  for (const env of c.Env ?? []) {
    const key = env.split('=', 1)[0];
    if (key === '') throw invalidArgument(`invalid environment variable: ${env}`);
  }
  const hc = c.Healthcheck;
  if (hc) {
    const MIN_MS = 1_000_000; // 1 ms in ns
    for (const [field, label] of [['Interval', 'Interval'], ['Timeout', 'Timeout'], ['StartPeriod', 'StartPeriod'], ['StartInterval', 'StartInterval']] as const) {
      const v = hc[field] ?? 0;
      if (v !== 0 && v < MIN_MS) throw invalidArgument(`${label} in Healthcheck cannot be less than 1ms`);
    }
    if ((hc.Retries ?? 0) < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
  }
  if (c.StopSignal) parseSignal(c.StopSignal);
}

function validateHostConfig(h: HostConfig): void {
  const policy = h.RestartPolicy;
  if (!RESTART_POLICIES.includes(policy.Name)) {
    throw invalidArgument(`invalid restart policy: unknown policy '${policy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (policy.Name !== 'on-failure' && policy.MaximumRetryCount !== 0) {
    throw invalidArgument(
      `invalid restart policy: maximum retry count can only be used with 'on-failure'${policy.MaximumRetryCount < 0 ? ' and cannot be negative' : ''}`,
    );
  }
  if (policy.Name === 'on-failure' && policy.MaximumRetryCount < 0) {
    throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
  }
  if (h.AutoRemove && policy.Name !== 'no') {
    throw invalidArgument(`can't create 'AutoRemove' container with restart policy`);
  }
  for (const cap of [...(h.CapAdd ?? []), ...(h.CapDrop ?? [])]) {
    const name = cap.toUpperCase().replace(/^CAP_/, '');
    if (name !== 'ALL' && !CAPABILITIES.includes(name)) throw invalidArgument(`unknown capability: "${cap.toUpperCase().startsWith('CAP_') ? cap.toUpperCase() : `CAP_${cap.toUpperCase()}`}"`);
  }
  for (const host of h.ExtraHosts ?? []) {
    const sep = host.includes('=') ? host.indexOf('=') : host.indexOf(':');
    if (sep <= 0 || host.slice(sep + 1) === '') throw invalidArgument(`invalid argument "${host}" for "--add-host" flag: bad format for add-host: "${host}"`);
  }
  validateResources(h);
  validateLogConfig(h.LogConfig);
}

/** The resource fields Docker checks on create and on update (verifyPlatformContainerResources). */
export type ResourceFields = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemorySwappiness' | 'MemoryReservation' | 'NanoCpus' | 'CpuPeriod' | 'CpuQuota' | 'BlkioWeight' | 'OomScoreAdj' | 'ShmSize' | 'Ulimits'
>;

/** Docker's checks of the resource fields that need no knowledge of the host (see resources.ts). */
export function validateResources(h: ResourceFields): void {
  if (h.Memory !== 0 && h.Memory < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (h.MemorySwap > 0 && h.Memory === 0) throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (h.Memory > 0 && h.MemorySwap > 0 && h.MemorySwap < h.Memory) throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  const swappiness = h.MemorySwappiness;
  if (swappiness !== null && swappiness !== undefined && swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw invalidArgument(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  if (h.MemoryReservation > 0 && h.MemoryReservation < MIN_MEMORY) throw invalidArgument('Minimum memory reservation allowed is 6MB');
  if (h.Memory > 0 && h.MemoryReservation > 0 && h.Memory < h.MemoryReservation) {
    throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (h.NanoCpus > 0 && h.CpuPeriod > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (h.NanoCpus > 0 && h.CpuQuota > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (h.CpuPeriod !== 0 && (h.CpuPeriod < 1000 || h.CpuPeriod > 1_000_000)) {
    throw invalidArgument('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (h.CpuQuota > 0 && h.CpuQuota < 1000) throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (h.BlkioWeight > 0 && (h.BlkioWeight < 10 || h.BlkioWeight > 1000)) throw invalidArgument('Range of blkio weight is from 10 to 1000');
  if (h.OomScoreAdj < -1000 || h.OomScoreAdj > 1000) throw invalidArgument(`Invalid value ${h.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  if (h.ShmSize < 0) throw invalidArgument('SHM size can not be less than 0');
  for (const u of h.Ulimits ?? []) {
    if (u.Soft > u.Hard) throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
}

/** json-file options Docker accepts, and `none`. */
function validateLogConfig(log: HostConfig['LogConfig']): void {
  // Docker validates no option of the none driver.
  if (log.Type === 'none') return;
  if (log.Type !== 'json-file') {
    throw invalidArgument(`logger: no log driver named '${log.Type}' is registered`);
  }
  const known = ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];
  for (const key of Object.keys(log.Config)) {
    if (!known.includes(key)) throw invalidArgument(`unknown log opt '${key}' for json-file log driver`);
  }
  // Values are Docker's to refuse when the log is opened, at the start (lifecycle.ts, logOptions.ts).
}

/** The json-file rotation limits: max-size in bytes (0 = unlimited) and max-file (≥ 1); Docker's errors. */
export function logLimits(log: HostConfig['LogConfig']): { maxSize: number; maxFiles: number } {
  return log.Type === 'json-file' ? jsonFileLimits(log.Config) : { maxSize: 0, maxFiles: 1 };
}

/** go-units RAMInBytes: "10m", "1.5g", "512k", "100" (binary multiples, case-insensitive, optional "b"/"ib"). */
export function parseRamSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw invalidArgument(`invalid size: '${text}'`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()]);
}

// ---- merging the image's config (Docker's daemon merge) ----------------------------------------

/** Merges the image's run config into the user's, exactly as Docker's merge() does. */
export function mergeImageConfig(user: DockerConfig, image: ImageRunConfig | null | undefined): DockerConfig {
  const c: DockerConfig = { ...user, Labels: { ...user.Labels } };
  if (!image) return finishMerge(c);
  if (c.User === '') c.User = image.User ?? '';
  if (!c.ExposedPorts || Object.keys(c.ExposedPorts).length === 0) {
    c.ExposedPorts = image.ExposedPorts ?? c.ExposedPorts;
  } else if (image.ExposedPorts) {
    c.ExposedPorts = { ...image.ExposedPorts, ...c.ExposedPorts };
  }
  if (!c.Env || c.Env.length === 0) {
    c.Env = image.Env ? [...image.Env] : c.Env;
  } else {
    const keys = new Set(c.Env.map((e) => e.split('=', 1)[0]));
    for (const e of image.Env ?? []) if (!keys.has(e.split('=', 1)[0])) c.Env.push(e);
  }
  for (const [k, v] of Object.entries(image.Labels ?? {})) if (!(k in c.Labels)) c.Labels[k] = v;
  if (!c.Entrypoint || c.Entrypoint.length === 0) {
    if (!c.Cmd || c.Cmd.length === 0) {
      c.Cmd = image.Cmd ?? null;
      if (image.ArgsEscaped) c.ArgsEscaped = true;
    }
    // null means "not given": inherit. An explicit [] keeps the image's entrypoint away.
    if (c.Entrypoint === null) c.Entrypoint = image.Entrypoint ?? null;
  }
  if (image.Healthcheck) {
    if (!c.Healthcheck) c.Healthcheck = image.Healthcheck;
    else {
      const h = { ...c.Healthcheck };
      if (!h.Test || h.Test.length === 0) h.Test = image.Healthcheck.Test;
      if (!h.Interval) h.Interval = image.Healthcheck.Interval;
      if (!h.Timeout) h.Timeout = image.Healthcheck.Timeout;
      if (!h.StartPeriod) h.StartPeriod = image.Healthcheck.StartPeriod;
      if (!h.StartInterval) h.StartInterval = image.Healthcheck.StartInterval;
      if (!h.Retries) h.Retries = image.Healthcheck.Retries;
      c.Healthcheck = h;
    }
  }
  if (c.WorkingDir === '') c.WorkingDir = image.WorkingDir ?? '';
  if (!c.Volumes || Object.keys(c.Volumes).length === 0) c.Volumes = image.Volumes ?? c.Volumes;
  else c.Volumes = { ...c.Volumes, ...(image.Volumes ?? {}) };
  if (!c.StopSignal) c.StopSignal = image.StopSignal || undefined;
  if (!c.OnBuild && image.OnBuild) c.OnBuild = image.OnBuild;
  if (!c.Shell && image.Shell) c.Shell = image.Shell;
  return finishMerge(c);
}

function finishMerge(c: DockerConfig): DockerConfig {
  // `--entrypoint ""` arrives as [""]: after the merge it means "no entrypoint".
  if (c.Entrypoint && c.Entrypoint.length === 1 && c.Entrypoint[0] === '') c.Entrypoint = null;
  if ((!c.Entrypoint || c.Entrypoint.length === 0) && (!c.Cmd || c.Cmd.length === 0)) {
    throw invalidArgument('No command specified');
  }
  return c;
}

/** Docker's Path and Args: the entrypoint's first word, then the rest of it and the cmd. */
export function entrypointAndArgs(c: DockerConfig): { path: string; args: string[] } {
  if (c.Entrypoint && c.Entrypoint.length > 0) return { path: c.Entrypoint[0], args: [...c.Entrypoint.slice(1), ...(c.Cmd ?? [])] };
  const cmd = c.Cmd ?? [];
  return { path: cmd[0], args: cmd.slice(1) };
}

/**
 * The process environment: PATH and HOSTNAME first (TERM=xterm with a tty), then the config's own,
 * replacing those keys where it sets them (Docker's CreateDaemonEnvironment).
 */
export function processEnv(c: DockerConfig): string[] {
  const env = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${c.Hostname}`];
  if (c.Tty) env.push('TERM=xterm');
  for (const e of c.Env ?? []) {
    const key = e.split('=', 1)[0];
    const at = env.findIndex((x) => x.split('=', 1)[0] === key);
    if (!e.includes('=')) {
      // "KEY" alone removes KEY (Docker's ReplaceOrAppendEnvValues).
      if (at >= 0) env.splice(at, 1);
      continue;
    }
    if (at >= 0) env[at] = e;
    else env.push(e);
  }
  return env;
}

/** NanoCpus → CFS quota and period, as Docker converts them. */
export function cpuQuota(h: HostConfig): { quota: number; period: number } {
  if (h.NanoCpus > 0) return { period: CFS_PERIOD_US, quota: Math.floor((h.NanoCpus * CFS_PERIOD_US) / NANO) };
  return { quota: h.CpuQuota, period: h.CpuPeriod };
}

/** containerd's Resources of a HostConfig: at create (spec.ts) and at `docker update` (update.ts). */
export function resourcesOf(h: HostConfig): Resources {
  const { quota, period } = cpuQuota(h);
  return {
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
  };
}

/** Docker's `docker ps` Command: path and args joined, arguments with spaces single-quoted. */
export function commandLine(path: string, args: string[]): string {
  return [path, ...args].map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a)).join(' ');
}

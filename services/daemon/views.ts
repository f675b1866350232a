/**
 * Docker's JSON views of containers: GET /containers/{id}/json (inspect) and GET /containers/json
 * (list), with the list's filters. Built from the daemon's rows alone, so they answer while the
 * layers below are down (the image names the list shows are checked against containerd when it
 * is reachable).
 *
 * @example
 *   inspectDocument(row, paths);            // Docker's ContainerJSON
 *   listDocuments(rows, request, images);   // Docker's []Container
 */
import { invalidArgument, notFound } from '../../common/errors.js';
import { parseRfc3339Nano, ZERO_TIME } from '../../common/time.js';
import { containerPaths } from './containerFiles.js';
import { commandLine, type DockerConfig, type HostConfig } from './createConfig.js';
import { boolFilterValue, parseFilters } from './filters.js';
import { inspectMounts } from './spec.js';
import { statusString } from './status.js';
import type { ContainerRow, ContainerStore } from './store.js';
import { tryFindContainer } from './lookup.js';

const RUNNING = new Set(['running', 'paused', 'restarting']);
const VALID_STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const LIST_FILTERS = ['ancestor', 'before', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume', 'expose'];

function timeMs(rfc: string): number | undefined {
  if (rfc === ZERO_TIME) return undefined;
  try {
    return Number(parseRfc3339Nano(rfc) / 1_000_000n);
  } catch {
    return undefined;
  }
}

export function stateDocument(row: ContainerRow): Record<string, unknown> {
  return {
    Status: row.status === 'creating' ? 'created' : row.status,
    Running: RUNNING.has(row.status),
    Paused: row.status === 'paused',
    Restarting: row.status === 'restarting',
    OOMKilled: row.oom_killed === 1,
    Dead: row.status === 'dead',
    Pid: RUNNING.has(row.status) ? row.pid : 0,
    ExitCode: row.exit_code,
    Error: row.error,
    StartedAt: row.started_at,
    FinishedAt: row.finished_at,
  };
}

function networkEntry(): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** The network the container is on, as Docker names it ("bridge", "host", "none"). */
function networkName(h: HostConfig): string {
  return h.NetworkMode.startsWith('container:') ? '' : h.NetworkMode;
}

function networkSettings(h: HostConfig, full: boolean): Record<string, unknown> {
  const name = networkName(h);
  const networks = name ? { [name]: networkEntry() } : {};
  if (!full) return { Networks: networks };
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: '',
    Ports: {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: networks,
  };
}

/** Docker's ContainerJSON for GET /containers/{id}/json. */
export function inspectDocument(row: ContainerRow, stateDir: string): Record<string, unknown> {
  const paths = containerPaths(stateDir, row.id);
  const config = JSON.parse(row.config) as DockerConfig;
  const hostConfig = JSON.parse(row.host_config) as HostConfig;
  const logging = hostConfig.LogConfig.Type !== 'none';
  return {
    Id: row.id,
    Created: row.created,
    Path: row.path,
    Args: JSON.parse(row.args),
    State: stateDocument(row),
    Image: row.image_id,
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: logging ? paths.log : '',
    Name: row.name,
    RestartCount: row.restart_count,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: hostConfig,
    GraphDriver: { Data: null, Name: 'overlay2' },
    Mounts: inspectMounts(hostConfig),
    Config: inspectConfig(config),
    NetworkSettings: networkSettings(hostConfig, true),
  };
}

/** Config as inspect shows it: Docker's field order, empty optional fields left out as Go's omitempty does. */
function inspectConfig(c: DockerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Hostname: c.Hostname,
    Domainname: c.Domainname,
    User: c.User,
    AttachStdin: c.AttachStdin,
    AttachStdout: c.AttachStdout,
    AttachStderr: c.AttachStderr,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  Object.assign(out, { Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce, Env: c.Env, Cmd: c.Cmd });
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  Object.assign(out, { Image: c.Image, Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint });
  if (c.NetworkDisabled) out.NetworkDisabled = true;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  Object.assign(out, { OnBuild: c.OnBuild, Labels: c.Labels ?? {} });
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.StopTimeout !== undefined) out.StopTimeout = c.StopTimeout;
  if (c.Shell && c.Shell.length > 0) out.Shell = c.Shell;
  return out;
}

export interface ListRequest {
  all: boolean;
  limit: number;
  filters: string;
}

/** What the list needs to know about images: name → id, and a resolver for `ancestor`. */
export interface ImageIndex {
  /** The id the reference (as the user gave it) resolves to now, or undefined. */
  idOf(ref: string): string | undefined;
}

/** Docker's []Container for GET /containers/json. */
export function listDocuments(store: ContainerStore, rows: ContainerRow[], req: ListRequest, images: ImageIndex | undefined, nowMs = Date.now()): Array<Record<string, unknown>> {
  const filters = parseFilters(req.filters, LIST_FILTERS);
  let all = req.all || req.limit > 0;
  for (const s of filters.get('status')) {
    if (!VALID_STATES.includes(s)) throw invalidArgument(`invalid filter 'status=${s}'`);
    all = true;
  }
  const exited = filters.get('exited').map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalidArgument(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  if (exited.length > 0) all = true;
  for (const v of filters.get('is-task')) boolFilterValue('is-task', v);
  const before = filters.get('before').map((ref) => refCreated(store, ref));
  const since = filters.get('since').map((ref) => refCreated(store, ref));
  const ancestors = filters.get('ancestor').map((a) => images?.idOf(a) ?? a);

  const out: Array<Record<string, unknown>> = [];
  for (const row of rows) {
    if (!all && !RUNNING.has(row.status)) continue;
    const config = JSON.parse(row.config) as DockerConfig;
    const hostConfig = JSON.parse(row.host_config) as HostConfig;
    const bare = row.name.slice(1);
    if (!filters.matchAny('id', (v) => row.id.startsWith(v))) continue;
    if (!filters.matchAny('name', (v) => safeRegex(v).test(row.name) || safeRegex(v).test(bare))) continue;
    if (!filters.matchAny('status', (v) => v === row.status)) continue;
    if (exited.length > 0 && !(row.status === 'exited' && exited.includes(row.exit_code))) continue;
    if (!filters.matchLabels('label', config.Labels)) continue;
    if (before.length > 0 && !before.every((ns) => row.created_ns < ns)) continue;
    if (since.length > 0 && !since.every((ns) => row.created_ns > ns)) continue;
    if (ancestors.length > 0 && !ancestors.some((a) => a === row.image_id || a === row.image || row.image_id.replace(/^sha256:/, '').startsWith(a.replace(/^sha256:/, '')))) continue;
    if (!filters.matchAny('network', (v) => v === networkName(hostConfig))) continue;
    if (!filters.matchAny('health', (v) => v === 'none')) continue;
    if (filters.has('volume') && !filters.get('volume').some((v) => inspectMounts(hostConfig).some((m) => m.Source === v || m.Destination === v))) continue;
    if (filters.has('expose') && !filters.get('expose').some((v) => Object.keys(config.ExposedPorts ?? {}).includes(v.includes('/') ? v : `${v}/tcp`))) continue;
    if (filters.has('publish')) continue; // nothing is published yet
    out.push(listEntry(row, config, hostConfig, images, nowMs));
    if (req.limit > 0 && out.length >= req.limit) break;
  }
  return out;
}

function listEntry(row: ContainerRow, config: DockerConfig, hostConfig: HostConfig, images: ImageIndex | undefined, nowMs: number): Record<string, unknown> {
  // Docker shows the image as the user gave it while that name still means the container's image.
  const resolved = images?.idOf(row.image);
  const image = images === undefined || resolved === row.image_id ? row.image : row.image_id;
  return {
    Id: row.id,
    Names: [row.name],
    Image: image,
    ImageID: row.image_id,
    Command: commandLine(row.path, JSON.parse(row.args)),
    Created: Math.floor(row.created_ns / 1e9),
    Ports: [],
    Labels: config.Labels ?? {},
    State: row.status,
    Status: statusString(
      { status: row.status, exitCode: row.exit_code, startedAtMs: timeMs(row.started_at), finishedAtMs: timeMs(row.finished_at) },
      nowMs,
    ),
    HostConfig: { NetworkMode: hostConfig.NetworkMode },
    NetworkSettings: networkSettings(hostConfig, false),
    Mounts: inspectMounts(hostConfig),
  };
}

function refCreated(store: ContainerStore, ref: string): number {
  const row = tryFindContainer(store, ref);
  if (!row) throw notFound(`No such container: ${ref}`);
  return row.created_ns;
}

function safeRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw invalidArgument(`invalid filter 'name=${pattern}'`);
  }
}

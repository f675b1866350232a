/**
 * Docker's JSON views of containers: GET /containers/{id}/json (inspect) and GET /containers/json
 * (list), with the list's filters. Built from the daemon's rows alone, so they answer while the
 * layers below are down (the image names the list shows are checked against containerd when it
 * is reachable).
 *
 * @example
 *   inspectDocument(row, stateDir, execIds, extras);          // Docker's ContainerJSON
 *   listDocuments(store, rows, request, images, extras);      // Docker's []Container
 */
import { invalidArgument, notFound } from '../../common/errors.js';
import { parseRfc3339Nano, ZERO_TIME } from '../../common/time.js';
import { containerPaths } from './containerFiles.js';
import { commandLine, type DockerConfig, type HostConfig } from './createConfig.js';
import { boolFilterValue, parseFilters } from './filters.js';
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
    ...(row.health ? { Health: JSON.parse(row.health) } : {}),
  };
}

/**
 * What the views need from the networks and volumes (network/sandbox.ts, volumes/containerMounts.ts):
 * Docker's NetworkSettings, Mounts and Ports of a container, and the networks it is on.
 */
export interface ContainerExtras {
  networkSettings(row: ContainerRow, full: boolean): Record<string, unknown>;
  mounts(row: ContainerRow): Array<Record<string, unknown>>;
  ports(row: ContainerRow): Array<Record<string, unknown>>;
  /** Names and ids of the networks the container is on ("host", "none" for those modes). */
  networks(row: ContainerRow): string[];
}

/** Until the daemon's wiring registers the real ones: nothing known about networks or mounts. */
let registeredExtras: ContainerExtras = {
  networkSettings: (_row, full) => (full ? { Networks: {}, Ports: {} } : { Networks: {} }),
  mounts: () => [],
  ports: () => [],
  networks: () => [],
};

/** The daemon's networks and volumes register here once, for callers that pass no extras. */
export function useContainerExtras(extras: ContainerExtras): void {
  registeredExtras = extras;
}

/** Docker's ContainerJSON for GET /containers/{id}/json. */
export function inspectDocument(row: ContainerRow, stateDir: string, execIds: string[] | null = null, extras: ContainerExtras = registeredExtras): Record<string, unknown> {
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
    ExecIDs: execIds,
    HostConfig: hostConfig,
    GraphDriver: { Data: null, Name: 'overlay2' },
    Mounts: extras.mounts(row),
    Config: inspectConfig(config),
    NetworkSettings: extras.networkSettings(row, true),
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
export function listDocuments(
  store: ContainerStore,
  rows: ContainerRow[],
  req: ListRequest,
  images: ImageIndex | undefined,
  extras: ContainerExtras = registeredExtras,
  nowMs = Date.now(),
): Array<Record<string, unknown>> {
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
    if (filters.has('network') && !filters.get('network').some((v) => extras.networks(row).includes(v))) continue;
    if (!filters.matchAny('health', (v) => v === healthOf(row))) continue;
    if (filters.has('volume') && !filters.get('volume').some((v) => extras.mounts(row).some((m) => m.Name === v || m.Source === v || m.Destination === v))) continue;
    if (filters.has('expose') && !filters.get('expose').some((v) => Object.keys(config.ExposedPorts ?? {}).includes(v.includes('/') ? v : `${v}/tcp`))) continue;
    if (filters.has('publish') && !filters.get('publish').some((v) => publishes(extras.ports(row), v))) continue;
    out.push(listEntry(row, config, hostConfig, images, extras, nowMs));
    if (req.limit > 0 && out.length >= req.limit) break;
  }
  return out;
}

function listEntry(
  row: ContainerRow,
  config: DockerConfig,
  hostConfig: HostConfig,
  images: ImageIndex | undefined,
  extras: ContainerExtras,
  nowMs: number,
): Record<string, unknown> {
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
    Ports: extras.ports(row),
    Labels: config.Labels ?? {},
    State: row.status,
    Status: statusString(
      { status: row.status, exitCode: row.exit_code, startedAtMs: timeMs(row.started_at), finishedAtMs: timeMs(row.finished_at), health: row.health ? healthOf(row) : undefined },
      nowMs,
    ),
    HostConfig: { NetworkMode: hostConfig.NetworkMode },
    NetworkSettings: extras.networkSettings(row, false),
    Mounts: extras.mounts(row),
  };
}

/** The `health` filter's value: starting, healthy, unhealthy, or none without a healthcheck. */
function healthOf(row: ContainerRow): string {
  return row.health ? (JSON.parse(row.health) as { Status: string }).Status : 'none';
}

/** Docker's `publish` filter: "8080", "8080/tcp" (a published host port) or a range "8000-8080/tcp". */
function publishes(ports: Array<Record<string, unknown>>, filter: string): boolean {
  const [spec, proto] = filter.split('/');
  const [lo, hi = lo] = spec.split('-').map(Number);
  return ports.some((p) => typeof p.PublicPort === 'number' && p.PublicPort >= lo && p.PublicPort <= hi && (!proto || p.Type === proto));
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

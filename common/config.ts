/**
 * Where everything lives and how each layer is configured, from the environment.
 *
 * One root override (TERSANE_ROOT, `tersane up --root DIR`) moves every socket, database, image,
 * log and the cgroup parent, so several stacks and test runs live side by side:
 *   no root:  sockets in /run/tersane,  state in /var/lib/tersane,  cgroup parent "tersane"
 *   root DIR: sockets in DIR/run,       state in DIR/lib,           cgroup parent "tersane-<hash of DIR>"
 *
 * @example
 *   const cfg = loadConfig();
 *   cfg.socket('daemon'); // "/run/tersane/daemon.sock"
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Layer = 'api' | 'daemon' | 'containerd' | 'shim';
export const LAYERS: readonly Layer[] = ['shim', 'containerd', 'daemon', 'api'];

/** The layers in start order (bottom first) plus NATS, as `tersane status` and `restart` name them. */
export type Component = Layer | 'nats';

/** Unix socket paths are limited to 108 bytes including the terminating NUL. */
const SOCKET_PATH_MAX = 107;
/** The longest socket the engine makes: a task's monitor socket, named by a 64-hex container id. */
const LONGEST_SOCKET_SUFFIX = `/tasks/${'0'.repeat(64)}/sock`.length;

export const DEFAULT_NATS_PORT = 4229;

export interface RuntimeChoice {
  name: string;
  path: string;
}

export interface Config {
  /** The root override, or undefined for the system paths. */
  root?: string;
  /** Install directory: holds dist/, proto/, runtime-native/build/, deploy/. */
  prefix: string;
  runDir: string;
  stateDir: string;
  /** The Docker-compatible API socket. */
  dockerSocket: string;
  /** Socket mode's group for the Docker socket (a group name; empty for root only). */
  dockerSocketGroup: string;
  natsUrl: string;
  /** Name of the cgroup below which every container's cgroup is made. */
  cgroupParent: string;
  /** The runtime used when a task does not name one. */
  defaultRuntime: string;
  /** How long a request waits for a layer below that is down before failing with 503. */
  layerWaitMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** host:port of this process's Prometheus endpoint (TERSANE_METRICS_ADDR); none when empty. */
  metricsAddr?: string;
  /** gRPC socket of a layer. */
  socket(layer: Exclude<Layer, 'api'>): string;
  /** The layer's own state directory (its database, its files). */
  layerState(layer: Layer): string;
  pidFile(component: Component): string;
  /** The path of a configured runtime binary, or undefined if it is not known. */
  runtime(name: string): RuntimeChoice | undefined;
  nativeBinary(name: 'tersane-runtime' | 'tersane-monitor' | 'tersane-unpack' | 'tersane-init' | 'tersane-archive' | 'tersane-net' | 'tersane-spawner'): string;
}

function installPrefix(): string {
  // This file is dist/common/config.js once built, common/config.ts under vitest.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '..']) {
    const candidate = resolve(here, up);
    if (existsSync(join(candidate, 'package.json')) && existsSync(join(candidate, 'proto'))) return candidate;
  }
  return resolve(here, '../..');
}

/** A short, stable name for a root, so each stack gets a cgroup parent of its own. */
export function rootTag(root: string): string {
  return createHash('sha256').update(resolve(root)).digest('hex').slice(0, 8);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const root = env.TERSANE_ROOT ? resolve(env.TERSANE_ROOT) : undefined;
  const prefix = env.TERSANE_PREFIX ? resolve(env.TERSANE_PREFIX) : installPrefix();
  const runDir = root ? join(root, 'run') : '/run/tersane';
  const stateDir = root ? join(root, 'lib') : '/var/lib/tersane';
  if (runDir.length + LONGEST_SOCKET_SUFFIX > SOCKET_PATH_MAX) {
    throw new Error(
      `root ${root} is too long: sockets under ${runDir} would exceed the ${SOCKET_PATH_MAX}-byte limit of unix socket paths ` +
        `(at most ${SOCKET_PATH_MAX - LONGEST_SOCKET_SUFFIX - '/run'.length} characters)`,
    );
  }
  const nativeBuild = join(prefix, 'runtime-native', 'build');
  const runtimes: Record<string, string | undefined> = {
    tersane: env.TERSANE_RUNTIME_TERSANE ?? join(nativeBuild, 'tersane-runtime'),
    runc: env.TERSANE_RUNTIME_RUNC ?? findInPath('runc', env),
    crun: env.TERSANE_RUNTIME_CRUN ?? findInPath('crun', env),
  };
  const level = (env.TERSANE_LOG_LEVEL ?? 'info') as Config['logLevel'];
  return {
    root,
    prefix,
    runDir,
    stateDir,
    dockerSocket: join(runDir, 'docker.sock'),
    dockerSocketGroup: env.TERSANE_SOCKET_GROUP ?? 'docker',
    natsUrl: env.TERSANE_NATS_URL ?? `nats://127.0.0.1:${DEFAULT_NATS_PORT}`,
    cgroupParent: env.TERSANE_CGROUP_PARENT ?? (root ? `tersane-${rootTag(root)}` : 'tersane'),
    defaultRuntime: env.TERSANE_RUNTIME ?? 'tersane',
    layerWaitMs: positiveInt(env.TERSANE_LAYER_WAIT_MS, 10_000),
    logLevel: ['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info',
    metricsAddr: env.TERSANE_METRICS_ADDR || undefined,
    socket: (layer) => join(runDir, `${layer}.sock`),
    layerState: (layer) => join(stateDir, layer),
    pidFile: (component) => join(runDir, `${component}.pid`),
    runtime(name) {
      const path = runtimes[name];
      return path ? { name, path } : undefined;
    },
    nativeBinary: (name) => join(nativeBuild, name),
  };
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function findInPath(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = join(dir, bin);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `tersane up`: runs the whole stack in the foreground, the way systemd would run the units in
 * deploy/systemd/ — nats-server, then shim, containerd, daemon, api, each a separate process started
 * from its unit's ExecStart and Environment — and restarts a component that dies, with back-off.
 * Containers are not its children: stopping the supervisor (or any layer) leaves them running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LAYERS, type Component, type Config } from '../common/config.js';
import { loadUnitCommand } from './units.js';

export const COMPONENTS: readonly Component[] = ['nats', ...LAYERS];

/**
 * Restarts follow the unit: RestartSec apart. systemd gives up on a unit that starts more than
 * StartLimitBurst times within StartLimitIntervalSec; the supervisor slows down to this instead,
 * so a crash-looping layer is still retried without spinning.
 */
const CRASH_LOOP_DELAY_MS = 5000;
/** How long `up` waits for a component to answer before going on (and saying so). */
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const PROBE_INTERVAL_MS = 25;
const HELD_POLL_MS = 100;

export interface ComponentState {
  pid: number;
  /** host:port of its Prometheus endpoint, when it has one. */
  metrics?: string;
  startedAt: string;
  restarts: number;
}

export interface SupervisorState {
  pid: number;
  root?: string;
  natsUrl: string;
  components: Partial<Record<Component, ComponentState>>;
}

export function stateFile(cfg: Config): string {
  return join(cfg.runDir, 'supervisor.json');
}

export function readSupervisorState(cfg: Config): SupervisorState | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFile(cfg), 'utf8')) as SupervisorState;
    return isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where a component answers: a unix socket path, or a TCP port for NATS. */
export function endpointOf(cfg: Config, component: Component): { path: string } | { port: number } {
  if (component === 'nats') return { port: Number(new URL(cfg.natsUrl).port) };
  if (component === 'api') return { path: cfg.dockerSocket };
  return { path: cfg.socket(component) };
}

/** True once something accepts connections at the component's endpoint. */
export function probe(cfg: Config, component: Component): Promise<boolean> {
  const endpoint = endpointOf(cfg, component);
  return new Promise((resolve) => {
    const sock = 'path' in endpoint ? netConnect(endpoint.path) : netConnect(endpoint.port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** A component an operator stopped (`tersane stop`) is not restarted until `tersane start`. */
export function heldFile(cfg: Config, component: Component): string {
  return join(cfg.runDir, 'held', component);
}

async function waitReleased(cfg: Config, component: Component, stopping: () => boolean): Promise<void> {
  while (existsSync(heldFile(cfg, component)) && !stopping()) await sleep(HELD_POLL_MS);
}

export async function waitReady(cfg: Config, component: Component, timeoutMs: number, pid?: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pid !== undefined && !isAlive(pid)) return false;
    if (await probe(cfg, component)) return true;
    await sleep(PROBE_INTERVAL_MS);
  }
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface UpOptions {
  cfg: Config;
  only?: Component[];
  /** Where component output and the supervisor's own lines go. */
  out?: NodeJS.WritableStream;
}

export async function up(opts: UpOptions): Promise<void> {
  let cfg = opts.cfg;
  const out = opts.out ?? process.stderr;
  const say = (line: string) => out.write(`[tersane] ${line}\n`);
  const existing = readSupervisorState(cfg);
  if (existing) throw new Error(`a stack is already running on ${cfg.root ?? 'the system paths'} (supervisor pid ${existing.pid})`);

  mkdirSync(cfg.runDir, { recursive: true, mode: 0o755 });
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o711 });
  // A new supervisor starts everything: holds belonged to the previous one.
  rmSync(join(cfg.runDir, 'held'), { recursive: true, force: true });
  // A stack of its own root gets a NATS port of its own, so stacks run side by side.
  const natsPort = cfg.root ? await freePort() : Number(new URL(cfg.natsUrl).port);
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  cfg = { ...cfg, natsUrl };
  const overrides: Record<string, string> = {
    TERSANE_PREFIX: cfg.prefix,
    TERSANE_NATS_URL: natsUrl,
    TERSANE_NATS_PORT: String(natsPort),
    TERSANE_NATS_STORE: join(cfg.stateDir, 'nats'),
  };
  if (cfg.root) overrides.TERSANE_ROOT = cfg.root;
  // Settings given to `up` itself reach the layers (runtime choice, log level, OTEL_*...).
  const passEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(TERSANE_|OTEL_)/.test(k))) as Record<string, string>;

  const wanted = COMPONENTS.filter((c) => !opts.only || opts.only.includes(c));
  // Each layer's metrics endpoint: the unit's port on the system paths, a free one per stack.
  const metricsAddr = new Map<Component, string>();
  for (const c of wanted) {
    if (c === 'nats') continue;
    const fromUnit = loadUnitCommand(cfg.prefix, c, {}).env.TERSANE_METRICS_ADDR;
    metricsAddr.set(c, cfg.root ? `127.0.0.1:${await freePort()}` : (fromUnit ?? ''));
  }
  const state: SupervisorState = { pid: process.pid, root: cfg.root, natsUrl, components: {} };
  const children = new Map<Component, ChildProcess>();
  const startTimes = new Map<Component, number[]>();
  let stopping = false;

  const saveState = () => writeFileSync(stateFile(cfg), JSON.stringify(state, null, 2));

  const launch = (component: Component): ChildProcess => {
    const metrics = metricsAddr.get(component);
    const cmd = loadUnitCommand(cfg.prefix, component, { ...passEnv, ...overrides, ...(metrics ? { TERSANE_METRICS_ADDR: metrics } : {}) });
    const child = spawn(cmd.argv[0], cmd.argv.slice(1), {
      env: { ...process.env, ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C on the terminal reaches the supervisor only, which then
      // stops the layers in order.
      detached: true,
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => out.write(`[${component}] ${line}\n`));
    }
    const previous = state.components[component];
    state.components[component] = {
      pid: child.pid ?? 0,
      metrics,
      startedAt: new Date().toISOString(),
      restarts: previous ? previous.restarts + 1 : 0,
    };
    if (component === 'nats') writeFileSync(cfg.pidFile('nats'), `${child.pid}\n`);
    saveState();
    children.set(component, child);
    const starts = (startTimes.get(component) ?? []).filter((t) => Date.now() - t < cmd.restart.startLimitIntervalMs);
    starts.push(Date.now());
    startTimes.set(component, starts);
    child.on('exit', (code, signal) => {
      children.delete(component);
      if (stopping) return;
      const delay = starts.length > cmd.restart.startLimitBurst ? CRASH_LOOP_DELAY_MS : cmd.restart.restartSecMs;
      if (existsSync(heldFile(cfg, component))) {
        say(`${component} exited (${signal ?? `code ${code}`}); held down by \`tersane stop\` until \`tersane start\``);
        void waitReleased(cfg, component, () => stopping).then(() => {
          if (!stopping) launch(component);
        });
        return;
      }
      say(`${component} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!stopping) launch(component);
      }, delay);
    });
    child.on('error', (err) => say(`${component} failed to start: ${err.message}`));
    return child;
  };

  const stopAll = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping (containers keep running)`);
    for (const component of [...wanted].reverse()) {
      const child = children.get(component);
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(stateFile(cfg), { force: true });
    rmSync(cfg.pidFile('nats'), { force: true });
    say('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGHUP', () => void stopAll('SIGHUP'));

  saveState();
  for (const component of wanted) {
    const t0 = Date.now();
    const child = launch(component);
    const ok = await waitReady(cfg, component, READY_TIMEOUT_MS, child.pid);
    if (stopping) return;
    say(ok ? `${component} ready in ${Date.now() - t0} ms (pid ${child.pid})` : `${component} is not answering yet; going on`);
  }
  if (wanted.includes('api')) {
    say(`Docker API: unix://${cfg.dockerSocket}`);
    say(`  export DOCKER_HOST=unix://${cfg.dockerSocket}`);
  }
  say('up');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

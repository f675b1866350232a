/**
 * A whole tersane stack for one test file: `tersane up --root <tmp>` in the background (nats-server
 * and the four layers, started from their systemd units), the real docker CLI pointed at it, and a
 * teardown that removes every container, mount, cgroup and process the stack made.
 *
 * @example
 *   const stack = await startStack();
 *   await stack.loadImage('busybox');
 *   const r = await stack.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
 *   await stack.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Component, type Config } from '../../common/config.js';
import { sweepStackNetworks } from '../../services/daemon/network/sweep.js';

/** The checkout: found the same way the services find it, from source (vitest) or from dist/. */
export const REPO = loadConfig({}).prefix;
const TERSANE = join(REPO, 'dist', 'cli', 'tersane.js');
export const IMAGES = join(REPO, 'images', 'out');
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Stack {
  root: string;
  cfg: Config;
  /** Environment for the docker CLI: DOCKER_HOST and a DOCKER_CONFIG of the stack's own. */
  env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against the stack; never throws on a non-zero exit. */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<RunResult>;
  /** Like docker() but throws with stderr unless the exit code is 0; returns stdout trimmed. */
  dockerOk(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<string>;
  /** `docker load` of a tarball built by images/build.ts. */
  loadImage(name: string): Promise<void>;
  /** Runs `tersane <args> --root <root>`. */
  tersane(args: string[]): RunResult;
  /** The pid of a running component. */
  pidOf(component: Component): number | undefined;
  /** The supervisor's and the layers' output so far. */
  output(): string;
  /**
   * Stops the whole engine (the supervisor and every layer; containers keep running) and starts a
   * new `tersane up` on the same root; resolves once it is up again.
   */
  restartEngine(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Start only these components (in stack order). */
  only?: Component[];
  /** Extra environment for the layers (TERSANE_RUNTIME=runc, …). */
  env?: Record<string, string>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const root = mkdtempSync('/tmp/tsn-');
  const logFile = join(root, 'up.log');
  mkdirSync(join(root, 'docker-config'));
  const cfg = loadConfig({ ...process.env, TERSANE_ROOT: root });
  const args = [TERSANE, 'up', '--root', root];
  if (opts.only) args.push('--only', opts.only.join(','));
  const launch = (): ChildProcess => {
    const out = openSync(logFile, 'a');
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
    return child;
  };
  let supervisor = launch();
  const output = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${cfg.dockerSocket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
  };
  delete env.DOCKER_CONTEXT;

  const docker: Stack['docker'] = (dargs, o = {}) =>
    new Promise((resolve) => {
      const child = spawn('docker', dargs, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      if (o.input !== undefined) child.stdin.end(o.input);
      else child.stdin.end();
    });

  const stack: Stack = {
    root,
    cfg,
    env,
    docker,
    async dockerOk(dargs, o) {
      const r = await docker(dargs, o);
      if (r.code !== 0) throw new Error(`docker ${dargs.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async loadImage(name) {
      await stack.dockerOk(['load', '-i', join(IMAGES, `${name}.tar`)]);
    },
    tersane(targs) {
      const r = spawnSync(process.execPath, [TERSANE, ...targs, '--root', root], { encoding: 'utf8' });
      return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
    pidOf(component) {
      try {
        const state = JSON.parse(readFileSync(join(cfg.runDir, 'supervisor.json'), 'utf8'));
        return state.components[component]?.pid;
      } catch {
        return undefined;
      }
    },
    output,
    async restartEngine() {
      const ups = () => output().split('[tersane] up\n').length - 1;
      const before = ups();
      if (supervisor.exitCode === null) {
        const exited = new Promise<void>((r) => supervisor.once('exit', () => r()));
        process.kill(supervisor.pid!, 'SIGTERM');
        await exited;
      }
      supervisor = launch();
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (ups() <= before) {
        if (supervisor.exitCode !== null || Date.now() > deadline) throw new Error(`the engine did not come up again:\n${output().slice(-4000)}`);
        await sleep(50);
      }
    },
    async stop() {
      await teardown(stack, supervisor);
    },
  };

  const last = opts.only ? opts.only[opts.only.length - 1] : 'api';
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output().includes('[tersane] up')) {
    if (supervisor.exitCode !== null || Date.now() > deadline) {
      const log = output();
      await teardown(stack, supervisor);
      throw new Error(`stack did not come up (waiting for ${last}):\n${log.slice(-4000)}`);
    }
    await sleep(50);
  }
  return stack;
}

/**
 * Stops the stack and removes everything it made, whatever state the test left it in: containers
 * (through the engine when it answers, else by killing what runs in the stack's cgroup parent),
 * mounts under the root, the cgroup parent in every hierarchy, and the root itself.
 */
async function teardown(stack: Stack, supervisor: ChildProcess): Promise<void> {
  if (existsSync(stack.cfg.dockerSocket)) {
    const ids = (await stack.docker(['ps', '-aq'], { timeoutMs: 10_000 })).stdout.split('\n').filter(Boolean);
    if (ids.length) await stack.docker(['rm', '-f', ...ids], { timeoutMs: 30_000 });
  }
  if (supervisor.exitCode === null) {
    const exited = new Promise<void>((r) => supervisor.once('exit', () => r()));
    process.kill(supervisor.pid!, 'SIGTERM');
    const timer = setTimeout(() => killGroup(supervisor.pid!), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  killLeftovers(stack.cfg);
  // Bridges, veths, iptables chains and host-registry rows of this stack that its daemon left.
  sweepStackNetworks(stack.cfg);
  unmountUnder(stack.root);
  removeCgroupParent(stack.cfg.cgroupParent);
  rmSync(stack.root, { recursive: true, force: true });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Monitors and containers of this stack that outlived the engine (a test that killed layers). */
function killLeftovers(cfg: Config): void {
  const tasks = join(cfg.runDir, 'tasks');
  if (existsSync(tasks)) {
    for (const id of readdirSync(tasks)) {
      for (const f of ['pid', 'monitor.pid']) {
        try {
          process.kill(Number(readFileSync(join(tasks, id, f), 'utf8').trim()), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
  for (const procs of cgroupProcFiles(cfg.cgroupParent)) {
    for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  // Components of a supervisor that was itself killed.
  for (const c of ['api', 'daemon', 'containerd', 'shim', 'nats'] as const) {
    try {
      process.kill(Number(readFileSync(cfg.pidFile(c), 'utf8').trim()), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function cgroupProcFiles(parent: string): string[] {
  const r = spawnSync('sh', ['-c', `find /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent} -name cgroup.procs 2>/dev/null`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

function unmountUnder(root: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === root || m.startsWith(root + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

function removeCgroupParent(parent: string): void {
  spawnSync('sh', ['-c', `for d in /sys/fs/cgroup/*/${parent} /sys/fs/cgroup/${parent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done; true`]);
}

/** What a stack leaves behind that it should not: mounts, cgroups, processes under its root. */
export function leftovers(stack: Stack): { mounts: string[]; cgroups: string[] } {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(stack.root + '/'));
  const r = spawnSync('sh', ['-c', `find /sys/fs/cgroup/*/${stack.cfg.cgroupParent} /sys/fs/cgroup/${stack.cfg.cgroupParent} -mindepth 1 -type d 2>/dev/null`], {
    encoding: 'utf8',
  });
  return { mounts, cgroups: r.stdout.split('\n').filter(Boolean) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

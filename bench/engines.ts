/**
 * The engines a benchmark compares: a tersane stack in a temporary root, and — when Debian's
 * docker.io is installed — a real Docker Engine started by hand with its own socket, data root and
 * exec root, stopped afterwards (with the iptables FORWARD policy it changes put back).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { IMAGES, startStack, type Stack } from '../test/helpers/stack.js';

const DOCKERD = '/usr/sbin/dockerd';
const DOCKERD_START_TIMEOUT_MS = 60_000;

export interface Engine {
  name: string;
  env: NodeJS.ProcessEnv;
  socket: string;
  /** Runs the docker CLI against the engine; throws with stderr on failure. */
  docker(args: string[]): string;
  stop(): Promise<void>;
}

function cli(env: NodeJS.ProcessEnv) {
  return (args: string[]): string => {
    const r = spawnSync('docker', args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
}

export async function startTersane(extraEnv: Record<string, string> = {}): Promise<Engine & { stack: Stack }> {
  const stack = await startStack({ env: extraEnv });
  await stack.loadImage('busybox');
  return {
    name: 'tersane',
    stack,
    env: stack.env,
    socket: stack.cfg.dockerSocket,
    docker: cli(stack.env),
    stop: () => stack.stop(),
  };
}

export function dockerEngineInstalled(): boolean {
  return existsSync(DOCKERD);
}

function forwardPolicy(): string | undefined {
  const r = spawnSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' });
  return /^-P FORWARD (\w+)/m.exec(r.stdout)?.[1];
}

export async function startDockerEngine(): Promise<Engine> {
  const root = mkdtempSync('/tmp/dkr-');
  const socket = join(root, 'docker.sock');
  const policyBefore = forwardPolicy();
  const dockerd: ChildProcess = spawn(
    DOCKERD,
    ['--host', `unix://${socket}`, '--data-root', join(root, 'data'), '--exec-root', join(root, 'exec'), '--pidfile', join(root, 'dockerd.pid')],
    { stdio: 'ignore' },
  );
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(root, 'cfg') };
  const deadline = Date.now() + DOCKERD_START_TIMEOUT_MS;
  while (!(await answers(socket))) {
    if (dockerd.exitCode !== null || Date.now() > deadline) throw new Error('dockerd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const docker = cli(env);
  docker(['load', '-i', join(IMAGES, 'busybox.tar')]);
  return {
    name: 'docker',
    env,
    socket,
    docker,
    async stop() {
      const ids = docker(['ps', '-aq']).split('\n').filter(Boolean);
      if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { env });
      const exited = new Promise((r) => dockerd.once('exit', r));
      dockerd.kill('SIGTERM');
      await exited;
      // dockerd sets the FORWARD policy to DROP, which would cut every other bridge on the host.
      if (policyBefore) spawnSync('iptables', ['-P', 'FORWARD', policyBefore]);
      spawnSync('sh', ['-c', `grep ' ${root}' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r umount -l`]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Runs `measure` on a tersane stack, then — when Debian's docker.io is installed — on Docker
 * Engine, one engine at a time so they never compete for the machine; each is stopped after.
 */
export async function onBothEngines<T>(measure: (engine: Engine) => T | Promise<T>): Promise<{ ours: T; ref?: T }> {
  const tersane = await startTersane();
  let ours: T;
  try {
    ours = await measure(tersane);
  } finally {
    await tersane.stop();
  }
  if (!dockerEngineInstalled()) return { ours };
  const docker = await startDockerEngine();
  try {
    return { ours, ref: await measure(docker) };
  } finally {
    await docker.stop();
  }
}

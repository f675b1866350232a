#!/usr/bin/env node
/**
 * The `tersane` command:
 *   tersane up [--root DIR] [--only a,b]     run the stack in the foreground
 *   tersane status [--root DIR]              each component: up/down, pid, uptime
 *   tersane restart <component> [--root DIR] [--kill]
 * Components: nats, shim, containerd, daemon, api.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadConfig, type Component, type Config } from '../common/config.js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { COMPONENTS, heldFile, isAlive, probe, readSupervisorState, up, waitReady } from './supervisor.js';

const RESTART_TIMEOUT_MS = 60_000;

const USAGE = `usage:
  tersane up [--root DIR] [--only COMPONENT,...]   run the engine in the foreground
  tersane status [--root DIR]                      show each component: up/down, pid, uptime
  tersane restart COMPONENT [--root DIR] [--kill]  restart one (SIGTERM, or SIGKILL with --kill)
  tersane stop COMPONENT [--root DIR]              stop one and keep it down (containers keep running)
  tersane start COMPONENT [--root DIR]             let a stopped one run again
components: ${COMPONENTS.join(', ')}`;

interface Args {
  command: string;
  positional: string[];
  root?: string;
  only?: Component[];
  kill: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: argv[0] ?? '', positional: [], kill: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--root' || a.startsWith('--root=')) args.root = value();
    else if (a === '--only' || a.startsWith('--only=')) args.only = value().split(',').map(component);
    else if (a === '--kill') args.kill = true;
    else if (a === '-h' || a === '--help') args.command = 'help';
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else args.positional.push(a);
  }
  return args;
}

function component(name: string): Component {
  if (!(COMPONENTS as readonly string[]).includes(name)) fail(`unknown component "${name}" (one of: ${COMPONENTS.join(', ')})`);
  return name as Component;
}

function fail(msg: string): never {
  process.stderr.write(`tersane: ${msg}\n`);
  process.exit(2);
}

function configFor(args: Args): Config {
  if (args.root) process.env.TERSANE_ROOT = args.root;
  try {
    return loadConfig();
  } catch (err) {
    fail((err as Error).message);
  }
}

/** Seconds since the process started, from /proc (start time in clock ticks since boot). */
function uptimeSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const bootUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const hz = 100; // USER_HZ is 100 on every Linux architecture we run on
    return Math.max(0, Math.round(bootUptime - startTicks / hz));
  } catch {
    return undefined;
  }
}

function pidOf(cfg: Config, c: Component): number | undefined {
  const fromSupervisor = readSupervisorState(cfg)?.components[c]?.pid;
  if (fromSupervisor && isAlive(fromSupervisor)) return fromSupervisor;
  try {
    const pid = Number(readFileSync(cfg.pidFile(c), 'utf8').trim());
    return pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function status(cfg: Config): Promise<void> {
  const sup = readSupervisorState(cfg);
  if (sup) cfg = { ...cfg, natsUrl: sup.natsUrl };
  const rows = [['COMPONENT', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'METRICS']];
  for (const c of COMPONENTS) {
    const pid = pidOf(cfg, c);
    const answering = pid !== undefined && (await probe(cfg, c));
    const secs = pid ? uptimeSeconds(pid) : undefined;
    rows.push([
      c,
      answering ? 'up' : pid ? 'starting' : 'down',
      pid ? String(pid) : '-',
      secs !== undefined ? `${secs}s` : '-',
      String(sup?.components[c]?.restarts ?? '-'),
      sup?.components[c]?.metrics ? `http://${sup.components[c]!.metrics}/metrics` : '-',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  console.log(`docker socket: unix://${cfg.dockerSocket}`);
}

async function restart(cfg: Config, c: Component, kill: boolean): Promise<void> {
  const sup = readSupervisorState(cfg);
  if (!sup) {
    // Not under `tersane up`: the units are systemd's.
    execFileSync('systemctl', [kill ? 'kill' : 'restart', ...(kill ? ['--signal=SIGKILL'] : []), `tersane-${c}.service`], { stdio: 'inherit' });
    return;
  }
  cfg = { ...cfg, natsUrl: sup.natsUrl };
  const before = pidOf(cfg, c);
  const t0 = Date.now();
  if (before) process.kill(before, kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = t0 + RESTART_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = readSupervisorState(cfg)?.components[c]?.pid;
    if (now && now !== before && (await waitReady(cfg, c, Math.max(0, deadline - Date.now()), now))) {
      console.log(`${c} restarted (pid ${before ?? '-'} → ${now}) in ${Date.now() - t0} ms`);
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  fail(`${c} did not come back within ${RESTART_TIMEOUT_MS / 1000} s`);
}

/** Holds a component down (the supervisor does not restart it) and stops it. */
async function stopComponent(cfg: Config, c: Component): Promise<void> {
  const sup = readSupervisorState(cfg);
  if (!sup) {
    execFileSync('systemctl', ['stop', `tersane-${c}.service`], { stdio: 'inherit' });
    return;
  }
  const held = heldFile(cfg, c);
  mkdirSync(dirname(held), { recursive: true });
  writeFileSync(held, `${new Date().toISOString()}\n`);
  const pid = pidOf({ ...cfg, natsUrl: sup.natsUrl }, c);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + RESTART_TIMEOUT_MS;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  }
  console.log(`${c} stopped; \`tersane start ${c}\` lets it run again`);
}

async function startComponent(cfg: Config, c: Component): Promise<void> {
  const sup = readSupervisorState(cfg);
  if (!sup) {
    execFileSync('systemctl', ['start', `tersane-${c}.service`], { stdio: 'inherit' });
    return;
  }
  rmSync(heldFile(cfg, c), { force: true });
  cfg = { ...cfg, natsUrl: sup.natsUrl };
  const deadline = Date.now() + RESTART_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const pid = pidOf(cfg, c);
    if (pid && (await probe(cfg, c))) {
      console.log(`${c} is up (pid ${pid})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  fail(`${c} did not come up within ${RESTART_TIMEOUT_MS / 1000} s`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  switch (args.command) {
    case 'up':
      await up({ cfg: configFor(args), only: args.only });
      return;
    case 'status':
      await status(configFor(args));
      return;
    case 'restart':
      if (args.positional.length !== 1) fail('restart needs one component');
      await restart(configFor(args), component(args.positional[0]), args.kill);
      return;
    case 'stop':
    case 'start':
      if (args.positional.length !== 1) fail(`${args.command} needs one component`);
      await (args.command === 'stop' ? stopComponent : startComponent)(configFor(args), component(args.positional[0]));
      return;
    case 'help':
    case '':
      console.log(USAGE);
      return;
    default:
      fail(`unknown command "${args.command}"\n${USAGE}`);
  }
}

main().catch((err) => {
  process.stderr.write(`tersane: ${(err as Error).message}\n`);
  process.exit(1);
});

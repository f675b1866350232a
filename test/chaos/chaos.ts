/**
 * The chaos suite: many concurrent container lifecycles (run attached, run --rm, run -d + wait + rm,
 * with varied exit codes and lifetimes) while a killer SIGKILLs a random component — nats, shim,
 * containerd, daemon or api — every few seconds. At the end every lifecycle must have completed
 * with its exit code or failed with a clear error (never a wrong answer, never a hang), and the
 * stack must hold zero orphans of any kind once it is quiet.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Component } from '../../common/config.js';
import { findOrphans } from '../helpers/orphans.js';
import { sleep, startStack, type Stack } from '../helpers/stack.js';

export interface ChaosOptions {
  durationMs: number;
  workers: number;
  /** Kills happen every killMinMs..killMaxMs. */
  killMinMs: number;
  killMaxMs: number;
  components?: Component[];
  log?: (line: string) => void;
}

export interface ChaosReport {
  lifecycles: number;
  completed: number;
  clearErrors: Record<string, number>;
  /** Wrong exit codes, silent failures, hangs: each a line saying what happened. */
  bad: string[];
  kills: Record<string, number>;
  /** ms from each kill until the component answered again, by component. */
  backAfterMs: Record<string, number[]>;
  orphans: string[];
  leftAfterCleanup: number;
  /** Where the stack's output was kept, when something went bad. */
  logFile?: string;
}

/** A docker command that takes longer than this hangs, as far as a user is concerned. */
const COMMAND_TIMEOUT_MS = 120_000;
const DEFAULT_COMPONENTS: Component[] = ['nats', 'shim', 'containerd', 'daemon', 'api'];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  startedAt: string;
}

function run(stack: Stack, args: string[]): Promise<Result> {
  const startedAt = new Date().toISOString().slice(11, 23);
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, COMMAND_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, timedOut, startedAt });
    });
  });
}

/**
 * What kind of clear error a failed command gave, or undefined when it gave none a user could act
 * on (an empty or unrecognisable message).
 */
export function errorKind(stderr: string): string | undefined {
  const s = stderr.toLowerCase();
  if (/tersane (\w+) is unavailable/.test(s)) return `layer unavailable (${/tersane (\w+) is unavailable/.exec(s)![1]})`;
  if (s.includes('cannot connect to the docker daemon') || s.includes('error during connect')) return 'api unreachable';
  if (/unexpected eof|connection reset|broken pipe|eof/.test(s)) return 'connection lost';
  if (s.includes('error response from daemon')) return 'engine error';
  if (s.trim()) return 'other error';
  return undefined;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.log ?? (() => undefined);
  const stack = await startStack();
  const report: ChaosReport = { lifecycles: 0, completed: 0, clearErrors: {}, bad: [], kills: {}, backAfterMs: {}, orphans: [], leftAfterCleanup: 0 };
  const names = new Set<string>();
  let seq = 0;
  try {
    await stack.loadImage('busybox');
    const deadline = Date.now() + opts.durationMs;

    const t0 = Date.now();
    const at = () => `[+${((Date.now() - t0) / 1000).toFixed(1)}s ${new Date().toISOString().slice(11, 23)}]`;
    const failed = (what: string, r: Result): void => {
      if (r.timedOut) {
        report.bad.push(`${at()} ${what}: hung (started ${r.startedAt}, no answer in ${COMMAND_TIMEOUT_MS / 1000} s)`);
        return;
      }
      const kind = errorKind(r.stderr);
      if (!kind) report.bad.push(`${what}: exit ${r.code} with no error message`);
      else report.clearErrors[kind] = (report.clearErrors[kind] ?? 0) + 1;
    };

    /** One lifecycle; true when it completed with the right exit code. */
    const lifecycle = async (): Promise<void> => {
      const n = seq++;
      const exit = n % 7;
      const sleepFor = (n % 4) * 0.4;
      const name = `chaos-${n}`;
      const cmd = ['busybox', 'sh', '-c', `sleep ${sleepFor}; echo done-${n}; exit ${exit}`];
      report.lifecycles++;
      switch (n % 3) {
        case 0: {
          names.add(name);
          const r = await run(stack, ['run', '--name', name, ...cmd]);
          if (r.code === exit && r.stdout.includes(`done-${n}`)) {
            report.completed++;
            const rm = await run(stack, ['rm', name]);
            if (rm.code === 0) names.delete(name);
          } else if (r.code === exit && !r.stderr) {
            report.bad.push(`${at()} run ${name}: exit ${exit} right but its output is missing`);
          } else if (r.code === exit) {
            // The right code, with the attach broken by a kill: output lost, said clearly.
            report.completed++;
          } else failed(`run ${name} (expected exit ${exit})`, r);
          return;
        }
        case 1: {
          const r = await run(stack, ['run', '--rm', ...cmd]);
          if (r.code === exit) report.completed++;
          else failed(`run --rm (expected exit ${exit})`, r);
          return;
        }
        default: {
          names.add(name);
          const started = await run(stack, ['run', '-d', '--name', name, ...cmd]);
          if (started.code !== 0) return failed(`run -d ${name}`, started);
          const waited = await run(stack, ['wait', name]);
          if (waited.code !== 0) return failed(`wait ${name}`, waited);
          if (waited.stdout.trim() !== String(exit)) {
            report.bad.push(`wait ${name}: printed ${JSON.stringify(waited.stdout.trim())}, expected ${exit}`);
            return;
          }
          report.completed++;
          const rm = await run(stack, ['rm', name]);
          if (rm.code === 0) names.delete(name);
          else failed(`rm ${name}`, rm);
        }
      }
    };

    const workers = Array.from({ length: opts.workers }, async () => {
      while (Date.now() < deadline) await lifecycle();
    });

    const components = opts.components ?? DEFAULT_COMPONENTS;
    const killer = (async () => {
      while (Date.now() < deadline) {
        await sleep(opts.killMinMs + Math.random() * (opts.killMaxMs - opts.killMinMs));
        if (Date.now() >= deadline) break;
        const victim = components[Math.floor(Math.random() * components.length)];
        const t0 = Date.now();
        const r = stack.tersane(['restart', victim, '--kill']);
        const back = Date.now() - t0;
        report.kills[victim] = (report.kills[victim] ?? 0) + 1;
        (report.backAfterMs[victim] ??= []).push(back);
        say(`${at()} killed ${victim}: ${r.code === 0 ? `back in ${back} ms` : `did not come back: ${r.stderr.trim()}`}`);
        if (r.code !== 0) report.bad.push(`${victim} did not come back after a kill: ${r.stderr.trim()}`);
      }
    })();

    await Promise.all([...workers, killer]);
    say(`load done: ${report.lifecycles} lifecycles; quiescing`);

    // Quiet: every component answers, reconciliation has had its moment.
    for (let i = 0; i < 100; i++) {
      const status = stack.tersane(['status']);
      if (status.stdout.split('\n').slice(1, 6).every((l) => /\sup\s/.test(l))) break;
      await sleep(200);
    }
    await sleep(2000);
    // Lifecycles that failed clearly may have left their container: a user would remove it.
    for (const name of names) await run(stack, ['rm', '-f', name]);
    const left = (await run(stack, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    report.leftAfterCleanup = left.length;
    if (left.length) await run(stack, ['rm', '-f', ...left]);
    await sleep(500);
    report.orphans = (await findOrphans(stack)).orphans;
    return report;
  } catch (err) {
    report.bad.push(`chaos run failed: ${(err as Error).message}`);
    return report;
  } finally {
    if (report.bad.length || report.orphans.length) {
      report.logFile = join(tmpdir(), `tersane-chaos-${Date.now()}.log`);
      writeFileSync(report.logFile, stack.output());
    }
    await stack.stop();
  }
}

export function formatReport(r: ChaosReport): string {
  const ms = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? `median ${s[s.length >> 1]} ms, max ${s[s.length - 1]} ms` : '-';
  };
  return [
    `lifecycles: ${r.lifecycles} (completed with the right exit code: ${r.completed})`,
    `clear errors: ${Object.entries(r.clearErrors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `bad results: ${r.bad.length}${r.bad.length ? '\n  ' + r.bad.join('\n  ') : ''}`,
    `kills: ${Object.entries(r.kills).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    ...Object.entries(r.backAfterMs).map(([k, v]) => `  ${k} serving again after a kill: ${ms(v)}`),
    `containers left by failed lifecycles (removed): ${r.leftAfterCleanup}`,
    `orphans: ${r.orphans.length}${r.orphans.length ? '\n  ' + r.orphans.join('\n  ') : ''}`,
    ...(r.logFile ? [`the stack's output: ${r.logFile}`] : []),
  ].join('\n');
}

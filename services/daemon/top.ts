/**
 * `docker top`: the container's processes as ps(1) shows them. containerd lists the pids in the
 * container's cgroup (Tasks.Pids); ps runs on the host with the client's options (Docker's default
 * "-ef") and the rows of those pids are kept, in Docker's {Titles, Processes} shape.
 *
 * @example
 *   const doc = await containerTop(deps, row, 'aux');
 */
import { execFile } from 'node:child_process';
import { conflict, internal, invalidArgument } from '../../common/errors.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { ContainerRow } from './store.js';

/** A ps that does not answer within this is given up on. */
const PS_TIMEOUT_MS = 10_000;
const PS_MAX_OUTPUT = 16 * 1024 * 1024;

export interface TopDocument {
  Titles: string[];
  Processes: string[][];
}

/** Docker refuses a format option that renames a column to PID (it would fool the PID lookup). */
export function validatePsArgs(psArgs: string): void {
  const re = /\s+([^\s]*)=\s*(PID[^\s]*)/g;
  for (const m of psArgs.matchAll(re)) {
    if (m[1] !== 'pid') throw invalidArgument(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

/** ps's output, only the rows of `pids` (and the thread rows under them), as Docker parses it. */
export function parsePsOutput(output: string, pids: readonly number[]): TopDocument {
  const lines = output.split('\n');
  const titles = (lines[0] ?? '').trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw internal("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  const append = (fields: string[]) => {
    // The last column takes what is left (a command line with spaces).
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  };
  let inContainer = false;
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const fields = line.trim().split(/\s+/);
    if (fields[pidIndex] === '-') {
      if (inContainer) append(fields);
      continue;
    }
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid)) throw internal(`Unexpected pid '${fields[pidIndex]}': strconv.Atoi: parsing "${fields[pidIndex]}": invalid syntax`);
    inContainer = wanted.has(pid);
    if (inContainer) append(fields);
  }
  return { Titles: titles, Processes: processes };
}

function runPs(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ps', args, { timeout: PS_TIMEOUT_MS, maxBuffer: PS_MAX_OUTPUT, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout, stderr });
    });
  });
}

export async function containerTop(deps: Pick<LifecycleDeps, 'containerd'>, row: ContainerRow, psArgs: string): Promise<TopDocument> {
  const args = psArgs === '' ? '-ef' : psArgs;
  validatePsArgs(args);
  if (row.status === 'restarting') throw conflict(`Container ${row.id} is restarting, wait until the container is running`);
  if (row.status !== 'running' && row.status !== 'paused') throw conflict(`container ${row.id} is not running`);
  const { pids } = await deps.containerd.tasks.call('Pids', { container_id: row.id });
  const argv = args.split(' ');
  // Asking ps for those pids only is quicker; some options (f) refuse -q, then all are listed.
  let r = await runPs([...argv, '-q', pids.join(',')]);
  if (!r.ok) r = await runPs(argv);
  if (!r.ok) {
    const why = r.stderr.split('\n')[0] || 'exit status 1';
    throw internal(`ps: ${why}`);
  }
  return parsePsOutput(r.stdout, pids.map(Number));
}

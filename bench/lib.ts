/**
 * The benchmark's shared pieces: timing, medians, and a table of side-by-side results printed as
 * ratios. Benchmarks measure; they never assert (the tests assert behaviour).
 */
import { spawnSync } from 'node:child_process';

export interface Row {
  /** What was measured, e.g. "run true (median of 20)". */
  name: string;
  /** tersane's figure and the reference's, in `unit`. */
  ours: number;
  reference?: number;
  referenceName?: string;
  unit: string;
  /** The target for ours/reference (e.g. 1/6), printed beside the ratio. */
  targetRatio?: number;
  note?: string;
}

export interface Section {
  title: string;
  run(): Promise<Row[]>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds of one synchronous run of fn. */
export function timeSync(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs a command to completion and throws with its stderr when it fails. */
export function mustRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function formatRows(rows: Row[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    let line = `  ${r.name}: tersane ${r.ours.toFixed(2)} ${r.unit}`;
    if (r.reference !== undefined) {
      const ratio = r.ours / r.reference;
      line += ` | ${r.referenceName ?? 'reference'} ${r.reference.toFixed(2)} ${r.unit} | ratio ${ratio.toFixed(3)}`;
      if (r.targetRatio !== undefined) {
        line += ` (target ≤ ${r.targetRatio.toFixed(3)}: ${ratio <= r.targetRatio ? 'met' : 'NOT met'})`;
      }
    }
    if (r.note) line += ` — ${r.note}`;
    lines.push(line);
  }
  return lines.join('\n');
}

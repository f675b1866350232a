/**
 * tersane-runtime against runc: `run` of a bundle whose process is `true` on a busybox-static
 * rootfs (runc spec's shape: five namespaces, the usual mounts, masked and read-only paths, the
 * default device rules), wall-clock time of the whole command (create, start, wait, delete),
 * median of at least 20 each. Runs alternate between the two runtimes so that background noise
 * falls on both alike. Both state roots are on one tmpfs, as /run is on a normal host.
 * Target: tersane-runtime at most 1/6 of runc.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Row, type Section } from './lib.js';
import { makeBusyboxBundle, removeCgroupTree } from '../runtime-native/tests/bundle.js';
import { RUNC, TERSANE_RUNTIME } from '../runtime-native/tests/runtime-harness.js';

const RUNS = 30;
const WARMUP = 3;

function runOnce(bin: string, root: string, bundle: string, id: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['--root', root, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} run: exit ${r.status}: ${r.stderr}`);
  return ms;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
}

async function runTrue(): Promise<Row[]> {
  if (!existsSync(TERSANE_RUNTIME)) throw new Error(`${TERSANE_RUNTIME} is not built (npm run build:native)`);
  const base = mkdtempSync(join(tmpdir(), 'tn-bench-runtime-'));
  const tmpfs = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=700', 'tmpfs', base]).status === 0;
  const ours = await makeBusyboxBundle({ args: ['true'] });
  const theirs = await makeBusyboxBundle({ args: ['true'] });
  const oursRoot = join(base, 'tersane');
  const runcRoot = join(base, 'runc');
  mkdirSync(oursRoot);
  mkdirSync(runcRoot);
  const o: number[] = [];
  const r: number[] = [];
  try {
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const a = runOnce(TERSANE_RUNTIME, oursRoot, ours.dir, `bench-${i}`);
      const b = runOnce(RUNC, runcRoot, theirs.dir, `bench-${i}`);
      if (i >= WARMUP) {
        o.push(a);
        r.push(b);
      }
    }
  } finally {
    if (tmpfs) spawnSync('umount', [base]);
    rmSync(base, { recursive: true, force: true });
    await ours.cleanup();
    await theirs.cleanup();
    removeCgroupTree(theirs.cgroupsPath.split('/').filter(Boolean)[0]);
  }
  const fmt = (xs: number[]) => `min ${Math.min(...xs).toFixed(2)}, p90 ${percentile(xs, 0.9).toFixed(2)}`;
  return [{
    name: `runtime: run true, median of ${RUNS} (state roots on ${tmpfs ? 'tmpfs' : 'the temp dir\'s filesystem'})`,
    ours: median(o),
    reference: median(r),
    referenceName: 'runc',
    unit: 'ms',
    targetRatio: 1 / 6,
    note: `tersane ${fmt(o)}; runc ${fmt(r)}`,
  }];
}

export const sections: Section[] = [
  { title: 'runtime: run true', run: runTrue },
];

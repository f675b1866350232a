/**
 * tersane-runtime against runc: `run` of a bundle whose process is `true` on a busybox-static
 * rootfs (runc spec's shape: five namespaces, the usual mounts, masked and read-only paths, the
 * default device rules), wall-clock time of the whole command (create, start, wait, delete),
 * median of at least 20 each.
 *
 * The runs are timed by a small C loop (runtime-native/tests/runtime_benchloop.c: posix_spawn,
 * waitpid, clock_gettime) rather than from Node, whose own process start-up (~1.5 ms) would be
 * counted in both figures; this is how the monitor, a C program, starts the runtime. The two
 * runtimes alternate run by run so that background noise falls on both alike, and both state roots
 * are on one tmpfs, as /run is on a normal host. Target: tersane-runtime at most 1/6 of runc.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type Row, type Section } from './lib.js';
import { makeBusyboxBundle, removeCgroupTree } from '../runtime-native/tests/bundle.js';
import { NATIVE_DIR, RUNC, TERSANE_RUNTIME } from '../runtime-native/tests/runtime-harness.js';

const RUNS = 30;
const WARMUP = 3;
const LOOP = join(NATIVE_DIR, 'build', 'tests', 'runtime_benchloop');

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
}

async function runTrue(): Promise<Row[]> {
  if (!existsSync(TERSANE_RUNTIME)) throw new Error(`${TERSANE_RUNTIME} is not built (npm run build:native)`);
  const m = spawnSync('make', ['-s', '-C', NATIVE_DIR, 'runtime-test-tools'], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`make runtime-test-tools: ${m.stderr}`);
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
    const res = spawnSync(LOOP, [
      String(RUNS), String(WARMUP),
      TERSANE_RUNTIME, '--root', oursRoot, 'run', '--bundle', ours.dir, 'bench-{}', '--',
      RUNC, '--root', runcRoot, 'run', '--bundle', theirs.dir, 'bench-{}',
    ], { encoding: 'utf8', timeout: 600_000 });
    if (res.status !== 0) throw new Error(`benchmark loop: exit ${res.status}: ${res.stderr}`);
    for (const line of res.stdout.trim().split('\n')) {
      const [who, ms] = line.split(' ');
      (who === 'a' ? o : r).push(Number(ms));
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

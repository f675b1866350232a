/**
 * A container's log and files through the real docker CLI, tersane against Docker Engine (when
 * installed) side by side: `docker logs` of a 10 MB json-file log, and `docker cp` of a 20 MB tree
 * out of a container and into one. Each figure is the median of a few runs, output to /dev/null.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onBothEngines, type Engine } from './engines.js';
import { median, timeAsync, type Row, type Section } from './lib.js';

const RUNS = 5;
const LOG_BYTES = 10_000_000;
const TREE_FILES = 200;
const TREE_FILE_BYTES = 100_000;

/** Runs the docker CLI with its output thrown away; resolves when it exits 0. */
function dockerQuiet(engine: Engine, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env: engine.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: ${err}`))));
  });
}

async function measure(engine: Engine, scratch: string): Promise<Record<string, number>> {
  // 10 MB of log lines, then the container exits: the log is complete before it is read.
  engine.docker(['run', '-d', '--name', 'bench-log', 'busybox', 'sh', '-c', `yes 'a line of a container log, long enough to look like one: 0123456789' | head -c ${LOG_BYTES}`]);
  engine.docker(['wait', 'bench-log']);
  engine.docker(['run', '-d', '--name', 'bench-files', 'busybox', 'sh', '-c', `mkdir /data; i=0; while [ $i -lt ${TREE_FILES} ]; do head -c ${TREE_FILE_BYTES} /dev/urandom > /data/f$i; i=$((i+1)); done; sleep 1000`]);
  for (let i = 0; i < 600 && (await filesWritten(engine)) < TREE_FILES; i++) await new Promise((r) => setTimeout(r, 100));
  const local = join(scratch, `tree-${engine.name}`);
  mkdirSync(local);
  for (let i = 0; i < TREE_FILES; i++) writeFileSync(join(local, `f${i}`), Buffer.alloc(TREE_FILE_BYTES, i));

  const logs: number[] = [];
  const cpOut: number[] = [];
  const cpIn: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    logs.push(await timeAsync(() => dockerQuiet(engine, ['logs', 'bench-log'])));
    cpOut.push(await timeAsync(() => dockerQuiet(engine, ['cp', 'bench-files:/data', '-'])));
    cpIn.push(await timeAsync(() => dockerQuiet(engine, ['cp', local, `bench-files:/in-${run}`])));
  }
  return { logs: median(logs), cpOut: median(cpOut), cpIn: median(cpIn) };
}

/** How many files the tree's container has written so far (a `docker cp` of its listing). */
async function filesWritten(engine: Engine): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', 'docker cp bench-files:/data - 2>/dev/null | tar t 2>/dev/null | grep -c "^data/f"'], { env: engine.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(Number(out.trim()) || 0));
  });
}

export const sections: Section[] = [
  {
    title: `files: docker logs of a ${LOG_BYTES / 1e6} MB log, docker cp of a ${(TREE_FILES * TREE_FILE_BYTES) / 1e6} MB tree out and in`,
    async run(): Promise<Row[]> {
      const scratch = mkdtempSync('/tmp/tn-bench-files-');
      try {
        const { ours, ref } = await onBothEngines((e) => measure(e, scratch));
        const row = (name: string, key: string): Row => ({ name, ours: ours[key], reference: ref?.[key], referenceName: 'Docker Engine', unit: 'ms' });
        return [
          row(`docker logs, ${LOG_BYTES / 1e6} MB json-file log (median of ${RUNS})`, 'logs'),
          row(`docker cp container:/data - (${TREE_FILES} files, median of ${RUNS})`, 'cpOut'),
          row(`docker cp dir container:/in (${TREE_FILES} files, median of ${RUNS})`, 'cpIn'),
        ];
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  },
];

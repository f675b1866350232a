/**
 * Issue 6's benchmark: `docker exec c true` (the whole exec path: create, hijacked start, the
 * runtime's exec, the exit, inspect) and `docker logs` of a container that wrote 10 MB, through
 * the real docker CLI against tersane and (when installed) Docker Engine, side by side. Also the
 * cost of `docker stats --no-stream`, which waits a sample interval by design in both engines.
 */
import { spawnSync } from 'node:child_process';
import { median, timeSync, type Row, type Section } from './lib.js';
import { onBothEngines, type Engine } from './engines.js';

const EXEC_RUNS = 20;
const LOGS_RUNS = 5;
const LOG_BYTES = 10 * 1024 * 1024;
/** One log line of 100 bytes with its newline, repeated up to LOG_BYTES. */
const LINE = 'x'.repeat(99);

/** `docker logs` with its output thrown away (10 MB through a pipe, not into a buffer). */
function logsOnce(engine: Engine, id: string): void {
  const r = spawnSync('docker', ['logs', id], { env: engine.env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`docker logs: ${r.stderr}`);
}

async function measure(engine: Engine): Promise<Record<string, number>> {
  const c = engine.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']).trim();
  engine.docker(['exec', c, 'true']); // warm-up
  const exec = median(Array.from({ length: EXEC_RUNS }, () => timeSync(() => engine.docker(['exec', c, 'true']))));
  const floor = median(Array.from({ length: EXEC_RUNS }, () => timeSync(() => engine.docker(['version', '--format', '{{.Server.Version}}']))));
  const stats = median(Array.from({ length: 3 }, () => timeSync(() => engine.docker(['stats', '--no-stream', c]))));

  const writer = engine
    .docker(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', `yes ${LINE} | head -c ${LOG_BYTES}`])
    .trim();
  engine.docker(['wait', writer]);
  logsOnce(engine, writer); // warm-up (page cache)
  const logs = median(Array.from({ length: LOGS_RUNS }, () => timeSync(() => logsOnce(engine, writer))));
  engine.docker(['rm', '-f', c, writer]);
  return { exec, floor, stats, logs };
}

export const sections: Section[] = [
  {
    title: 'exec and logs: docker exec c true, docker logs of a 10 MB log (real docker CLI)',
    async run(): Promise<Row[]> {
      const { ours, ref } = await onBothEngines((e) => measure(e));
      const row = (name: string, key: string): Row => ({ name, ours: ours[key], reference: ref?.[key], referenceName: 'Docker Engine', unit: 'ms' });
      return [
        row(`docker exec c true (median of ${EXEC_RUNS})`, 'exec'),
        row(`docker logs of a ${LOG_BYTES / 1024 / 1024} MiB json-file log (median of ${LOGS_RUNS})`, 'logs'),
        { ...row('docker stats --no-stream (median of 3; one sample interval by design)', 'stats'), note: 'both engines wait ~1 s for a second sample' },
        { ...row(`docker version round trip: the CLI's own floor (median of ${EXEC_RUNS})`, 'floor'), note: 'not a target' },
      ];
    },
  },
];

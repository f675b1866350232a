/**
 * Issue 7's benchmark: what observability costs a container start. The same API lifecycle
 * (create → wait → start → remove) on three stacks: tracing off (the default), tracing on (OTLP to
 * a collector stand-in in a process of its own, with the SDK's default batching), and tracing off
 * while Prometheus-style scrapes hit every layer's /metrics once a second. Printed as ratios
 * against tracing off; the target for tracing is ≤ 1.05.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ApiClient, apiLifecycle } from './api-client.js';
import { startTersane } from './engines.js';
import { median, timeAsync, type Row, type Section } from './lib.js';

const RUNS = 150;

/**
 * An OTLP/HTTP collector stand-in in a process of its own (a real collector runs elsewhere): it
 * accepts every export and counts the bytes, without decoding them on the cores being measured.
 */
async function startSink(): Promise<{ endpoint: string; bytes: () => Promise<number>; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `let n=0;require('node:http').createServer((q,r)=>{q.on('data',d=>n+=d.length);q.on('end',()=>r.end())})` +
        `.listen(0,'127.0.0.1',function(){console.log(this.address().port)});process.on('message',()=>process.send(n));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return {
    endpoint: `http://127.0.0.1:${line.toString().trim()}`,
    bytes: async () => {
      child.send('count');
      const [n] = (await once(child, 'message')) as [number];
      return n;
    },
    stop: () => child.kill(),
  };
}
const WARMUP = 5;
const SCRAPE_INTERVAL_MS = 1000;

/**
 * The medians of the same lifecycle on several stacks running at once, measured in turns (one
 * lifecycle on each, round after round), so that whatever else the machine does weighs on all
 * alike: separate runs one after another differ by more than the effect being measured. Each
 * round starts with the next stack, so none is always first (going first costs a few per cent).
 */
async function medianLifecyclesInTurns(envs: Array<Record<string, string>>, duringRun: Array<((runDir: string) => () => void) | undefined>): Promise<number[]> {
  const engines = [];
  for (const env of envs) engines.push(await startTersane(env));
  const clients = engines.map((e) => new ApiClient(e.socket));
  const stops = engines.map((e, i) => duringRun[i]?.(e.stack.cfg.runDir));
  try {
    for (let i = 0; i < WARMUP; i++) for (const c of clients) await apiLifecycle(c);
    const times: number[][] = clients.map(() => []);
    for (let i = 0; i < RUNS; i++) {
      for (let j = 0; j < clients.length; j++) {
        const k = (i + j) % clients.length;
        times[k].push(await timeAsync(() => apiLifecycle(clients[k])));
      }
    }
    return times.map(median);
  } finally {
    for (const stop of stops) stop?.();
    for (const c of clients) c.close();
    for (const e of engines) await e.stop();
  }
}

/** Scrapes every layer's /metrics (found through the discovery files) once a second. */
function scrapeEverySecond(runDir: string): () => void {
  const timer = setInterval(() => {
    for (const layer of ['shim', 'containerd', 'daemon', 'api']) {
      try {
        const [{ targets }] = JSON.parse(readFileSync(join(runDir, 'metrics', `${layer}.json`), 'utf8'));
        void fetch(`http://${targets[0]}/metrics`).then((r) => r.text()).catch(() => undefined);
      } catch {
        /* not announced yet */
      }
    }
  }, SCRAPE_INTERVAL_MS);
  return () => clearInterval(timer);
}

export const sections: Section[] = [
  {
    title: 'observability: container start with tracing on/off and with metrics scraped every second',
    async run(): Promise<Row[]> {
      const sink = await startSink();
      let off: number, on: number, scraped: number;
      let exported: number;
      try {
        [off, on, scraped] = await medianLifecyclesInTurns(
          [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint }, {}],
          [undefined, undefined, scrapeEverySecond],
        );
        exported = await sink.bytes();
      } finally {
        sink.stop();
      }
      return [
        {
          name: `API create+start+wait+remove, tracing on vs off (median of ${RUNS}; ${(exported / 1024).toFixed(0)} KiB of spans exported)`,
          ours: on,
          reference: off,
          referenceName: 'tracing off',
          unit: 'ms',
          targetRatio: 1.05,
        },
        {
          name: `API create+start+wait+remove, metrics scraped every ${SCRAPE_INTERVAL_MS / 1000} s vs not scraped (median of ${RUNS})`,
          ours: scraped,
          reference: off,
          referenceName: 'not scraped',
          unit: 'ms',
        },
      ];
    },
  },
];

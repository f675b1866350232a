/**
 * Issue 7's benchmark: what observability costs a container start. The same API lifecycle
 * (create → wait → start → remove) on three stacks: tracing off (the default), tracing on (OTLP to
 * a receiver in this process), and tracing off while Prometheus-style scrapes hit every layer's
 * /metrics once a second. Printed as ratios against tracing off; the target for tracing is ≤ 1.05.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOtlpReceiver } from '../test/helpers/otlp-receiver.js';
import { ApiClient, apiLifecycle } from './api-client.js';
import { startTersane } from './engines.js';
import { median, timeAsync, type Row, type Section } from './lib.js';

const RUNS = 40;
const WARMUP = 5;
const SCRAPE_INTERVAL_MS = 1000;

async function medianLifecycle(env: Record<string, string>, duringRun?: (runDir: string) => () => void): Promise<number> {
  const engine = await startTersane(env);
  const client = new ApiClient(engine.socket);
  const stopSide = duringRun?.(engine.stack.cfg.runDir);
  try {
    for (let i = 0; i < WARMUP; i++) await apiLifecycle(client);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await timeAsync(() => apiLifecycle(client)));
    return median(times);
  } finally {
    stopSide?.();
    client.close();
    await engine.stop();
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
      const off = await medianLifecycle({});
      const receiver = await startOtlpReceiver();
      let on: number;
      try {
        on = await medianLifecycle({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '500' });
      } finally {
        await receiver.close();
      }
      const scraped = await medianLifecycle({}, scrapeEverySecond);
      return [
        {
          name: `API create+start+wait+remove, tracing on vs off (median of ${RUNS}; ${receiver.spans.length} spans received)`,
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

/**
 * Issue 8's benchmark: how long a layer takes from a SIGKILL to serving again (its restart plus
 * its reconciliation with what exists), with no containers and with 200 running ones. Serving
 * again means a real request through the docker CLI answers, not only that a socket accepts.
 * Target: at most 1 s each.
 */
import { spawnSync } from 'node:child_process';
import type { Component } from '../common/config.js';
import { startTersane, type Engine } from './engines.js';
import { median, type Row, type Section } from './lib.js';
import type { Stack } from '../test/helpers/stack.js';

const CONTAINERS = 200;
const ROUNDS = 3;
const COMPONENTS: Component[] = ['nats', 'shim', 'containerd', 'daemon', 'api'];

/** ms from the kill until `docker ps` (which needs the api and the daemon) answers. */
function killAndTimeBack(stack: Stack, engine: Engine, component: Component): number {
  const t0 = Date.now();
  const r = stack.tersane(['restart', component, '--kill']);
  if (r.code !== 0) throw new Error(`${component} did not come back: ${r.stderr}`);
  for (;;) {
    const ps = spawnSync('docker', ['ps', '-q'], { env: engine.env, encoding: 'utf8' });
    if (ps.status === 0) return Date.now() - t0;
    if (Date.now() - t0 > 60_000) throw new Error(`docker ps failing 60 s after ${component} was killed: ${ps.stderr}`);
  }
}

async function measure(containers: number): Promise<Record<string, number>> {
  const engine = await startTersane();
  try {
    for (let i = 0; i < containers; i++) engine.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '3600']);
    const out: Record<string, number> = {};
    for (const c of COMPONENTS) {
      out[c] = median(Array.from({ length: ROUNDS }, () => killAndTimeBack(engine.stack, engine, c)));
    }
    const running = engine.docker(['ps', '-q']).split('\n').filter(Boolean).length;
    if (running !== containers) throw new Error(`${running} containers running after the kills, expected ${containers}`);
    return out;
  } finally {
    await engine.stop();
  }
}

export const sections: Section[] = [
  {
    title: `resilience: SIGKILL to serving again, per layer, idle and with ${CONTAINERS} running containers (median of ${ROUNDS})`,
    async run(): Promise<Row[]> {
      const idle = await measure(0);
      const loaded = await measure(CONTAINERS);
      return COMPONENTS.map((c) => ({
        name: `${c}: with ${CONTAINERS} containers vs idle`,
        ours: loaded[c],
        reference: idle[c],
        referenceName: 'idle',
        unit: 'ms',
        note: `target ≤ 1000 ms: ${loaded[c] <= 1000 ? 'met' : 'NOT met'}`,
      }));
    },
  },
];

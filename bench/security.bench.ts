/**
 * What the default seccomp profile costs a container start: `POST /containers/{id}/start` with
 * Docker's default profile against `seccomp=unconfined`, side by side on the same stack,
 * alternating, PAIRS pairs (network none on both, so only the filter differs). The target:
 * the filter costs at most 2% of the start. (The filter is compiled once per runtime build and
 * capability set and cached as BPF under the runtime root — libseccomp takes ~12 ms for this
 * profile — so a start only reads it; the container process loads it into the kernel while the
 * engine goes on from `create` to `start`.)
 */
import { ApiClient } from './api-client.js';
import { startTersane } from './engines.js';
import { median, type Row, type Section } from './lib.js';

/* A start's time varies by ~5 ms (standard deviation of two adjacent starts' difference, on 2
 * cores) while the filter costs a few tenths of a millisecond: the estimate needs ~1000 pairs to be
 * known to ±0.1 ms. runc's cost (~12 ms) shows with far fewer. */
const PAIRS = 1000;
const RUNC_PAIRS = 100;
const API = '/v1.41';

async function json(client: ApiClient, method: string, path: string, body?: unknown, want = 200): Promise<string> {
  const a = await client.send(method, path, body);
  const text = await a.body;
  if (a.status !== want) throw new Error(`${method} ${path}: HTTP ${a.status} ${text}`);
  return text;
}

/** Milliseconds of the start request of a fresh container created with `securityOpt`. */
async function startOnce(client: ApiClient, securityOpt: string[]): Promise<number> {
  const created = await json(client, 'POST', `${API}/containers/create`, { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', SecurityOpt: securityOpt } }, 201);
  const id = (JSON.parse(created) as { Id: string }).Id;
  const wait = await client.send('POST', `${API}/containers/${id}/wait?condition=next-exit`);
  const t0 = process.hrtime.bigint();
  await json(client, 'POST', `${API}/containers/${id}/start`, undefined, 204);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await wait.body;
  await json(client, 'DELETE', `${API}/containers/${id}`, undefined, 204);
  return ms;
}

/**
 * Start latency with the default profile and unconfined, alternating: the unconfined median, and
 * the filtered one as that plus the median of the paired differences (each filtered start against
 * the unconfined start next to it, so the machine's drift between rounds cancels out; two medians
 * taken apart differ by more, run to run, than the effect being measured).
 */
async function compare(runtime: string, pairs: number): Promise<{ filtered: number; unconfined: number; stderr: number }> {
  const engine = await startTersane({ TERSANE_RUNTIME: runtime });
  const client = new ApiClient(engine.socket);
  try {
    // warm: images, the filter cache, the runtime's page cache
    for (let i = 0; i < 3; i++) {
      await startOnce(client, []);
      await startOnce(client, ['seccomp=unconfined']);
    }
    const filtered: number[] = [];
    const unconfined: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0 ? [[], ['seccomp=unconfined']] : [['seccomp=unconfined'], []];
      for (const opts of order) (opts.length ? unconfined : filtered).push(await startOnce(client, opts));
    }
    const unconfinedMedian = median(unconfined);
    const differences = filtered.map((f, i) => f - unconfined[i]);
    return { filtered: unconfinedMedian + median(differences), unconfined: unconfinedMedian, stderr: bootstrapStderr(differences) };
  } finally {
    client.close();
    await engine.stop();
  }
}

/** The standard error of the median of `xs`, from 500 resamples. */
function bootstrapStderr(xs: number[]): number {
  const medians: number[] = [];
  for (let b = 0; b < 500; b++) medians.push(median(xs.map(() => xs[Math.floor(Math.random() * xs.length)])));
  const mean = medians.reduce((a, m) => a + m, 0) / medians.length;
  return Math.sqrt(medians.reduce((a, m) => a + (m - mean) ** 2, 0) / medians.length);
}

export const sections: Section[] = [
  {
    title: 'security: container start with the default seccomp profile vs seccomp=unconfined (same stack, alternating)',
    async run(): Promise<Row[]> {
      const ours = await compare('tersane', PAIRS);
      // the same with runc under the same stack: it compiles the profile at every start
      const runc = await compare('runc', RUNC_PAIRS);
      return [
        {
          name: `POST /containers/{id}/start, default profile vs unconfined (${PAIRS} pairs: unconfined median + median paired difference)`,
          ours: ours.filtered,
          reference: ours.unconfined,
          referenceName: 'unconfined',
          unit: 'ms',
          targetRatio: 1.02,
          note: `the filter's cost ${(ours.filtered - ours.unconfined).toFixed(2)} ± ${ours.stderr.toFixed(2)} ms (standard error)`,
        },
        {
          name: `what the filter adds to a start: tersane-runtime vs runc (median paired differences of ${PAIRS} and ${RUNC_PAIRS} pairs)`,
          ours: ours.filtered - ours.unconfined,
          reference: runc.filtered - runc.unconfined,
          referenceName: 'runc',
          unit: 'ms',
        },
      ];
    },
  },
];

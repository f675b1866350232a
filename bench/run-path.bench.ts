/**
 * Issue 3's benchmark: `docker run --rm busybox true` through the real docker CLI against tersane
 * and (when installed) Docker Engine, side by side, plus the engine-side time of
 * create + start + wait + remove over the API alone (no CLI).
 */
import { request } from 'node:http';
import { median, timeAsync, timeSync, type Row, type Section } from './lib.js';
import { dockerEngineInstalled, startDockerEngine, startTersane, type Engine } from './engines.js';

const RUNS = 10;
const API_RUNS = 20;

function api(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      { socketPath: socket, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** create → wait (registered first, as the CLI does) → start → wait result → remove, over the API. */
async function apiLifecycle(socket: string, network: string): Promise<void> {
  const created = await api(socket, 'POST', '/v1.43/containers/create', {
    Image: 'busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: network },
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
  const id = JSON.parse(created.body).Id as string;
  const waited = api(socket, 'POST', `/v1.43/containers/${id}/wait?condition=next-exit`);
  const started = await api(socket, 'POST', `/v1.43/containers/${id}/start`);
  if (started.status !== 204) throw new Error(`start: ${started.status} ${started.body}`);
  const w = await waited;
  if (w.status !== 200) throw new Error(`wait: ${w.status} ${w.body}`);
  const removed = await api(socket, 'DELETE', `/v1.43/containers/${id}`);
  if (removed.status !== 204) throw new Error(`remove: ${removed.status} ${removed.body}`);
}

async function measure(engine: Engine): Promise<Record<string, number>> {
  const cli = (network: string) => {
    engine.docker(['run', '--rm', '--network', network, 'busybox', 'true']); // warm-up
    return median(Array.from({ length: RUNS }, () => timeSync(() => engine.docker(['run', '--rm', '--network', network, 'busybox', 'true']))));
  };
  const apiOnly = async (network: string) => {
    await apiLifecycle(engine.socket, network);
    const times: number[] = [];
    for (let i = 0; i < API_RUNS; i++) times.push(await timeAsync(() => apiLifecycle(engine.socket, network)));
    return median(times);
  };
  const floor = median(Array.from({ length: RUNS }, () => timeSync(() => engine.docker(['version', '--format', '{{.Server.Version}}']))));
  return {
    cliDefault: cli('default'),
    cliNone: cli('none'),
    apiDefault: await apiOnly('default'),
    apiNone: await apiOnly('none'),
    floor,
  };
}

export const sections: Section[] = [
  {
    title: 'engine: docker run --rm busybox true (real docker CLI), and create+start+wait+remove over the API',
    async run(): Promise<Row[]> {
      const tersane = await startTersane();
      let ours: Record<string, number>;
      try {
        ours = await measure(tersane);
      } finally {
        await tersane.stop();
      }
      let ref: Record<string, number> | undefined;
      if (dockerEngineInstalled()) {
        const docker = await startDockerEngine();
        try {
          ref = await measure(docker);
        } finally {
          await docker.stop();
        }
      }
      const row = (name: string, key: string, target?: number): Row => ({
        name,
        ours: ours[key],
        reference: ref?.[key],
        referenceName: 'Docker Engine',
        unit: 'ms',
        targetRatio: ref ? target : undefined,
      });
      return [
        row(`docker run --rm busybox true, default network (median of ${RUNS})`, 'cliDefault', 1 / 5),
        row(`docker run --rm --network none busybox true (median of ${RUNS})`, 'cliNone', 1 / 5),
        row(`API create+start+wait+remove, default network (median of ${API_RUNS})`, 'apiDefault'),
        row(`API create+start+wait+remove, --network none (median of ${API_RUNS})`, 'apiNone'),
        { ...row(`docker version round trip: the CLI's own floor (median of ${RUNS})`, 'floor'), note: 'not a target' },
      ];
    },
  },
];

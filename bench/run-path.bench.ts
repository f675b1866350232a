/**
 * Issue 3's benchmark: `docker run --rm busybox true` through the real docker CLI against tersane
 * and (when installed) Docker Engine, side by side, plus the engine-side time of
 * create + start + wait + remove over the API alone (no CLI).
 */
import { median, timeAsync, timeSync, type Row, type Section } from './lib.js';
import { ApiClient, apiLifecycle } from './api-client.js';
import { onBothEngines, type Engine } from './engines.js';

const RUNS = 10;
const API_RUNS = 20;

async function measure(engine: Engine): Promise<Record<string, number>> {
  const cli = (network: string) => {
    engine.docker(['run', '--rm', '--network', network, 'busybox', 'true']); // warm-up
    return median(Array.from({ length: RUNS }, () => timeSync(() => engine.docker(['run', '--rm', '--network', network, 'busybox', 'true']))));
  };
  const client = new ApiClient(engine.socket);
  const apiOnly = async (network: string) => {
    await apiLifecycle(client, { network });
    const times: number[] = [];
    for (let i = 0; i < API_RUNS; i++) times.push(await timeAsync(() => apiLifecycle(client, { network })));
    return median(times);
  };
  const floor = median(Array.from({ length: RUNS }, () => timeSync(() => engine.docker(['version', '--format', '{{.Server.Version}}']))));
  const figures = {
    cliDefault: cli('default'),
    cliNone: cli('none'),
    apiDefault: await apiOnly('default'),
    apiNone: await apiOnly('none'),
    floor,
  };
  client.close();
  return figures;
}

export const sections: Section[] = [
  {
    title: 'engine: docker run --rm busybox true (real docker CLI), and create+start+wait+remove over the API',
    async run(): Promise<Row[]> {
      const { ours, ref } = await onBothEngines((e) => measure(e));
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

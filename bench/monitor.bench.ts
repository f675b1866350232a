/**
 * tersane-monitor's footprint: the resident set of a monitor whose container sleeps, median over
 * several monitors running side by side. Target: at most 1 MiB. (No reference: conmon is not
 * installed here; its published figure is ~270 KiB with a shared libc.)
 */
import { median, type Row, type Section } from './lib.js';
import { ATTACH_STDOUT, MonitorTask, RUNC, sleep, vmRssKiB } from '../runtime-native/tests/monitor-client.js';

const MONITORS = 7;
const TARGET_KIB = 1024;

async function rssOfSleepingMonitors(): Promise<Row[]> {
  const tasks: MonitorTask[] = [];
  try {
    const rss: number[] = [];
    for (let i = 0; i < MONITORS; i++) {
      const t = await MonitorTask.prepare(RUNC, { args: ['sh', '-c', 'echo started; exec sleep 1000'] });
      tasks.push(t);
      await t.launchOk();
      const c = await t.connect();
      await c.attach(ATTACH_STDOUT);
      await c.start();
      await c.waitOutput((o) => o.includes('started'));
      c.close();
    }
    await sleep(300);
    for (const t of tasks) rss.push(vmRssKiB(t.info!.monitor_pid));
    const m = median(rss);
    return [{
      name: `monitor: VmRSS, container sleeping (median of ${MONITORS}, runtime runc)`,
      ours: m,
      unit: 'KiB',
      note: `target ≤ ${TARGET_KIB} KiB: ${m <= TARGET_KIB ? 'met' : 'NOT met'}; min ${Math.min(...rss)}, max ${Math.max(...rss)}`,
    }];
  } finally {
    for (const t of tasks) await t.cleanup();
  }
}

export const sections: Section[] = [
  { title: 'monitor: RSS of a monitor whose container sleeps', run: rssOfSleepingMonitors },
];

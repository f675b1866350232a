/**
 * tersane-monitor must stay tiny: at most 1 MiB resident while its container runs. A fixed property
 * of the binary and its idle loop, not a timing, so it is asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACH_STDERR, ATTACH_STDOUT, monitorRuntimes, MonitorTask, sleep, vmRssKiB } from './monitor-client.js';

const RSS_LIMIT_KIB = 1024;
const runtimes = await monitorRuntimes();

describe.each(runtimes)('tersane-monitor RSS with $name', ({ path: runtime }) => {
  const tasks: MonitorTask[] = [];
  afterEach(async () => {
    for (const t of tasks.splice(0)) await t.cleanup();
  });

  it('stays at most 1 MiB VmRSS while its container sleeps, after output and a client', async () => {
    const t = await MonitorTask.prepare(runtime, {
      args: ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo "some output line $i"; i=$((i+1)); done; exec sleep 1000'],
    });
    tasks.push(t);
    const info = await t.launchOk();
    expect(vmRssKiB(info.monitor_pid)).toBeLessThanOrEqual(RSS_LIMIT_KIB);
    const c = await t.connect();
    await c.attach(ATTACH_STDOUT | ATTACH_STDERR);
    await c.start();
    await c.waitOutput((o) => o.includes('some output line 1999\n'));
    await c.status();
    await sleep(200);
    const rss = vmRssKiB(info.monitor_pid);
    expect(rss).toBeLessThanOrEqual(RSS_LIMIT_KIB);
    expect((await c.signal(9)).ok).toBe(true);
    await c.exited;
  });
});

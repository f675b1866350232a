/**
 * tersane-monitor mounting the container's rootfs itself (--rootfs-type overlay): the container
 * sees the image, its writes land in the upper dir, and the mount is gone once the container is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACH_STDOUT, monitorRuntimes, MonitorTask } from './monitor-client.js';

const runtimes = await monitorRuntimes();

describe.each(runtimes)('tersane-monitor rootfs with $name', ({ path: runtime }) => {
  const tasks: MonitorTask[] = [];
  afterEach(async () => {
    for (const t of tasks.splice(0)) await t.cleanup();
  });

  it('mounts an overlay rootfs before create and unmounts it after the exit', async () => {
    const t = await MonitorTask.prepare(runtime, {
      args: ['sh', '-c', 'echo written > /hello.txt && head -n 1 /etc/passwd && ls /bin/busybox'],
      overlay: true,
    });
    tasks.push(t);
    await t.launchOk();
    // Mounted on the bundle's rootfs while the container exists.
    expect(t.leftoverMounts()).toContain(t.bundle.rootfs);
    const c = await t.connect();
    await c.attach(ATTACH_STDOUT);
    await c.start();
    const exit = await c.exited;
    expect(exit.exit_code).toBe(0);
    expect(c.stdout).toBe('root:x:0:0:root:/root:/bin/sh\n/bin/busybox\n');
    expect(readFileSync(join(t.overlay!.upper, 'hello.txt'), 'utf8')).toBe('written\n');
    expect(existsSync(join(t.overlay!.lower, 'hello.txt'))).toBe(false);
    // The exit is recorded before the clean-up, which `cleaned` marks as done.
    expect(existsSync(join(t.stateDir, 'exit'))).toBe(true);
    await t.waitCleaned();
    expect(t.leftoverMounts()).toEqual([]);
    expect(existsSync(join(t.bundle.rootfs, 'hello.txt'))).toBe(false);
    await t.waitMonitorGone();
    expect(existsSync(t.runtimeStateDir())).toBe(false);
  });

  it('fails with the mount error and leaves nothing when the overlay cannot be mounted', async () => {
    const t = await MonitorTask.prepare(runtime, { args: ['true'], overlay: true });
    tasks.push(t);
    t.overlay!.lower = join(t.tmp, 'missing-lower');
    const r = await t.launch();
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/mount rootfs/);
    expect(existsSync(t.stateDir)).toBe(false);
    expect(t.leftoverMounts()).toEqual([]);
  });
});

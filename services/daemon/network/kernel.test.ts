/**
 * The daemon's tersane-net server, for real (root): changes answered in order by one long-lived
 * process, a failed change told in the kernel's words without taking the server down, and a server
 * that died replaced by the next change.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.js';
import { KernelNet } from './kernel.js';

const dir = mkdtempSync('/tmp/tsn-kernel-');
const kernel = new KernelNet(loadConfig({}).nativeBinary('tersane-net'));
const bridge = `tk${process.pid % 100000}`;

afterAll(() => {
  kernel.close();
  try {
    execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
  } catch {
    /* not there: the test removed it */
  }
  // Namespaces a failed test left bound.
  for (const f of readdirSync(dir)) spawnSync('umount', ['-l', join(dir, f)], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

/** The pids of this process's tersane-net children. */
function servers(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.includes('(tersane-net)') && Number(stat.split(') ')[1].split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('tersane-net server', () => {
  it('makes and unmakes a namespace and a bridge, one process for every change', async () => {
    const ns = join(dir, 'ns1');
    await kernel.run([['netns-create', { path: ns }], ['bridge-create', { name: bridge, addr: '10.251.7.1/24' }]]);
    expect(existsSync(ns)).toBe(true);
    expect(execFileSync('ip', ['-br', 'addr', 'show', bridge]).toString()).toContain('10.251.7.1/24');
    await kernel.run([['bridge-delete', { name: bridge }], ['netns-delete', { path: ns }]]);
    expect(existsSync(ns)).toBe(false);
    expect(servers()).toHaveLength(1);
  });

  it('tells a failed change in the kernel’s words and goes on serving', async () => {
    await expect(kernel.run([['bogus', {}]])).rejects.toThrow('unknown action `bogus`');
    await expect(kernel.run([['veth-create', { netns: join(dir, 'none'), bridge: 'nosuchbridge0', host: 'vx0', name: 'eth0', addr: '10.0.0.2/24', mac: '02:42:0a:00:00:02' }]])).rejects.toThrow(
      /nosuchbridge0/,
    );
    const [pid] = servers();
    await kernel.run([['netns-delete', { path: join(dir, 'never-made') }]]);
    expect(servers()).toEqual([pid]);
  });

  it('refuses an argument holding a control character before sending anything', async () => {
    await expect(kernel.run([['netns-create', { path: `${dir}/a\tb` }]])).rejects.toThrow('holds a control character');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('answers the changes sent at once, each its own', async () => {
    const paths = [1, 2, 3, 4].map((i) => join(dir, `many${i}`));
    const results = await Promise.allSettled([...paths.map((path) => kernel.run([['netns-create', { path }]])), kernel.run([['bogus', {}]])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    await Promise.all(paths.map((path) => kernel.run([['netns-delete', { path }]])));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('starts another server when its server died', async () => {
    const [pid] = servers();
    process.kill(pid, 'SIGKILL');
    while (servers().includes(pid)) await new Promise((r) => setTimeout(r, 10));
    const ns = join(dir, 'after');
    await kernel.run([['netns-create', { path: ns }]]);
    await kernel.run([['netns-delete', { path: ns }]]);
    expect(servers()).toHaveLength(1);
    expect(servers()).not.toContain(pid);
  });
});

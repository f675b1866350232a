/**
 * The daemon's hands on the kernel's network objects: runtime-native's tersane-net, one process per
 * change (a container's namespace and veths at start, its namespace at exit, a bridge when a network
 * is made or unmade). Every action of one change goes in one run.
 *
 * @example
 *   await kernel.run([['netns-create', { path }], ['veth-create', { netns: path, bridge, host, name: 'eth0', addr, mac, gw }]]);
 */
import { execFile } from 'node:child_process';
import { internal } from '../../../common/errors.js';

/** A run that takes longer than this is stuck (it normally takes a few milliseconds). */
const KERNEL_TIMEOUT_MS = 30_000;

export type KernelAction = [string, Record<string, string | number | undefined>];

export class KernelNet {
  constructor(private readonly binary: string) {}

  run(actions: KernelAction[]): Promise<void> {
    const args: string[] = [];
    for (const [name, params] of actions) {
      args.push(name);
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') args.push(`${k}=${v}`);
    }
    return new Promise((resolve, reject) => {
      execFile(this.binary, args, { timeout: KERNEL_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        const line = String(stderr).trim().split('\n').pop()?.replace(/^tersane-net: /, '');
        reject(internal(line || `tersane-net failed: ${err.message}`));
      });
    });
  }
}

/**
 * The daemon's hands on the kernel's network objects: runtime-native's tersane-net (a container's
 * namespace and veths at start, its namespace at exit, a bridge when a network is made or unmade).
 * Every action of one change goes in one request, to one long-lived `tersane-net serve`.
 *
 * @example
 *   await kernel.run([['netns-create', { path }], ['veth-create', { netns: path, bridge, host, name: 'eth0', addr, mac, gw }]]);
 */
import { internal } from '../../../common/errors.js';
import { LineServer } from '../../../common/line-server.js';

/** A change that takes longer than this is stuck (it normally takes a few milliseconds). */
const KERNEL_TIMEOUT_MS = 30_000;

export type KernelAction = [string, Record<string, string | number | undefined>];

export class KernelNet {
  private readonly server: LineServer;

  constructor(binary: string) {
    this.server = new LineServer(binary, ['serve'], { name: 'tersane-net', timeoutMs: KERNEL_TIMEOUT_MS });
  }

  async run(actions: KernelAction[]): Promise<void> {
    const tokens: string[] = [];
    for (const [name, params] of actions) {
      tokens.push(name);
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') tokens.push(`${k}=${v}`);
    }
    const [verdict, ...text] = await this.server.request(tokens);
    if (verdict !== 'ok') throw internal(text.join(' ') || `tersane-net answered ${verdict ?? 'nothing'}`);
  }

  /** Ends the helper (the daemon is shutting down). */
  close(): void {
    this.server.close();
  }
}

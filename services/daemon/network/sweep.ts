/**
 * Removes every kernel and host-wide trace of one stack's networking — its bridges and veths, its
 * iptables chains and jumps, its rows in the host registry — whatever its daemon left behind (a
 * test that killed it, a root deleted under a running stack). The daemon itself never needs this:
 * it reconciles at start (reconcile.ts). The test harness calls it when it tears a stack down, so a
 * failed test cannot leak into the host or into other stacks.
 *
 * @example
 *   sweepStackNetworks(loadConfig({ TERSANE_ROOT: root }));
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../../../common/config.js';
import { presentJumps, renderRemoval } from './firewall.js';
import { ANY_TERSANE_BRIDGE, DOCKER_BRIDGE, netNames } from './names.js';
import { HostRegistry } from './registry.js';

const SYS_NET = '/sys/class/net';

export function sweepStackNetworks(cfg: Config): void {
  const names = netNames(cfg);
  for (const ifname of readdirSync(SYS_NET)) {
    if (ifname.startsWith(names.vethPrefix) || names.bridgePattern.test(ifname)) spawnSync('ip', ['link', 'del', ifname]);
  }
  const saved = ['filter', 'nat'].map((t) => spawnSync('iptables-save', ['-t', t], { encoding: 'utf8' }).stdout ?? '').join('');
  const chains = Object.values(names.chains).some((c) => saved.includes(`:${c} `));
  const jumps = presentJumps(names.chains, saved);
  if (chains || jumps.length > 0) spawnSync('iptables-restore', ['--noflush', '-w'], { input: renderRemoval(names.chains, jumps) });
  const registry = new HostRegistry(cfg.stateDir);
  try {
    registry.exclusive(() => {
      for (const s of registry.ownSubnets()) registry.releaseSubnet(s.cidr);
      for (const p of registry.ownPorts()) registry.releasePortsOf(p.container);
      const forward = registry.meta('ip_forward');
      if (forward !== undefined && !readdirSync(SYS_NET).some((n) => ANY_TERSANE_BRIDGE.test(n) || DOCKER_BRIDGE.test(n))) {
        if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== forward) writeFileSync('/proc/sys/net/ipv4/ip_forward', forward);
        registry.setMeta('ip_forward', undefined);
      }
    });
  } finally {
    registry.close();
  }
}

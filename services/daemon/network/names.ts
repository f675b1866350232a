/**
 * The names a stack gives its kernel objects, derived from its root so stacks run side by side
 * (common/config.ts rootTag: 8 hex of the root path) and so a sweep finds exactly its own:
 *
 *   bridges   tn<tag>-<n>      ("tersane-<n>" without a root)        n = 0 for the default bridge
 *   veths     tv<tag><5 hex>   ("tvsys<10 hex>")                     host side; random per start
 *   chains    TSN-<tag>-FWD | -DNAT | -POST  ("TERSANE-…")          iptables, this stack's alone
 *   netns     <runDir>/netns/<container id>
 *
 * Every interface name fits Linux's 15 characters.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rootTag, type Config } from '../../../common/config.js';

/** Linux's IFNAMSIZ - 1. */
export const IFNAME_MAX = 15;
/** iptables' chain name limit. */
const CHAIN_MAX = 28;

/** Interface-name patterns (iptables `+` wildcards) that match every tersane bridge on the host. */
export const ALL_BRIDGE_PATTERNS = ['tn+', 'tersane-+'] as const;
/** The same as a regular expression, for /sys/class/net. */
export const ANY_TERSANE_BRIDGE = /^(tn[0-9a-f]{8}-\d+|tersane-\d+)$/;
/** A Docker Engine's bridges (docker0, br-<network id>): they need ip_forward too. */
export const DOCKER_BRIDGE = /^(docker\d+|br-[0-9a-f]{12})$/;

export interface NetNames {
  /** Identity of this stack in host-wide records: its state directory. */
  owner: string;
  bridge(n: number): string;
  /** Every bridge of this stack matches it. */
  bridgePattern: RegExp;
  vethPrefix: string;
  newVeth(): string;
  chains: { fwd: string; dnat: string; post: string };
  netnsDir: string;
  netnsPath(containerId: string): string;
}

export function netNames(cfg: Config): NetNames {
  const tag = cfg.root ? rootTag(cfg.root) : undefined;
  const bridgePrefix = tag ? `tn${tag}-` : 'tersane-';
  const vethPrefix = tag ? `tv${tag}` : 'tvsys';
  const chainPrefix = tag ? `TSN-${tag}` : 'TERSANE';
  const chains = { fwd: `${chainPrefix}-FWD`, dnat: `${chainPrefix}-DNAT`, post: `${chainPrefix}-POST` };
  for (const c of Object.values(chains)) if (c.length > CHAIN_MAX) throw new Error(`chain name ${c} is too long`);
  const netnsDir = join(cfg.runDir, 'netns');
  return {
    owner: cfg.stateDir,
    bridge: (n) => `${bridgePrefix}${n}`,
    bridgePattern: new RegExp(`^${bridgePrefix.replace(/[-]/g, '\\-')}\\d+$`),
    vethPrefix,
    newVeth: () => vethPrefix + randomBytes(8).toString('hex').slice(0, IFNAME_MAX - vethPrefix.length),
    chains,
    netnsDir,
    netnsPath: (id) => join(netnsDir, id),
  };
}

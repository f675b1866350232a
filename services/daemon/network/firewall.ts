/**
 * The stack's packet filter: three iptables chains of its own, rewritten whole from the daemon's
 * records with one `iptables-restore --noflush` (declaring a chain in a restore flushes it, so the
 * result is exactly what the records say and a rewrite after a crash repairs everything):
 *
 *   filter  <FWD>   jumped to from FORWARD: per bridge, replies and traffic inside the bridge
 *                   pass; published ports (conntrack DNAT) pass; other tersane bridges are isolated;
 *                   containers reach out unless the network is internal
 *   nat     <DNAT>  jumped to from PREROUTING and OUTPUT for local destinations: published ports
 *                   (host ip:port → container ip:port), and each user network's DNS on gateway:53
 *                   to the daemon's resolver socket
 *   nat     <POST>  jumped to from POSTROUTING: masquerade what leaves a non-internal subnet, and
 *                   what the host sends from 127.0.0.0/8 into a bridge (loopback DNAT)
 *
 * Published ports are kernel DNAT, not a proxy process: they survive a daemon restart, cost no
 * process per connection and keep the client's address. 127.0.0.1:PORT works through DNAT in
 * OUTPUT plus route_localnet=1 on the bridge (tersane-net sets it) and the loopback masquerade.
 * Only rules change per container, and only for containers that publish ports: a container
 * without ports costs no iptables process at all.
 *
 * @example
 *   const fw = new Firewall(names.chains, log);
 *   await fw.apply({ networks, bindings, dns });
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { internal } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { ALL_BRIDGE_PATTERNS } from './names.js';

const run = promisify(execFile);
/** A restore that loses a race with another stack's is tried again this many times. */
const RESTORE_ATTEMPTS = 5;
const RESTORE_RETRY_MS = 50;
const IPTABLES_TIMEOUT_MS = 30_000;

export interface FirewallNetwork {
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  /** The port the daemon's resolver listens on at the gateway address (user networks only). */
  dnsPort?: number;
}

export interface FirewallBinding {
  proto: string;
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface FirewallState {
  networks: FirewallNetwork[];
  bindings: FirewallBinding[];
}

export interface Chains {
  fwd: string;
  dnat: string;
  post: string;
}

/** The jumps from the built-in chains into ours. */
export function jumpRules(c: Chains): { table: 'filter' | 'nat'; chain: string; rule: string }[] {
  return [
    { table: 'filter', chain: 'FORWARD', rule: `-j ${c.fwd}` },
    { table: 'nat', chain: 'PREROUTING', rule: `-m addrtype --dst-type LOCAL -j ${c.dnat}` },
    { table: 'nat', chain: 'OUTPUT', rule: `-m addrtype --dst-type LOCAL -j ${c.dnat}` },
    { table: 'nat', chain: 'POSTROUTING', rule: `-j ${c.post}` },
  ];
}

/** The iptables-restore input that makes our chains say exactly `state` (and adds missing jumps). */
export function renderRules(c: Chains, state: FirewallState, missingJumps: ReturnType<typeof jumpRules>): string {
  const filter: string[] = [`:${c.fwd} - [0:0]`];
  const nat: string[] = [`:${c.dnat} - [0:0]`, `:${c.post} - [0:0]`];
  for (const n of state.networks) {
    const br = n.bridge;
    filter.push(`-A ${c.fwd} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    filter.push(`-A ${c.fwd} -i ${br} -o ${br} -j ACCEPT`);
    if (n.internal) {
      filter.push(`-A ${c.fwd} -i ${br} -j DROP`, `-A ${c.fwd} -o ${br} -j DROP`);
    } else {
      filter.push(`-A ${c.fwd} -o ${br} -m conntrack --ctstate DNAT -j ACCEPT`);
      for (const other of ALL_BRIDGE_PATTERNS) filter.push(`-A ${c.fwd} -i ${br} -o ${other} -j DROP`);
      filter.push(`-A ${c.fwd} -i ${br} -j ACCEPT`);
      nat.push(`-A ${c.post} -s ${n.subnet} ! -o ${br} -j MASQUERADE`);
    }
    nat.push(`-A ${c.post} -s 127.0.0.0/8 -o ${br} -j MASQUERADE`);
    if (n.dnsPort) {
      for (const proto of ['udp', 'tcp']) {
        nat.push(`-A ${c.dnat} -d ${n.gateway}/32 -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${n.gateway}:${n.dnsPort}`);
      }
    }
  }
  for (const b of state.bindings) {
    const dst = b.hostIp && b.hostIp !== '0.0.0.0' ? ` -d ${b.hostIp}/32` : '';
    nat.push(`-A ${c.dnat}${dst} -p ${b.proto} -m ${b.proto} --dport ${b.hostPort} -j DNAT --to-destination ${b.containerIp}:${b.containerPort}`);
  }
  for (const j of missingJumps) {
    // Filter first in FORWARD: other firewalls (Docker's DOCKER-USER …) may drop what we accept.
    const line = j.chain === 'FORWARD' ? `-I FORWARD 1 ${j.rule}` : `-A ${j.chain} ${j.rule}`;
    (j.table === 'filter' ? filter : nat).push(line);
  }
  return ['*filter', ...filter, 'COMMIT', '*nat', ...nat, 'COMMIT', ''].join('\n');
}

/** The restore input that removes our jumps (those present) and chains. */
export function renderRemoval(c: Chains, presentJumps: ReturnType<typeof jumpRules>): string {
  const filter: string[] = [];
  const nat: string[] = [];
  for (const j of presentJumps) (j.table === 'filter' ? filter : nat).push(`-D ${j.chain} ${j.rule}`);
  filter.push(`:${c.fwd} - [0:0]`, `-X ${c.fwd}`);
  nat.push(`:${c.dnat} - [0:0]`, `:${c.post} - [0:0]`, `-X ${c.dnat}`, `-X ${c.post}`);
  return ['*filter', ...filter, 'COMMIT', '*nat', ...nat, 'COMMIT', ''].join('\n');
}

/** Which of our jumps an iptables-save dump holds. */
export function presentJumps(c: Chains, saved: string): ReturnType<typeof jumpRules> {
  const lines = new Set(saved.split('\n').map((l) => l.trim()));
  return jumpRules(c).filter((j) => lines.has(`-A ${j.chain} ${j.rule}`));
}

export class Firewall {
  /** Whether this process has seen our jumps in place (checked once, then kept). */
  private jumpsKnown = false;

  constructor(
    private readonly chains: Chains,
    private readonly log: Logger,
  ) {}

  private async save(): Promise<string> {
    const [f, n] = await Promise.all([
      run('iptables-save', ['-t', 'filter'], { timeout: IPTABLES_TIMEOUT_MS }),
      run('iptables-save', ['-t', 'nat'], { timeout: IPTABLES_TIMEOUT_MS }),
    ]);
    return f.stdout + n.stdout;
  }

  private async restore(input: string): Promise<void> {
    let last: unknown;
    for (let attempt = 1; attempt <= RESTORE_ATTEMPTS; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          const child = execFile('iptables-restore', ['--noflush', '-w'], { timeout: IPTABLES_TIMEOUT_MS }, (err, _out, stderr) =>
            err ? reject(new Error(String(stderr).trim() || err.message)) : resolve(),
          );
          child.stdin!.end(input);
        });
        return;
      } catch (err) {
        last = err;
        this.log.debug('iptables-restore failed; retrying', { attempt, err: (err as Error).message });
        await new Promise((r) => setTimeout(r, RESTORE_RETRY_MS * attempt));
      }
    }
    throw internal(`cannot program the packet filter: ${(last as Error).message}`);
  }

  /** Rewrites our chains to say exactly `state`. */
  async apply(state: FirewallState): Promise<void> {
    let missing: ReturnType<typeof jumpRules> = [];
    if (!this.jumpsKnown) {
      const present = presentJumps(this.chains, await this.save());
      missing = jumpRules(this.chains).filter((j) => !present.some((p) => p.chain === j.chain && p.rule === j.rule));
    }
    await this.restore(renderRules(this.chains, state, missing));
    this.jumpsKnown = true;
  }

  /** Removes our jumps and chains entirely (nothing of this stack left in the filter). */
  async removeAll(): Promise<void> {
    const saved = await this.save();
    const ours = Object.values(this.chains).some((c) => saved.includes(`:${c} `));
    const present = presentJumps(this.chains, saved);
    this.jumpsKnown = false;
    if (!ours && present.length === 0) return;
    if (!ours) {
      // Jumps without chains cannot exist in iptables, but be exact: remove only what is there.
      await this.restore(renderRemoval(this.chains, present).replace(/^:.*\n|^-X.*\n/gm, ''));
      return;
    }
    await this.restore(renderRemoval(this.chains, present));
  }
}

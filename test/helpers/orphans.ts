/**
 * Looks for orphans of every kind a stack can leave, by comparing what each layer claims with what
 * the kernel and the disk hold:
 *   - containers the daemon lists vs containerd's containers (each side without the other)
 *   - containerd's containers vs its active snapshots and bundles
 *   - the shim's tasks vs containerd's containers; running containers vs living task processes
 *   - monitor processes, cgroups, rootfs mounts and task directories that no task owns
 * Call it once the stack is quiet (every layer up and reconciled).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectContainerd } from '../../services/containerd/client.js';
import { connectShim } from '../../services/shim/client.js';
import type { Stack } from './stack.js';

export interface OrphanReport {
  /** Each entry: "<kind>: <what>". Empty when the stack is consistent with the kernel. */
  orphans: string[];
  counts: { daemon: number; containerd: number; tasks: number; monitors: number; cgroups: number; mounts: number };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process with its command line (those gone while being read are left out). */
export function commandLines(): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      out.push({ pid: Number(pid), argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Monitor processes whose state dir is under this stack's run dir, by task id. */
function monitorProcesses(runDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const { pid, argv } of commandLines()) {
    if (!argv[0]?.endsWith('tersane-monitor')) continue;
    const stateDir = argv[argv.indexOf('--state-dir') + 1] ?? '';
    if (stateDir.startsWith(join(runDir, 'tasks') + '/')) out.set(stateDir.split('/').pop()!, pid);
  }
  return out;
}

/** Container cgroups (one per container id) under the stack's cgroup parent, in any hierarchy. */
function containerCgroups(parent: string): Set<string> {
  const ids = new Set<string>();
  for (const base of ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))]) {
    const dir = join(base, parent);
    if (!existsSync(dir)) continue;
    try {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
    } catch {
      /* a hierarchy going away */
    }
  }
  return ids;
}

function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(root + '/'));
}

export async function findOrphans(stack: Stack): Promise<OrphanReport> {
  const orphans: string[] = [];
  const cfg = stack.cfg;
  const ps = await stack.dockerOk(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.State}}']);
  const daemon = new Map(ps.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));

  const containerd = connectContainerd(cfg);
  const shim = connectShim(cfg);
  try {
    const ctrs = (await containerd.containers.call('List', {})).containers;
    const tasks = (await shim.call('ListTasks', {})).tasks;
    const ctrIds = new Set(ctrs.map((c) => c.id));
    const taskById = new Map(tasks.map((t) => [t.id, t]));

    for (const id of daemon.keys()) if (!ctrIds.has(id)) orphans.push(`record without a container: daemon lists ${id}, containerd has none`);
    for (const id of ctrIds) if (!daemon.has(id)) orphans.push(`container without a record: containerd has ${id}, the daemon does not list it`);
    for (const t of tasks) if (!ctrIds.has(t.id)) orphans.push(`task without a container: the shim has ${t.id}`);
    for (const [id, state] of daemon) {
      const t = taskById.get(id);
      if (state === 'running' || state === 'paused') {
        if (!t || t.status === 'stopped' || !alive(t.pid)) orphans.push(`record claiming a container that isn't there: ${id} is ${state} but its task is ${t ? `${t.status}, pid ${t.pid}` : 'missing'}`);
      }
    }

    const monitors = monitorProcesses(cfg.runDir);
    for (const [id, pid] of monitors) {
      const t = taskById.get(id);
      if (!t || t.status === 'stopped') orphans.push(`monitor without a live task: pid ${pid} for ${id}`);
    }
    const live = new Set(tasks.filter((t) => t.status !== 'stopped').map((t) => t.id));
    const cgroups = containerCgroups(cfg.cgroupParent);
    for (const id of cgroups) if (!live.has(id)) orphans.push(`cgroup without a live task: ${cfg.cgroupParent}/${id}`);

    const mounts = mountsUnder(stack.root);
    for (const m of mounts) {
      const bundle = /\/bundles\/([0-9a-f]{64})\/rootfs$/.exec(m);
      if (!bundle || !live.has(bundle[1])) orphans.push(`mount without a live task: ${m}`);
    }

    const tasksDir = join(cfg.runDir, 'tasks');
    if (existsSync(tasksDir)) for (const id of readdirSync(tasksDir)) if (!taskById.has(id)) orphans.push(`task directory without a task: ${id}`);

    const stateDir = cfg.layerState('containerd');
    const bundles = join(stateDir, 'bundles');
    if (existsSync(bundles)) for (const id of readdirSync(bundles)) if (!ctrIds.has(id)) orphans.push(`bundle without a container: ${id}`);
    const snapshots = join(stateDir, 'snapshots');
    const active = existsSync(snapshots) ? readdirSync(snapshots).filter((n) => existsSync(join(snapshots, n, 'work'))) : [];
    if (active.length !== ctrIds.size) orphans.push(`active snapshots: ${active.length} on disk for ${ctrIds.size} containers`);

    return {
      orphans,
      counts: { daemon: daemon.size, containerd: ctrIds.size, tasks: tasks.length, monitors: monitors.size, cgroups: cgroups.size, mounts: mounts.length },
    };
  } finally {
    containerd.close();
    shim.close();
  }
}

/**
 * Container metadata: Create records the container, prepares its active snapshot on the image's
 * layers and writes its OCI bundle (<containerd>/bundles/<id>/config.json, and an empty rootfs/
 * for the monitor to mount the overlay on); Delete removes all three.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, failedPrecondition, invalidArgument, notFound } from '../../common/errors.js';
import type { LayerClient } from '../../common/grpc.js';
import type { Mount } from '../../common/proto-types/tersane/common/v1/Mount.js';
import type { ContainerInfo } from '../../common/proto-types/tersane/containerd/v1/ContainerInfo.js';
import type { ContainerSpec__Output as ContainerSpec } from '../../common/proto-types/tersane/containerd/v1/ContainerSpec.js';
import type { Resources__Output as Resources } from '../../common/proto-types/tersane/containerd/v1/Resources.js';
import type { ExecProcess } from '../../common/proto-types/tersane/common/v1/ExecProcess.js';
import type { ShimClient } from '../../common/proto-types/tersane/shim/v1/Shim.js';
import { nowNs, nowRfc3339Nano } from '../../common/time.js';
import type { ImageService } from './images.js';
import { capabilitySet, generateSpec, type HostFacts } from './spec.js';
import type { ContainerRow } from './store.js';
import { readAccounts, resolveUser } from './user.js';
import { chownUpperForUserns, withIdmap } from './userns.js';

/** containerd's rule for ids: what fits a path component and a cgroup name. */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,75}$/;

export interface CreateRequest {
  id: string;
  image: string;
  spec: ContainerSpec;
  labels: Record<string, string>;
}

/** A path is a mount point when /proc/self/mountinfo lists it (or something below it). */
export function mountedUnder(path: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp === path || mp.startsWith(`${path}/`))) return true;
  }
  return false;
}

export class ContainerService {
  readonly bundles: string;

  constructor(
    private readonly images: ImageService,
    stateDir: string,
    private readonly shim: LayerClient<ShimClient>,
    private readonly cgroupParent: string,
    private readonly host: HostFacts,
    /** tersane-init, bound into containers run with --init. */
    private readonly initBinary?: string,
  ) {
    this.bundles = join(stateDir, 'bundles');
    mkdirSync(this.bundles, { recursive: true, mode: 0o711 });
  }

  bundle(id: string): string {
    return join(this.bundles, id);
  }

  row(id: string): ContainerRow {
    const row = this.images.store.container(id);
    if (!row) throw notFound(`No such container: ${id}`);
    return row;
  }

  /** The overlay mount of the container's rootfs: its active snapshot on the image's layers. */
  rootfsMount(row: ContainerRow): Mount {
    const layers = this.images.store.layers(row.image_id);
    const lowers = this.images.snapshots.lowers(layers.map((l) => l.chain_id));
    return withIdmap(this.images.snapshots.mount(row.snapshot_id, lowers), row.spec_input);
  }

  toProto(row: ContainerRow, phases: Pick<ContainerInfo, 'snapshot' | 'spec'> = {}): ContainerInfo {
    return {
      id: row.id,
      image: row.image_id,
      bundle: this.bundle(row.id),
      labels: JSON.parse(row.labels),
      created_at: row.created_at,
      runtime_spec: Buffer.from(row.runtime_spec),
      rootfs: [this.rootfsMount(row)],
      ...phases,
    };
  }

  get(id: string): ContainerInfo {
    return this.toProto(this.row(id));
  }

  list(): ContainerInfo[] {
    return this.images.store.containers().map((r) => this.toProto(r));
  }

  /** Writes config.json (temp + rename) and the empty rootfs mount point. */
  writeBundle(id: string, runtimeSpec: string): void {
    const dir = this.bundle(id);
    mkdirSync(join(dir, 'rootfs'), { recursive: true, mode: 0o755 });
    const tmp = join(dir, 'config.json.tmp');
    writeFileSync(tmp, runtimeSpec, { mode: 0o600 });
    renameSync(tmp, join(dir, 'config.json'));
  }

  create(req: CreateRequest): Promise<ContainerInfo> {
    if (!CONTAINER_ID.test(req.id)) throw invalidArgument(`invalid container id ${JSON.stringify(req.id)}`);
    const { store, snapshots } = this.images;
    return this.images.lock.run(async () => {
      if (store.container(req.id)) throw conflict(`container ${req.id} already exists`);
      if (existsSync(this.bundle(req.id))) {
        if (mountedUnder(this.bundle(req.id))) throw conflict(`container ${req.id}: its bundle is still mounted`);
        rmSync(this.bundle(req.id), { recursive: true, force: true });
      }
      const image = this.images.resolve(req.image);
      const layers = store.layers(image.id);

      const snapBegin = nowNs();
      await this.images.ensureChain(layers);
      if (layers.length === 0) store.transaction(() => snapshots.emptyLower());
      const lowers = snapshots.lowers(layers.map((l) => l.chain_id));
      const snapPrepared = nowNs();

      const specBegin = nowNs();
      const accounts = readAccounts(lowers.map((l) => snapshots.fs(l)));
      const user = resolveUser(req.spec.user ?? '', req.spec.additional_groups ?? [], accounts.passwd, accounts.group);
      // Compact: the monitor and the runtime read it at every start (the seccomp profile is half of it).
      const runtimeSpec = JSON.stringify(
        generateSpec({ id: req.id, spec: req.spec, user, cgroupParent: this.cgroupParent, host: this.host, initBinary: this.initBinary }),
      );
      const specEnd = nowNs();

      let snapshotId: number | undefined;
      const createdAt = nowRfc3339Nano();
      try {
        store.transaction(() => {
          snapshotId = snapshots.prepareActive(req.id);
          chownUpperForUserns(snapshots.fs(snapshotId), req.spec, this.bundles);
          this.writeBundle(req.id, runtimeSpec);
          store.insertContainer({
            id: req.id,
            image_id: image.id,
            snapshot_id: snapshotId,
            labels: JSON.stringify(req.labels ?? {}),
            spec_input: JSON.stringify(req.spec),
            runtime_spec: runtimeSpec,
            created_at: createdAt,
          });
          this.images.events.record('/containers/create', { container: { id: req.id, image: image.id } });
        });
      } catch (err) {
        if (snapshotId !== undefined) snapshots.discard(snapshots.dir(snapshotId));
        rmSync(this.bundle(req.id), { recursive: true, force: true });
        throw err;
      }
      const snapEnd = nowNs();
      return this.toProto(store.container(req.id)!, {
        // The snapshot phase: layers made sure of, plus the active snapshot's directories.
        snapshot: { begin_ns: Number(snapBegin), end_ns: Number(snapPrepared + (snapEnd - specEnd)) },
        spec: { begin_ns: Number(specBegin), end_ns: Number(specEnd) },
      });
    });
  }

  /**
   * New resources for the container (docker update): the stored ContainerSpec and the OCI spec
   * generated from it change, and config.json with them, so the next start has them. A running
   * task's cgroup is the Tasks service's to change.
   */
  update(id: string, resources: Resources): Promise<ContainerInfo> {
    return this.images.lock.run(async () => {
      const row = this.row(id);
      const spec = { ...(JSON.parse(row.spec_input) as ContainerSpec), resources };
      const layers = this.images.store.layers(row.image_id);
      const lowers = this.images.snapshots.lowers(layers.map((l) => l.chain_id));
      const accounts = readAccounts(lowers.map((l) => this.images.snapshots.fs(l)));
      const user = resolveUser(spec.user ?? '', spec.additional_groups ?? [], accounts.passwd, accounts.group);
      const runtimeSpec = JSON.stringify(generateSpec({ id, spec, user, cgroupParent: this.cgroupParent, host: this.host, initBinary: this.initBinary }));
      this.images.store.transaction(() => {
        this.images.store.updateContainerSpec(id, JSON.stringify(spec), runtimeSpec);
        this.writeBundle(id, runtimeSpec);
      });
      return this.toProto(this.row(id));
    });
  }

  /** The container's cgroup path (its spec's linux.cgroupsPath). */
  cgroupsPath(id: string): string {
    return (JSON.parse(this.row(id).runtime_spec) as { linux: { cgroupsPath: string } }).linux.cgroupsPath;
  }

  /**
   * The OCI process of an exec: the container's own process (capabilities, rlimits, no new
   * privileges, …) with the exec's argv, environment, working directory and terminal, its user
   * resolved against the container's /etc/passwd and /etc/group as they are now (its read-write
   * layer first), and every capability the host grants for a privileged exec.
   */
  execProcess(id: string, p: ExecProcess): Record<string, unknown> {
    const row = this.row(id);
    const base = (JSON.parse(row.runtime_spec) as { process: Record<string, any> }).process;
    if (!p.args?.length) throw invalidArgument('No exec command specified');
    const mount = this.rootfsMount(row);
    const opt = (name: string) => (mount.options ?? []).find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
    const layers = [opt('upperdir'), ...(opt('lowerdir')?.split(':') ?? [])].filter((l): l is string => Boolean(l));
    const accounts = readAccounts(layers);
    const spec = JSON.parse(row.spec_input) as ContainerSpec;
    const user = resolveUser(p.user ?? '', p.user ? [] : (spec.additional_groups ?? []), accounts.passwd, accounts.group);
    const env = [...(p.env ?? [])];
    if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/'}`);
    const process: Record<string, unknown> = {
      ...base,
      terminal: Boolean(p.terminal),
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: [...p.args],
      env,
      cwd: p.cwd || '/',
    };
    delete process.consoleSize;
    if (p.terminal && p.console_height && p.console_width) process.consoleSize = { height: p.console_height, width: p.console_width };
    if (p.privileged) {
      const all = capabilitySet({ privileged: true, cap_add: [], cap_drop: [] }, this.host);
      process.capabilities = { bounding: all, effective: all, permitted: all };
    }
    return process;
  }

  /**
   * Removes bundle, active snapshot and record; refused while the shim has a task for it, unless
   * `withTask` and that task has stopped (it is deleted first).
   */
  async delete(id: string, withTask = false): Promise<void> {
    const row = this.row(id);
    let hasTask = true;
    try {
      if (withTask) await this.shim.call('DeleteTask', { id, force: false });
      else await this.shim.call('GetTask', { id });
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not_found') throw err;
      hasTask = false;
    }
    if (withTask) hasTask = false;
    if (hasTask) throw failedPrecondition(`container ${id} has a task: delete the task first`);
    if (mountedUnder(join(this.bundle(id), 'rootfs'))) throw failedPrecondition(`container ${id}: its rootfs is still mounted`);
    await this.images.lock.run(() => {
      const { store, snapshots } = this.images;
      store.transaction(() => {
        store.deleteContainer(id);
        store.deleteSnapshot(row.snapshot_id);
        this.images.events.record('/containers/delete', { container: { id, image: row.image_id } });
      });
      // Both leave their place now; their files are deleted in the background.
      snapshots.trash.throwAway(this.bundle(id));
      snapshots.discard(snapshots.dir(row.snapshot_id));
    });
  }
}

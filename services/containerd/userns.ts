/**
 * Containers in a user namespace of their own (the daemon's userns-remap): the OCI spec's user
 * namespace and id maps, and the rootfs that goes with them without copying any layer.
 *
 * The image's layers stay as they were unpacked (owned by host ids 0…): the monitor idmaps each
 * lower directory onto the container's mapping (a detached idmapped bind mount: open_tree +
 * mount_setattr(MOUNT_ATTR_IDMAP)) and builds the overlay on those, so the container sees its
 * image's owners while every layer is shared with every other container as is. The rootfs mount
 * carries the mapping as `uidmap=C:H:N` / `gidmap=C:H:N` options (one per range, containerd's own
 * option names), which the monitor takes off before mounting.
 *
 * The container's read-write layer (the overlay's upperdir) is not idmapped: what the container
 * writes is owned on the host by its range, as under Docker's userns-remap, and its root directory
 * belongs to the container's root (the range's first id).
 *
 * @example
 *   const mount = withIdmap(snapshots.mount(active, lowers), row.spec_input);
 */
import { chmodSync, chownSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Mount } from '../../common/proto-types/tersane/common/v1/Mount.js';
import type { IdMapping } from '../../common/proto-types/tersane/containerd/v1/IdMapping.js';

interface Mapped {
  uid_mappings?: IdMapping[] | null;
  gid_mappings?: IdMapping[] | null;
}

export function hasUserns(spec: Mapped): boolean {
  return (spec.uid_mappings?.length ?? 0) > 0 && (spec.gid_mappings?.length ?? 0) > 0;
}

/** The OCI spec's linux.uidMappings / gidMappings. */
export function ociMappings(spec: Mapped): { uidMappings: unknown[]; gidMappings: unknown[] } {
  const conv = (m: IdMapping) => ({ containerID: Number(m.container_id), hostID: Number(m.host_id), size: Number(m.size) });
  return { uidMappings: (spec.uid_mappings ?? []).map(conv), gidMappings: (spec.gid_mappings ?? []).map(conv) };
}

/** The host id that a container id maps to, or undefined when it is not mapped. */
export function hostIdOf(maps: IdMapping[] | null | undefined, id: number): number | undefined {
  for (const m of maps ?? []) {
    const c = Number(m.container_id);
    if (id >= c && id < c + Number(m.size)) return Number(m.host_id) + (id - c);
  }
  return undefined;
}

/** The rootfs mount with the idmap options the monitor acts on, when the container has a user namespace. */
export function withIdmap(mount: Mount, specInput: string): Mount {
  // Cheap test first: most containers have no mapping, and the stored spec is parsed only for those that do.
  if (!specInput.includes('"uid_mappings":[{')) return mount;
  const spec = JSON.parse(specInput) as Mapped;
  if (!hasUserns(spec)) return mount;
  const opt = (name: string, maps: IdMapping[]) => maps.map((m) => `${name}=${Number(m.container_id)}:${Number(m.host_id)}:${Number(m.size)}`);
  return { ...mount, options: [...(mount.options ?? []), ...opt('uidmap', spec.uid_mappings!), ...opt('gidmap', spec.gid_mappings!)] };
}

/**
 * The read-write layer's root belongs to the container's root, and the runtime — inside the
 * container's user namespace, as a host id of its range — can reach the bundle: every directory
 * above the bundles gets search permission for others (x only, as Docker's 0711 state dirs).
 */
export function chownUpperForUserns(upper: string, spec: Mapped, bundles: string): void {
  if (!hasUserns(spec)) return;
  const uid = hostIdOf(spec.uid_mappings, 0);
  const gid = hostIdOf(spec.gid_mappings, 0);
  if (uid !== undefined && gid !== undefined) chownSync(upper, uid, gid);
  for (let d = resolve(bundles); ; d = dirname(d)) {
    const st = statSync(d);
    if ((st.mode & 0o001) === 0) chmodSync(d, (st.mode & 0o7777) | 0o001);
    if (d === dirname(d)) break;
  }
}

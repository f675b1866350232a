/**
 * A container's mounts, resolved once at its create, Docker's way and in Docker's order:
 *
 *   1. --volumes-from  the other container's mount points (binds and volumes), ro/rw as asked
 *   2. -v (Binds)      "host-path:dest[:mode]" binds (a missing host directory is made, as Docker
 *                      does) or "name:dest[:mode]" named volumes (made on first use)
 *   3. --mount         type=bind (the source must exist), type=volume, type=tmpfs
 *   4. --tmpfs         tmpfs mounts (in the spec only: Docker's inspect does not list them)
 *   5. VOLUME          the image's (and the create's) volumes not mounted otherwise: anonymous volumes
 *
 * 2–4 may not name the same destination twice ("Duplicate mount point"); they replace 1; 5 fills
 * what is left. The result is the spec's mounts and the records inspect, rm -v and --volumes-from
 * read.
 *
 * @example
 *   const r = resolveMounts({ id, config, hostConfig }, volumes, containers);
 *   r.specs;   // MountSpec[] for containerd
 *   r.records; // MountRow[] for the daemon's records
 */
import { mkdirSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { invalidArgument } from '../../../common/errors.js';
import type { MountSpec } from '../../../common/proto-types/tersane/containerd/v1/MountSpec.js';
import type { DockerConfig, HostConfig, MountConfig } from '../createConfig.js';
import { findContainer } from '../lookup.js';
import type { ContainerStore } from '../store.js';
import type { VolumeService } from './service.js';
import type { MountRow, MountType } from './store.js';

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

export interface ResolvedMounts {
  specs: MountSpec[];
  records: MountRow[];
  /** Volumes this create made (removed again if the create fails). */
  created: string[];
}

interface Pending {
  type: MountType;
  name: string;
  source: string;
  destination: string;
  mode: string;
  rw: boolean;
  propagation: string;
  options: string[];
  copyData: boolean;
  /** Recorded for inspect (--tmpfs entries are not). */
  recorded: boolean;
}

interface ExtendedMountConfig extends MountConfig {
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
}

function cleanPath(p: string): string {
  const n = normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export function resolveMounts(
  input: { id: string; config: DockerConfig; hostConfig: HostConfig },
  volumes: VolumeService,
  containers: ContainerStore,
): ResolvedMounts {
  const { config, hostConfig: h, id } = input;
  const created: string[] = [];
  const byDest = new Map<string, Pending>();
  const explicit = new Set<string>();

  const volume = (name: string, anonymous: boolean, labels?: Record<string, string> | null): { name: string; source: string } => {
    const r = volumes.create({ Name: name, Labels: labels ?? undefined }, anonymous);
    const volName = String(r.doc.Name);
    if (r.created) created.push(volName);
    return { name: volName, source: volumes.ensureDirectory(volName) };
  };

  const addExplicit = (p: Pending) => {
    if (explicit.has(p.destination)) throw invalidArgument(`Duplicate mount point: ${p.destination}`);
    explicit.add(p.destination);
    byDest.set(p.destination, p);
  };

  try {
    // 1. --volumes-from
    for (const spec of (h.VolumesFrom as string[] | null | undefined) ?? []) {
      const [ref, mode = ''] = spec.split(':');
      if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw invalidArgument(`invalid mode for volumes-from: ${mode}`);
      const other = findContainer(containers, ref);
      for (const m of volumes.d.store.mountsOf(other.id)) {
        if (m.type === 'tmpfs') continue;
        const rw = mode === '' ? m.rw === 1 : mode === 'rw';
        byDest.set(m.destination, {
          type: m.type,
          name: m.name,
          source: m.type === 'volume' ? volumes.ensureDirectory(m.name) : m.source,
          destination: m.destination,
          mode: m.mode,
          rw,
          propagation: m.propagation,
          options: JSON.parse(m.options),
          copyData: false,
          recorded: true,
        });
      }
    }

    // 2. -v binds and named volumes
    for (const bind of h.Binds ?? []) addExplicit(parseBind(bind, volume));

    // 3. --mount
    for (const m of (h.Mounts ?? []) as ExtendedMountConfig[]) addExplicit(parseMount(m, volume));

    // 4. --tmpfs
    for (const [dest, opts] of Object.entries(h.Tmpfs ?? {})) {
      if (!isAbsolute(dest)) throw invalidArgument(`invalid mount config for type "tmpfs": invalid mount path: '${dest}' mount path must be absolute`);
      addExplicit({
        type: 'tmpfs',
        name: '',
        source: '',
        destination: cleanPath(dest),
        mode: '',
        rw: !(opts ?? '').split(',').includes('ro'),
        propagation: '',
        options: opts ? opts.split(',') : [],
        copyData: false,
        recorded: false,
      });
    }

    // 5. VOLUME entries nothing else mounts
    for (const dest of Object.keys(config.Volumes ?? {})) {
      if (!isAbsolute(dest)) throw invalidArgument(`invalid mount config for type "volume": invalid mount path: '${dest}' mount path must be absolute`);
      const d = cleanPath(dest);
      if (byDest.has(d)) continue;
      const v = volume('', true);
      byDest.set(d, { type: 'volume', name: v.name, source: v.source, destination: d, mode: '', rw: true, propagation: '', options: [], copyData: true, recorded: true });
    }
  } catch (err) {
    volumes.discard(created);
    throw err;
  }

  const all = [...byDest.values()];
  const specs = all.map(specOf);
  const records: MountRow[] = all
    .filter((p) => p.recorded)
    .map((p, position) => ({
      container_id: id,
      position,
      type: p.type,
      name: p.name,
      source: p.source,
      destination: p.destination,
      mode: p.mode,
      rw: p.rw ? 1 : 0,
      propagation: p.propagation,
      options: JSON.stringify(p.options),
      copy_data: p.copyData ? 1 : 0,
    }));
  return { specs, records, created };
}

function specOf(p: Pending): MountSpec {
  if (p.type === 'tmpfs') {
    const options = ['nosuid', 'nodev', 'noexec', ...p.options.filter((o) => o !== 'ro' && o !== 'rw')];
    if (!p.rw) options.push('ro');
    return { destination: p.destination, type: 'tmpfs', source: 'tmpfs', options };
  }
  return { destination: p.destination, type: 'bind', source: p.source, options: ['rbind', p.propagation || 'rprivate', p.rw ? 'rw' : 'ro'] };
}

type VolumeMaker = (name: string, anonymous: boolean, labels?: Record<string, string> | null) => { name: string; source: string };

/** One -v entry: "src:dest[:mode]" (src a host path or a volume name) or "dest" (anonymous). */
function parseBind(bind: string, volume: VolumeMaker): Pending {
  const parts = bind.split(':');
  if (parts.length > 3 || parts.some((p, i) => p === '' && i < 2)) throw invalidArgument(`invalid volume specification: '${bind}'`);
  if (parts.length === 1) {
    if (!isAbsolute(parts[0])) throw invalidArgument(`invalid volume specification: '${bind}'`);
    const v = volume('', true);
    return { type: 'volume', name: v.name, source: v.source, destination: cleanPath(parts[0]), mode: '', rw: true, propagation: '', options: [], copyData: true, recorded: true };
  }
  const [source, destination, mode = ''] = parts;
  if (!isAbsolute(destination)) {
    throw invalidArgument(`invalid volume specification: '${bind}': invalid mount config for type "${isAbsolute(source) ? 'bind' : 'volume'}": invalid mount path: '${destination}' mount path must be absolute`);
  }
  const flags = mode === '' ? [] : mode.split(',');
  let rw = true;
  let propagation = '';
  let copyData = true;
  for (const f of flags) {
    if (f === 'ro') rw = false;
    else if (f === 'rw') rw = true;
    else if (f === 'z' || f === 'Z') continue;
    else if (f === 'nocopy') copyData = false;
    else if (PROPAGATIONS.includes(f)) propagation = f;
    else throw invalidArgument(`invalid mode: ${mode}`);
  }
  if (isAbsolute(source)) {
    if (!copyData) throw invalidArgument(`invalid mode: ${mode}`);
    // Docker makes a missing host directory for -v (not for --mount).
    try {
      statSync(source);
    } catch {
      mkdirSync(source, { recursive: true, mode: 0o755 });
    }
    return { type: 'bind', name: '', source: cleanPath(source), destination: cleanPath(destination), mode, rw, propagation: propagation || 'rprivate', options: [], copyData: false, recorded: true };
  }
  if (propagation) throw invalidArgument(`invalid mode: ${mode}`);
  const v = volume(source, false);
  return { type: 'volume', name: v.name, source: v.source, destination: cleanPath(destination), mode, rw, propagation: '', options: [], copyData, recorded: true };
}

/** One --mount (HostConfig.Mounts entry), with Docker's validation messages. */
function parseMount(m: ExtendedMountConfig, volume: VolumeMaker): Pending {
  const type = m.Type ?? '';
  const err = (msg: string) => invalidArgument(`invalid mount config for type "${type}": ${msg}`);
  if (!['bind', 'volume', 'tmpfs'].includes(type)) throw invalidArgument(`invalid mount config: mount type unknown: "${type}"`);
  const target = m.Target ?? '';
  if (target === '') throw err('field Target must not be empty');
  if (!isAbsolute(target)) throw err(`invalid mount path: '${target}' mount path must be absolute`);
  const destination = cleanPath(target);
  const rw = m.ReadOnly !== true;
  if (type === 'bind') {
    const source = m.Source ?? '';
    if (source === '') throw err('field Source must not be empty');
    if (m.VolumeOptions) throw err('field VolumeOptions must not be specified');
    if (m.TmpfsOptions) throw err('field TmpfsOptions must not be specified');
    if (!isAbsolute(source)) throw err(`invalid mount path: '${source}' mount path must be absolute`);
    try {
      statSync(source);
    } catch {
      if (!m.BindOptions?.CreateMountpoint) throw err(`bind source path does not exist: ${source}`);
      mkdirSync(source, { recursive: true, mode: 0o755 });
    }
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATIONS.includes(propagation)) throw err(`invalid propagation mode: ${propagation}`);
    return { type: 'bind', name: '', source: cleanPath(source), destination, mode: '', rw, propagation, options: [], copyData: false, recorded: true };
  }
  if (type === 'volume') {
    if (m.BindOptions) throw err('field BindOptions must not be specified');
    if (m.TmpfsOptions) throw err('field TmpfsOptions must not be specified');
    const driver = m.VolumeOptions?.DriverConfig?.Name;
    if (driver && driver !== 'local') throw invalidArgument(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const source = m.Source ?? '';
    const v = volume(source, source === '', m.VolumeOptions?.Labels);
    return { type: 'volume', name: v.name, source: v.source, destination, mode: '', rw, propagation: '', options: [], copyData: m.VolumeOptions?.NoCopy !== true, recorded: true };
  }
  // tmpfs
  if (m.Source) throw err('field Source must not be specified');
  if (m.BindOptions) throw err('field BindOptions must not be specified');
  if (m.VolumeOptions) throw err('field VolumeOptions must not be specified');
  const options: string[] = [];
  const size = m.TmpfsOptions?.SizeBytes ?? 0;
  if (size < 0) throw err('invalid tmpfs size');
  if (size > 0) options.push(`size=${size}`);
  if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
  return { type: 'tmpfs', name: '', source: '', destination, mode: '', rw, propagation: '', options, copyData: false, recorded: true };
}

/** Docker's inspect "Mounts". */
export function mountsDocument(records: MountRow[]): Array<Record<string, unknown>> {
  return records.map((m) => {
    if (m.type === 'volume') {
      return { Type: 'volume', Name: m.name, Source: m.source, Destination: m.destination, Driver: 'local', Mode: m.mode, RW: m.rw === 1, Propagation: '' };
    }
    if (m.type === 'bind') return { Type: 'bind', Source: m.source, Destination: m.destination, Mode: m.mode, RW: m.rw === 1, Propagation: m.propagation };
    return { Type: 'tmpfs', Source: '', Destination: m.destination, Mode: '', RW: m.rw === 1, Propagation: '' };
  });
}

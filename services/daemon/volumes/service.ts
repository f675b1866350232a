/**
 * Docker's volumes with the local driver: each one a directory <daemon state>/volumes/<name>/_data,
 * bind-mounted into the containers that use it. create, inspect, list, remove and prune with
 * Docker's shapes and wording (Docker 28); anonymous volumes (an image's VOLUME, `-v /path`,
 * `--mount type=volume` without a source) carry Docker's com.docker.volume.anonymous label and go
 * with their container on `docker rm -v` and `docker run --rm`.
 *
 * @example
 *   volumes.create({ Name: 'v1' });
 *   volumes.remove('v1', false);   // "remove v1: volume is in use - [<id>]" while a container has it
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, invalidArgument, notFound } from '../../../common/errors.js';
import type { EventBus } from '../../../common/events.js';
import type { Logger } from '../../../common/log.js';
import { nowRfc3339Nano, parseRfc3339Nano } from '../../../common/time.js';
import { recordDockerEvent } from '../dockerEvents.js';
import { boolFilterValue, parseFilters } from '../filters.js';
import type { ContainerStore } from '../store.js';
import type { VolumeRow, VolumeStore } from './store.js';

/** Docker's rule for local volume names. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];
/** Options Docker's local driver knows (a mount it makes itself); this engine does not mount them. */
const LOCAL_DRIVER_OPTIONS = ['type', 'device', 'o', 'size'];

export interface VolumeCreate {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeServiceDeps {
  log: Logger;
  bus: EventBus;
  store: VolumeStore;
  containers: ContainerStore;
  /** <daemon state>/volumes */
  dir: string;
}

export class VolumeService {
  constructor(readonly d: VolumeServiceDeps) {}

  mountpoint(name: string): string {
    return join(this.d.dir, name, '_data');
  }

  /** Creates a volume (or returns the one of that name), Docker's way. */
  create(req: VolumeCreate, anonymous = false): { doc: Record<string, unknown>; created: boolean } {
    const driver = req.Driver || 'local';
    const name = req.Name || randomBytes(32).toString('hex');
    if (!VALID_NAME.test(name)) {
      throw invalidArgument(
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    if (driver !== 'local') throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    for (const key of Object.keys(req.DriverOpts ?? {})) {
      if (!LOCAL_DRIVER_OPTIONS.includes(key)) throw invalidArgument(`create ${name}: invalid option: "${key}"`);
      throw invalidArgument(`create ${name}: driver option "${key}" is not supported by this engine (volumes are plain directories)`);
    }
    const existing = this.d.store.volume(name);
    if (existing) return { doc: this.document(existing), created: false };
    const isAnonymous = anonymous || !req.Name;
    const labels = { ...(req.Labels ?? {}), ...(isAnonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const row: VolumeRow = { name, driver: 'local', created: nowRfc3339Nano(), labels: JSON.stringify(labels), options: '{}', anonymous: isAnonymous ? 1 : 0 };
    mkdirSync(this.mountpoint(name), { recursive: true, mode: 0o755 });
    try {
      this.d.containers.tx(() => {
        this.d.store.insertVolume(row);
        recordDockerEvent(this.d.bus, 'volume', 'create', name, { driver: 'local' });
      });
    } catch (err) {
      rmSync(join(this.d.dir, name), { recursive: true, force: true });
      throw err;
    }
    return { doc: this.document(row), created: true };
  }

  get(name: string): VolumeRow {
    const row = this.d.store.volume(name);
    if (!row) throw notFound(`get ${name}: no such volume`);
    return row;
  }

  inspect(name: string): Record<string, unknown> {
    return this.document(this.get(name));
  }

  list(filtersJson: string): { Volumes: Array<Record<string, unknown>>; Warnings: null } {
    const f = parseFilters(filtersJson, LIST_FILTERS);
    const dangling = f.get('dangling').map((v) => boolFilterValue('dangling', v));
    const volumes = this.d.store
      .volumes()
      .filter((v) => {
        if (!f.matchAny('driver', (x) => x === v.driver)) return false;
        if (!f.matchAny('name', (x) => v.name.includes(x))) return false;
        if (!f.matchLabels('label', JSON.parse(v.labels))) return false;
        if (dangling.length > 0 && dangling.some((d) => d === this.d.store.usersOf(v.name).length > 0)) return false;
        return true;
      })
      .map((v) => this.document(v));
    return { Volumes: volumes, Warnings: null };
  }

  /** Removes a volume no container uses; `force` makes a missing one fine (not one in use). */
  remove(name: string, force: boolean): void {
    const row = this.d.store.volume(name);
    if (!row) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.d.store.usersOf(name);
    if (users.length > 0) throw new EngineError('conflict', `remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.removeRow(row);
  }

  private removeRow(row: VolumeRow): void {
    // The record goes last: a crash in between leaves a row whose directory is re-made on use.
    rmSync(join(this.d.dir, row.name), { recursive: true, force: true });
    this.d.containers.tx(() => {
      this.d.store.deleteVolume(row.name);
      recordDockerEvent(this.d.bus, 'volume', 'destroy', row.name, { driver: row.driver });
    });
  }

  /** Removes the anonymous volumes a removed container leaves unused (rm -v, run --rm). */
  removeAnonymous(names: string[]): void {
    for (const name of names) {
      const row = this.d.store.volume(name);
      if (!row || row.anonymous !== 1 || this.d.store.usersOf(name).length > 0) continue;
      this.removeRow(row);
    }
  }

  /** Removes volumes created for a create that failed (no container refers to them). */
  discard(names: string[]): void {
    for (const name of names) {
      const row = this.d.store.volume(name);
      if (row && this.d.store.usersOf(name).length === 0) this.removeRow(row);
    }
  }

  /** Docker's prune: unused anonymous volumes (all unused ones with all=true, and before API 1.42). */
  prune(filtersJson: string, apiVersion: string): { VolumesDeleted: string[] | null; SpaceReclaimed: number } {
    const f = parseFilters(filtersJson, PRUNE_FILTERS);
    const all = f.get('all').some((v) => boolFilterValue('all', v)) || (apiVersion !== '' && compareApi(apiVersion, '1.42') < 0);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.d.store.volumes()) {
      if (!all && v.anonymous !== 1) continue;
      const labels = JSON.parse(v.labels) as Record<string, string>;
      if (!f.matchLabels('label', labels)) continue;
      if (f.get('label!').some((sel) => labelHolds(sel, labels))) continue;
      if (this.d.store.usersOf(v.name).length > 0) continue;
      reclaimed += diskUsage(join(this.d.dir, v.name));
      this.removeRow(v);
      deleted.push(v.name);
    }
    this.d.containers.tx(() => recordDockerEvent(this.d.bus, 'volume', 'prune', '', { reclaimed: String(reclaimed) }));
    return { VolumesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** A volume directory a record names but that is gone (made again, empty, on use). */
  ensureDirectory(name: string): string {
    const dir = this.mountpoint(name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  document(v: VolumeRow): Record<string, unknown> {
    const labels = JSON.parse(v.labels) as Record<string, string>;
    const options = JSON.parse(v.options) as Record<string, string>;
    return {
      CreatedAt: toDockerTime(v.created),
      Driver: v.driver,
      Labels: Object.keys(labels).length > 0 ? labels : null,
      Mountpoint: this.mountpoint(v.name),
      Name: v.name,
      Options: Object.keys(options).length > 0 ? options : null,
      Scope: 'local',
    };
  }
}

/** Docker shows a volume's creation time to the second with the zone offset ("2024-01-01T10:00:00Z"). */
function toDockerTime(rfc: string): string {
  try {
    const ms = Number(parseRfc3339Nano(rfc) / 1_000_000n);
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  } catch {
    return rfc;
  }
}

function labelHolds(sel: string, labels: Record<string, string>): boolean {
  const eq = sel.indexOf('=');
  if (eq < 0) return sel in labels;
  return labels[sel.slice(0, eq)] === sel.slice(eq + 1);
}

function compareApi(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

/** Bytes of file data under a directory (what a prune reclaims). */
function diskUsage(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else if (st.isFile()) total += st.size;
  };
  walk(path);
  return total;
}

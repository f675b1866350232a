/**
 * The volume tables of the daemon's database (appended to DAEMON_MIGRATIONS in ../store.ts):
 *
 *   volumes           Docker's volumes (local driver): name, labels, options, whether anonymous
 *   container_mounts  each container's mount points as resolved at its create (binds, volumes —
 *                     named, anonymous, from --volumes-from — and --mount tmpfs): what inspect shows,
 *                     what --volumes-from copies, what makes a volume "in use"
 *
 * @example
 *   store.usersOf('v1'); // ["<container id>", …]
 */
import type { Db } from '../../../common/db.js';

export const VOLUME_MIGRATION = `
  CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    created TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    anonymous INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE container_mounts (
    container_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    destination TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT '',
    rw INTEGER NOT NULL DEFAULT 1,
    propagation TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '[]',
    copy_data INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (container_id, destination)
  );
  CREATE INDEX container_mounts_volume ON container_mounts (name);`;

export interface VolumeRow {
  name: string;
  driver: string;
  created: string;
  labels: string;
  options: string;
  anonymous: number;
}

export type MountType = 'bind' | 'volume' | 'tmpfs';

export interface MountRow {
  container_id: string;
  position: number;
  type: MountType;
  /** The volume's name (volumes only). */
  name: string;
  /** The host path (binds), the volume's _data directory (volumes), "" (tmpfs). */
  source: string;
  destination: string;
  /** Docker's Mode ("ro", "z", "" …) as the user gave it. */
  mode: string;
  rw: number;
  propagation: string;
  /** JSON array of extra mount(8) options (tmpfs size and mode). */
  options: string;
  /** Fill the volume from the image's content at its destination while it is empty. */
  copy_data: number;
}

export class VolumeStore {
  constructor(readonly db: Db) {}

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  volumes(): VolumeRow[] {
    return this.db.prepare(`SELECT * FROM volumes ORDER BY name`).all() as VolumeRow[];
  }

  volume(name: string): VolumeRow | undefined {
    return this.db.prepare(`SELECT * FROM volumes WHERE name = ?`).get(name) as VolumeRow | undefined;
  }

  insertVolume(row: VolumeRow): void {
    this.db.prepare(`INSERT INTO volumes (name, driver, created, labels, options, anonymous) VALUES (@name, @driver, @created, @labels, @options, @anonymous)`).run(row);
  }

  deleteVolume(name: string): void {
    this.db.prepare(`DELETE FROM volumes WHERE name = ?`).run(name);
  }

  mountsOf(containerId: string): MountRow[] {
    return this.db.prepare(`SELECT * FROM container_mounts WHERE container_id = ? ORDER BY position`).all(containerId) as MountRow[];
  }

  /** The containers whose mounts name the volume. */
  usersOf(name: string): string[] {
    return this.db.prepare(`SELECT DISTINCT container_id FROM container_mounts WHERE type = 'volume' AND name = ? ORDER BY container_id`).pluck().all(name) as string[];
  }

  allMounts(): MountRow[] {
    return this.db.prepare(`SELECT * FROM container_mounts`).all() as MountRow[];
  }

  insertMount(row: MountRow): void {
    this.db
      .prepare(
        `INSERT INTO container_mounts (container_id, position, type, name, source, destination, mode, rw, propagation, options, copy_data)
         VALUES (@container_id, @position, @type, @name, @source, @destination, @mode, @rw, @propagation, @options, @copy_data)`,
      )
      .run(row);
  }

  deleteMountsOf(containerId: string): void {
    this.db.prepare(`DELETE FROM container_mounts WHERE container_id = ?`).run(containerId);
  }
}

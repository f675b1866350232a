/**
 * The daemon's own SQLite: one row per container (Docker's object: name, merged config, host
 * config, state). Nobody else reads this database; each state change is one transaction, with
 * the Docker event announcing it recorded in the same transaction (common/events.ts outbox).
 *
 * States are Docker's (created, running, paused, restarting, removing, exited, dead) plus one of
 * ours: `creating`, a row that reserves its name while the container is being prepared and that
 * no reader sees. `transition = 'starting'` marks a start in flight (the state stays what it was,
 * as Docker's does), so a daemon killed mid-start finishes or undoes it on its next start.
 */
import type { Db } from '../../common/db.js';
import { ZERO_TIME } from '../../common/time.js';
import { ENDPOINT_MAC_MIGRATION, NETWORK_MIGRATION } from './network/store.js';
import { VOLUME_MIGRATION } from './volumes/store.js';

export const DAEMON_MIGRATIONS: readonly string[] = [
  `CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image TEXT NOT NULL,
     image_id TEXT NOT NULL,
     created TEXT NOT NULL,
     created_ns INTEGER NOT NULL,
     path TEXT NOT NULL,
     args TEXT NOT NULL,
     config TEXT NOT NULL,
     host_config TEXT NOT NULL,
     networking_config TEXT NOT NULL,
     status TEXT NOT NULL,
     transition TEXT,
     pid INTEGER NOT NULL DEFAULT 0,
     exit_code INTEGER NOT NULL DEFAULT 0,
     error TEXT NOT NULL DEFAULT '',
     oom_killed INTEGER NOT NULL DEFAULT 0,
     started_at TEXT NOT NULL DEFAULT '${ZERO_TIME}',
     finished_at TEXT NOT NULL DEFAULT '${ZERO_TIME}',
     restart_count INTEGER NOT NULL DEFAULT 0,
     manually_stopped INTEGER NOT NULL DEFAULT 0,
     runtime TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX containers_image ON containers (image_id);`,
  // Docker's State.Health (JSON), for containers with a healthcheck; NULL otherwise.
  `ALTER TABLE containers ADD COLUMN health TEXT`,
  // Networks, endpoints, published ports (network/store.ts); volumes and mount points (volumes/store.ts).
  NETWORK_MIGRATION,
  VOLUME_MIGRATION,
  ENDPOINT_MAC_MIGRATION,
];

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerRow {
  id: string;
  /** With the leading "/". */
  name: string;
  /** The image as the user gave it. */
  image: string;
  image_id: string;
  created: string;
  created_ns: number;
  path: string;
  args: string;
  config: string;
  host_config: string;
  networking_config: string;
  status: ContainerStatus;
  transition: string | null;
  pid: number;
  exit_code: number;
  error: string;
  oom_killed: number;
  started_at: string;
  finished_at: string;
  restart_count: number;
  manually_stopped: number;
  runtime: string;
  /** State.Health as JSON (added by a later migration: absent on rows built in memory). */
  health?: string | null;
}

export type StateFields = Partial<
  Pick<
    ContainerRow,
    | 'status' | 'transition' | 'pid' | 'exit_code' | 'error' | 'oom_killed' | 'started_at' | 'finished_at' | 'restart_count' | 'manually_stopped'
    | 'host_config' | 'health'
  >
>;

const COLUMNS = [
  'id', 'name', 'image', 'image_id', 'created', 'created_ns', 'path', 'args', 'config', 'host_config',
  'networking_config', 'status', 'transition', 'pid', 'exit_code', 'error', 'oom_killed', 'started_at',
  'finished_at', 'restart_count', 'manually_stopped', 'runtime',
] as const;

export class ContainerStore {
  private readonly byId;
  private readonly byName;
  private readonly byPrefix;
  private readonly visible;
  private readonly everything;
  private readonly insertRow;
  private readonly deleteRow;
  private readonly byImage;

  constructor(readonly db: Db) {
    this.byId = db.prepare(`SELECT * FROM containers WHERE id = ?`);
    this.byName = db.prepare(`SELECT * FROM containers WHERE name = ?`);
    // Prefix lookup: ids are lowercase hex, so a range scan on the primary key is exact.
    this.byPrefix = db.prepare(`SELECT * FROM containers WHERE id >= ? AND id < ? AND status != 'creating' LIMIT 2`);
    this.visible = db.prepare(`SELECT * FROM containers WHERE status != 'creating' ORDER BY created_ns DESC`);
    this.everything = db.prepare(`SELECT * FROM containers`);
    this.insertRow = db.prepare(`INSERT INTO containers (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
    this.deleteRow = db.prepare(`DELETE FROM containers WHERE id = ?`);
    this.byImage = db.prepare(`SELECT * FROM containers WHERE image_id = ? AND status != 'creating'`);
  }

  get(id: string): ContainerRow | undefined {
    return this.byId.get(id) as ContainerRow | undefined;
  }

  getByName(name: string): ContainerRow | undefined {
    return this.byName.get(name) as ContainerRow | undefined;
  }

  /** Up to two visible rows whose id starts with `prefix` (two means ambiguous). */
  getByPrefix(prefix: string): ContainerRow[] {
    return this.byPrefix.all(prefix, prefix + '\uffff') as ContainerRow[];
  }

  /** Every container a reader may see, newest first. */
  list(): ContainerRow[] {
    return this.visible.all() as ContainerRow[];
  }

  /** Every row, including those being created (for reconciliation). */
  all(): ContainerRow[] {
    return this.everything.all() as ContainerRow[];
  }

  usingImage(imageId: string): ContainerRow[] {
    return this.byImage.all(imageId) as ContainerRow[];
  }

  insert(row: ContainerRow): void {
    this.insertRow.run(row);
  }

  update(id: string, fields: StateFields): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE containers SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
  }

  delete(id: string): void {
    this.deleteRow.run(id);
  }

  /** docker rename: the new name (with its "/"); UNIQUE keeps two containers from sharing it. */
  rename(id: string, name: string): void {
    this.db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
  }

  /** Runs `fn` as one transaction. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

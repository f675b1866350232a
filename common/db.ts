/**
 * SQLite for a layer's own state (better-sqlite3, WAL).
 *
 * Durability policy: WAL with synchronous=NORMAL. A commit survives a kill -9 of the process (it is
 * in the WAL, in the kernel's page cache) and the database is always consistent; a power loss may
 * drop the last commits, which reconciliation against the kernel's reality repairs — after a power
 * loss no container is running anyway. Each state change is one transaction.
 *
 * @example
 *   const db = openDatabase('/var/lib/tersane/daemon/daemon.db', [
 *     'CREATE TABLE containers (id TEXT PRIMARY KEY, ...)',
 *   ]);
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the database and applies, in order, each migration not applied yet
 * (tracked in PRAGMA user_version). Migrations are append-only: never edit one that has shipped.
 */
export function openDatabase(file: string, migrations: readonly string[]): Db {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  reusePreparedStatements(db);
  const all = [...BASE_MIGRATIONS, ...migrations.map((sql) => ({ sql }))];
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (let i = applied; i < all.length; i++) {
    db.transaction(() => {
      db.exec(all[i].sql);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return db;
}

/** Distinct SQL texts whose statements are kept (the stores' are fixed; a few are built per call). */
const STATEMENT_CACHE_MAX = 512;

/**
 * Makes db.prepare hand out the statement already compiled for the same SQL: the stores prepare
 * where they run a query, and compiling it again each time cost the daemon milliseconds of CPU per
 * container. A statement comes back in its default modes (not plucked, raw or expanded); one busy
 * in an iteration is not shared.
 */
function reusePreparedStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    const kept = cache.get(sql);
    if (kept && !kept.busy) {
      if (kept.reader) kept.pluck(false).raw(false).expand(false);
      return kept;
    }
    const stmt = compile(sql);
    if (!kept) {
      if (cache.size >= STATEMENT_CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  }) as Db['prepare'];
}

/** Tables every layer's database has: its identity and its event outbox (see common/events.ts). */
const BASE_MIGRATIONS = [
  {
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta (key, value) VALUES ('instance', '${randomUUID()}');
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL
      );`,
  },
];

export function metaValue(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

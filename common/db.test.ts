/**
 * The layers' SQLite: migrations applied once, in order, and prepared statements reused without one
 * call site's modes leaking into another's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';

const dir = mkdtempSync('/tmp/tsn-db-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('applies each migration once, in order', () => {
    const file = join(dir, 'm.db');
    const migrations = ['CREATE TABLE t (n INTEGER)', 'INSERT INTO t (n) VALUES (1)'];
    openDatabase(file, migrations).close();
    const db = openDatabase(file, [...migrations, 'INSERT INTO t (n) VALUES (2)']);
    expect(db.prepare('SELECT n FROM t ORDER BY n').pluck().all()).toEqual([1, 2]);
    db.close();
  });

  it('hands out the compiled statement again, in its default modes', () => {
    const db = openDatabase(join(dir, 's.db'), ['CREATE TABLE t (n INTEGER)', 'INSERT INTO t (n) VALUES (7), (8)']);
    const sql = 'SELECT n FROM t ORDER BY n';
    const plucked = db.prepare(sql).pluck();
    expect(plucked.all()).toEqual([7, 8]);
    const again = db.prepare(sql);
    expect(again).toBe(plucked);
    expect(again.all()).toEqual([{ n: 7 }, { n: 8 }]);
    expect(db.prepare(sql).raw().all()).toEqual([[7], [8]]);
    expect(db.prepare(sql).get()).toEqual({ n: 7 });
    db.close();
  });

  it('compiles a fresh statement while the kept one is iterating', () => {
    const db = openDatabase(join(dir, 'i.db'), ['CREATE TABLE t (n INTEGER)', 'INSERT INTO t (n) VALUES (1), (2)']);
    const sql = 'SELECT n FROM t ORDER BY n';
    const seen: number[] = [];
    for (const row of db.prepare(sql).iterate() as Iterable<{ n: number }>) {
      seen.push(row.n, (db.prepare(sql).all() as Array<{ n: number }>).length);
    }
    expect(seen).toEqual([1, 2, 2, 2]);
    db.close();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../common/db.js';
import { ZERO_TIME } from '../../common/time.js';
import { findContainer } from './lookup.js';
import { ContainerStore, DAEMON_MIGRATIONS, type ContainerRow } from './store.js';

let dir: string;
let db: Db;
let store: ContainerStore;

function row(id: string, name: string, status: ContainerRow['status'] = 'created'): ContainerRow {
  return {
    id, name, image: 'busybox', image_id: 'sha256:' + 'f'.repeat(64), created: ZERO_TIME, created_ns: 0, path: 'sh', args: '[]',
    config: '{}', host_config: '{}', networking_config: '{}', status, transition: null, pid: 0, exit_code: 0, error: '',
    oom_killed: 0, started_at: ZERO_TIME, finished_at: ZERO_TIME, restart_count: 0, manually_stopped: 0, runtime: 'tersane',
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tersane-lookup-'));
  db = openDatabase(join(dir, 'daemon.db'), DAEMON_MIGRATIONS);
  store = new ContainerStore(db);
  store.insert(row('abc1' + '0'.repeat(60), '/first'));
  store.insert(row('abc2' + '0'.repeat(60), '/second'));
  store.insert(row('def0' + '0'.repeat(60), '/abc1'));
  store.insert(row('eee0' + '0'.repeat(60), '/hidden', 'creating'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('findContainer (Docker GetContainer)', () => {
  it('finds by full id, by name with or without slash, by unique prefix', () => {
    expect(findContainer(store, 'abc1' + '0'.repeat(60)).name).toBe('/first');
    expect(findContainer(store, 'second').name).toBe('/second');
    expect(findContainer(store, '/second').name).toBe('/second');
    expect(findContainer(store, 'de').name).toBe('/abc1');
  });

  it('prefers a name over an id prefix', () => {
    expect(findContainer(store, 'abc1').name).toBe('/abc1');
  });

  it("reports ambiguous prefixes and unknown containers in Docker's words", () => {
    expect(() => findContainer(store, 'abc')).toThrow('multiple IDs found with provided prefix: abc');
    expect(() => findContainer(store, 'nope')).toThrow('No such container: nope');
    expect(() => findContainer(store, '')).toThrow('No such container: ');
  });

  it('never shows a container still being created', () => {
    expect(() => findContainer(store, 'hidden')).toThrow('No such container: hidden');
    expect(() => findContainer(store, 'eee')).toThrow('No such container: eee');
  });
});

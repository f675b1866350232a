/**
 * The shim's own state: one row per task. The monitor's files are the truth about a container
 * (is it alive, how did it exit); this table is what the shim promised its callers, reconciled
 * with those files when the shim starts.
 */
import type { Db } from '../../common/db.js';
import type { ExitStatus } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';

export const SHIM_MIGRATIONS = [
  `CREATE TABLE tasks (
     id TEXT PRIMARY KEY,
     -- creating: the monitor is being started; created: waits for start; running; stopped
     status TEXT NOT NULL,
     bundle TEXT NOT NULL,
     runtime TEXT NOT NULL,
     terminal INTEGER NOT NULL,
     stdin INTEGER NOT NULL,
     state_dir TEXT NOT NULL,
     pid INTEGER NOT NULL DEFAULT 0,
     monitor_pid INTEGER NOT NULL DEFAULT 0,
     exit TEXT,
     create_begin_ns INTEGER NOT NULL DEFAULT 0,
     create_end_ns INTEGER NOT NULL DEFAULT 0,
     start_begin_ns INTEGER NOT NULL DEFAULT 0,
     start_end_ns INTEGER NOT NULL DEFAULT 0
   )`,
];

export type TaskStatus = 'creating' | 'created' | 'running' | 'stopped';

export interface TaskRow {
  id: string;
  status: TaskStatus;
  bundle: string;
  runtime: string;
  terminal: number;
  stdin: number;
  state_dir: string;
  pid: number;
  monitor_pid: number;
  exit: string | null;
  create_begin_ns: number;
  create_end_ns: number;
  start_begin_ns: number;
  start_end_ns: number;
}

export class TaskStore {
  private readonly getStmt;
  private readonly allStmt;
  private readonly insertStmt;
  private readonly createdStmt;
  private readonly startedStmt;
  private readonly stoppedStmt;
  private readonly deleteStmt;

  constructor(readonly db: Db) {
    this.getStmt = db.prepare('SELECT * FROM tasks WHERE id = ?');
    this.allStmt = db.prepare('SELECT * FROM tasks ORDER BY rowid');
    this.insertStmt = db.prepare(
      `INSERT INTO tasks (id, status, bundle, runtime, terminal, stdin, state_dir) VALUES (?, 'creating', ?, ?, ?, ?, ?)`,
    );
    this.createdStmt = db.prepare(
      `UPDATE tasks SET status = 'created', pid = ?, monitor_pid = ?, create_begin_ns = ?, create_end_ns = ? WHERE id = ? AND status = 'creating'`,
    );
    this.startedStmt = db.prepare(
      `UPDATE tasks SET status = 'running', start_begin_ns = ?, start_end_ns = ? WHERE id = ? AND status = 'created'`,
    );
    this.stoppedStmt = db.prepare(`UPDATE tasks SET status = 'stopped', exit = ? WHERE id = ? AND status != 'stopped'`);
    this.deleteStmt = db.prepare('DELETE FROM tasks WHERE id = ?');
  }

  get(id: string): TaskRow | undefined {
    return this.getStmt.get(id) as TaskRow | undefined;
  }

  all(): TaskRow[] {
    return this.allStmt.all() as TaskRow[];
  }

  insertCreating(t: Pick<TaskRow, 'id' | 'bundle' | 'runtime' | 'terminal' | 'stdin' | 'state_dir'>): void {
    this.insertStmt.run(t.id, t.bundle, t.runtime, t.terminal, t.stdin, t.state_dir);
  }

  markCreated(id: string, pid: number, monitorPid: number, beginNs: number, endNs: number): void {
    this.createdStmt.run(pid, monitorPid, beginNs, endNs, id);
  }

  markRunning(id: string, beginNs: number, endNs: number): void {
    this.startedStmt.run(beginNs, endNs, id);
  }

  /** True when this call made the task stopped (false: it already was). */
  markStopped(id: string, exit: ExitStatus): boolean {
    return this.stoppedStmt.run(JSON.stringify(exit), id).changes > 0;
  }

  delete(id: string): void {
    this.deleteStmt.run(id);
  }
}

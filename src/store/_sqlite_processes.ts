/**
 * The `processes` table of the SQLite store: the process groups of a run's tasks while they
 * run (see `ProcessRecord`). Each function runs inside the caller's read or write.
 *
 * @module
 */

import type { SqliteConnection } from "./_sqlite_connection.ts";
import type { ProcessRecord } from "./store.ts";

type Row = Record<string, unknown>;

/** Records a group (again: its task, identity and start replace the old ones). */
export function insertProcess(conn: SqliteConnection, p: ProcessRecord): void {
  conn.stmt(
    `INSERT INTO processes (run_id, host, pgid, task_id, identity, started_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, host, pgid) DO UPDATE SET task_id = excluded.task_id,
       identity = excluded.identity, started_at = excluded.started_at`,
  ).run(p.runId, p.host, p.pgid, p.taskId, p.identity, p.startedAt);
}

/** Forgets a group. */
export function deleteProcess(
  conn: SqliteConnection,
  p: Pick<ProcessRecord, "runId" | "host" | "pgid">,
): void {
  conn.stmt("DELETE FROM processes WHERE run_id = ? AND host = ? AND pgid = ?")
    .run(p.runId, p.host, p.pgid);
}

/** A run's groups, oldest first. */
export function selectProcesses(conn: SqliteConnection, runId: string): ProcessRecord[] {
  const rows = conn.stmt(
    "SELECT * FROM processes WHERE run_id = ? ORDER BY started_at, host, pgid",
  ).all(runId) as Row[];
  return rows.map((r) => ({
    runId: r.run_id as string,
    taskId: r.task_id as string,
    host: r.host as string,
    pgid: Number(r.pgid),
    identity: r.identity as string,
    startedAt: r.started_at as string,
  }));
}

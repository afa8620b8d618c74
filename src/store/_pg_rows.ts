/**
 * The PostgreSQL store's rows as the API gives them: a run (with its lease's holder while it
 * runs, or `interrupted` when nobody holds it) and a recorded process group.
 *
 * @module
 */

import type { RunStatus } from "../core/events.ts";
import { fromJson } from "./_journal.ts";
import type { ProcessRecord, RunRow, StateEntry } from "./store.ts";

type Row = Record<string, unknown>;

/** ISO text of a timestamptz as the driver gives it. */
export function date(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

/** A run's row as read with its lease's holder (see `runWithOwner` in `_pg_statements.ts`). */
export function runRow(r: Row): RunRow {
  const running = r.status === "running";
  const row: RunRow = {
    runId: r.run_id as string,
    flow: r.flow as string,
    status: running && r.owner_pid === null ? "interrupted" : r.status as RunStatus,
    params: JSON.parse(r.params as string),
    startedAt: date(r.started_at),
    updatedAt: date(r.updated_at),
  };
  if (r.finished_at !== null) row.finishedAt = date(r.finished_at);
  if (r.error !== null) row.error = r.error as string;
  if (r.result !== null) row.result = JSON.parse(r.result as string);
  if (r.flow_file !== null) row.flowFile = r.flow_file as string;
  if (r.flow_hash !== null) row.flowHash = r.flow_hash as string;
  if (r.pid !== null) row.pid = r.pid as number;
  if (r.host !== null) row.host = r.host as string;
  if (r.cancel_requested === true) row.cancelRequested = true;
  if (r.retry_of !== null) row.retryOf = r.retry_of as string;
  if (running && r.owner_pid !== null) {
    row.owner = {
      pid: r.owner_pid as number,
      host: r.owner_host as string,
      since: r.owner_since as string,
    };
  }
  return row;
}

/** A row of the `processes` table. */
export function processRow(r: Row): ProcessRecord {
  return {
    runId: r.run_id as string,
    taskId: r.task_id as string,
    host: r.host as string,
    pgid: Number(r.pgid),
    identity: r.identity as string,
    startedAt: date(r.started_at),
  };
}

/** A row of the state table, as the Store port gives it. */
export function stateEntry(r: Row): StateEntry {
  return {
    key: r.key as string,
    value: fromJson(r.value as string | null),
    ...(r.expires_at === null ? {} : { expiresAt: Number(r.expires_at) }),
  };
}

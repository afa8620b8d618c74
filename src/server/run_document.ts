/**
 * A recorded run as the API gives it: the document of `orchestra run --json` (the same fields
 * in the same order), read from the store, with what started it.
 *
 * @module
 */

import type { RunRow, TaskRow } from "../store/store.ts";
import type { Trigger } from "./runner_protocol.ts";

/** One task of a run document. */
function taskDocument(t: TaskRow): Record<string, unknown> {
  return {
    id: t.taskId,
    name: t.name,
    status: t.status,
    attempts: t.attempts,
    needs: t.needs,
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
    ...(t.result !== undefined ? { result: t.result } : {}),
    ...(t.error !== undefined ? { error: t.error } : {}),
    ...(t.reason !== undefined ? { reason: t.reason } : {}),
    ...(t.cacheKey !== undefined ? { cacheKey: t.cacheKey } : {}),
    ...(t.group !== undefined ? { group: t.group } : {}),
    ...(t.kind === "map" ? { kind: "map", items: t.items ?? 0 } : {}),
  };
}

/** The run's summary, for lists: no tasks. */
export function runSummary(row: RunRow, trigger?: Trigger): Record<string, unknown> {
  return {
    runId: row.runId,
    flow: row.flow,
    status: row.status,
    params: row.params,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt ?? null,
    ...(row.error !== undefined ? { error: row.error } : {}),
    ...(trigger ? { trigger } : {}),
  };
}

/** The whole document: the `--json` record of the run, its trigger, its tasks. */
export function runDocument(
  row: RunRow,
  tasks: readonly TaskRow[],
  trigger?: Trigger,
): Record<string, unknown> {
  return {
    runId: row.runId,
    flow: row.flow,
    status: row.status,
    result: row.result ?? null,
    params: row.params,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt ?? null,
    ...(row.error !== undefined ? { error: row.error } : {}),
    ...(trigger ? { trigger } : {}),
    tasks: tasks.map(taskDocument),
  };
}

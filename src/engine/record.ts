/**
 * The run record: the document `orchestra run --json` prints and `flow.run()` resolves with,
 * built from the run's nodes (map groups followed by their items).
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { RunStatus } from "../core/events.ts";
import { CACHED, FAILED, type Node, STATUS, SUCCEEDED } from "./node.ts";
import type { RunRecord, TaskRecord } from "./types.ts";

let lastMs = NaN;
let lastIso = "";

/**
 * The ISO text of a time, remembering the last one: the events of one tick mostly share it.
 *
 * @example
 * ```ts
 * import { iso } from "./record.ts";
 * console.assert(iso(0) === "1970-01-01T00:00:00.000Z");
 * ```
 */
export function iso(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The record of one task call. */
export function taskRecord(node: Node): TaskRecord {
  const r: TaskRecord = {
    id: node.id,
    name: node.config.name,
    status: STATUS[node.state],
    attempts: node.attempts,
  };
  if (node.startedAt >= 0) r.startedAt = iso(node.startedAt);
  if (node.finishedAt >= 0) r.finishedAt = iso(node.finishedAt);
  if ((node.state === SUCCEEDED || node.state === CACHED) && node.value !== undefined) {
    r.result = node.value;
  }
  if (node.state === FAILED) r.error = errorMessage(node.error);
  if (node.reason !== undefined) r.reason = node.reason;
  if (node.cacheKey !== undefined && node.state === CACHED) r.cacheKey = node.cacheKey;
  if (node.group !== null) r.group = node.group.id;
  if (node.map?.items) r.items = node.map.items.length;
  if (node.logs) r.logs = node.logs;
  return r;
}

/** What a run record says about the run itself. */
export interface RunSummary {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** Its params. */
  params: Record<string, unknown>;
  /** When it started (ms). */
  startedAt: number;
  /** When it finished (ms). */
  finishedAt: number;
  /** The body's result with references resolved (kept when the run succeeded). */
  result: unknown;
}

/** The record of a run whose nodes are `nodes`, in call order. */
export function runRecord(
  run: RunSummary,
  nodes: readonly Node[],
  status: Exclude<RunStatus, "running">,
  error?: string,
): RunRecord {
  const tasks: TaskRecord[] = [];
  for (const node of nodes) {
    if (node.group !== null) continue;
    tasks.push(taskRecord(node));
    const items = node.map?.items;
    if (items) { for (const item of items) tasks.push(taskRecord(item)); }
  }
  const record: RunRecord = {
    runId: run.runId,
    flow: run.flow,
    status,
    result: status === "succeeded" ? run.result : undefined,
    params: run.params,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    tasks,
  };
  if (error !== undefined) record.error = error;
  return record;
}

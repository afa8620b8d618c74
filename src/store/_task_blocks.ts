/**
 * Task rows as the SQLite store keeps them in `task_blocks`: JSON arrays of rows in the shape
 * `getTasks` returns (without `runId`), and the rules of `mergeTask()` in `_journal.ts` applied
 * to them. Also how long such a text, or a journal row, may get.
 *
 * @module
 */

import type { TaskStatus } from "../core/events.ts";
import type { TaskPatch } from "./_journal.ts";
import type { TaskRow } from "./store.ts";

/** At most this many tasks in a new block. */
export const BLOCK_TASKS = 1024;

/**
 * The JSON text of a journal row or a block stays under this many characters unless it holds
 * a single event or task: large results must not add up past what a string or a row can hold.
 */
export const MAX_TEXT = 8 << 20;

/**
 * Splits `from`..`to` into ranges whose `text` stays under {@linkcode MAX_TEXT} characters (or
 * holds one item), halving a range that is too long, or too long for a string at all.
 */
export function pieces(
  from: number,
  to: number,
  text: (from: number, to: number) => string,
): [from: number, to: number, text: string][] {
  let t: string | undefined;
  try {
    t = text(from, to);
  } catch (e) {
    if (!(e instanceof RangeError) || to - from === 1) throw e;
  }
  if (t !== undefined && (t.length < MAX_TEXT || to - from === 1)) return [[from, to, t]];
  const mid = (from + to) >>> 1;
  return [...pieces(from, mid, text), ...pieces(mid, to, text)];
}

const RESET_FIELDS = [
  "startedAt",
  "finishedAt",
  "result",
  "error",
  "reason",
  "cacheKey",
  "items",
] as const;

/** Sets a task's row back to pending, as if it had never run (`reopenRun`'s reset). */
export function resetRow(row: TaskRow): void {
  row.status = "pending";
  row.attempts = 0;
  for (const k of RESET_FIELDS) delete row[k];
}

/**
 * The JSON text of a new task's row (without runId), built from the patch's JSON texts: the
 * row `mergeTask()` in `_journal.ts` makes from no row, in the API's shape.
 */
export function newRowJson(p: TaskPatch): string {
  let s = `{"taskId":${JSON.stringify(p.taskId)},"name":${JSON.stringify(p.name)},"kind":"${
    p.created ? p.kind : "task"
  }","needs":${p.created && p.needs !== null ? p.needs : "[]"},"status":"${
    p.status ?? "pending"
  }","attempts":${p.attempts},"seq":${p.first}`;
  if (p.startedAt !== null) s += `,"startedAt":${JSON.stringify(p.startedAt)}`;
  if (p.finishedAt !== null) s += `,"finishedAt":${JSON.stringify(p.finishedAt)}`;
  if (p.result !== null) s += `,"result":${p.result}`;
  if (p.error !== null) s += `,"error":${JSON.stringify(p.error)}`;
  if (p.reason !== null) s += `,"reason":${JSON.stringify(p.reason)}`;
  if (p.cacheKey !== null) s += `,"cacheKey":${JSON.stringify(p.cacheKey)}`;
  if (p.created && p.group !== null) s += `,"group":${JSON.stringify(p.group)}`;
  if (p.items !== null) s += `,"items":${p.items}`;
  return s + "}";
}

/** `mergeTask()` of `_journal.ts` on a row in the API's shape. */
export function applyPatch(row: TaskRow, p: TaskPatch): void {
  const r = row as unknown as Record<string, unknown>;
  row.name = p.name;
  if (p.created) {
    row.kind = p.kind;
    row.needs = p.needs === null ? [] : JSON.parse(p.needs);
    setOrDelete(r, "group", p.group);
  }
  if (p.status !== null) {
    row.status = p.status as TaskStatus;
    setOrDelete(r, "finishedAt", p.finishedAt);
    if (p.result === null) delete row.result;
    else row.result = JSON.parse(p.result);
    setOrDelete(r, "error", p.error);
    setOrDelete(r, "reason", p.reason);
    setOrDelete(r, "cacheKey", p.cacheKey);
  }
  if (p.attempts > row.attempts) row.attempts = p.attempts;
  if (row.startedAt === undefined && p.startedAt !== null) row.startedAt = p.startedAt;
  if (p.items !== null) row.items = p.items;
}

function setOrDelete(r: Record<string, unknown>, key: string, value: string | null): void {
  if (value === null) delete r[key];
  else r[key] = value;
}

/**
 * Task rows as the SQLite store keeps them in `task_blocks`: JSON arrays of rows (format 2:
 * tuples; format 1, written by schema version 2: objects in the shape `getTasks` returns,
 * without `runId`). Also how long such a text, or a journal row, may get.
 *
 * @module
 */

import { derivedName } from "./_journal_codec.ts";
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

/** The format of the blocks this code writes (the `task_blocks.format` column). */
export const BLOCK_FORMAT = 2;

// Format 2 keeps a row as a tuple, without the keys that format 1 (rows as objects) repeated:
// [taskId, name or 0, kind, needs, status, attempts, seq, startedAt or 0, finishedAt or 0,
//  {error, reason, cacheKey, group, items, argsHash} or 0, result (left off when absent)]
// The name is 0 when it is the one derived from the id (see `_journal_codec.ts`).

const EXTRAS = ["error", "reason", "cacheKey", "group", "items", "argsHash"] as const;

/** The text (format 2) of a block of rows (without runId). */
export function blockText(rows: readonly TaskRow[]): string {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    let extras: Record<string, unknown> | 0 = 0;
    for (const k of EXTRAS) {
      if (r[k] !== undefined) (extras ||= {})[k] = r[k];
    }
    const t: unknown[] = [
      r.taskId,
      derivedName(r.taskId) === r.name ? 0 : r.name,
      r.kind,
      r.needs,
      r.status,
      r.attempts,
      r.seq,
      r.startedAt ?? 0,
      r.finishedAt ?? 0,
      extras,
    ];
    if (r.result !== undefined) t.push(r.result);
    out[i] = t;
  }
  return JSON.stringify(out);
}

/**
 * The rows of a block's text in either format, with the given runId (the blocks do not hold it;
 * set it here rather than on the rows after, so that they are made in their final shape).
 */
export function blockRows(text: string, format: number, runId = ""): TaskRow[] {
  const parsed = JSON.parse(text) as unknown[];
  if (format === 1) {
    for (let i = 0; i < parsed.length; i++) (parsed[i] as TaskRow).runId = runId;
    return parsed as TaskRow[];
  }
  const rows = new Array<TaskRow>(parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    const t = parsed[i] as unknown[];
    const taskId = t[0] as string;
    const row = {
      runId,
      taskId,
      name: t[1] === 0 ? derivedName(taskId) : t[1],
      kind: t[2],
      needs: t[3],
      status: t[4],
      attempts: t[5],
      seq: t[6],
    } as TaskRow;
    if (t[7] !== 0) row.startedAt = t[7] as string;
    if (t[8] !== 0) row.finishedAt = t[8] as string;
    if (t.length > 10) row.result = t[10];
    if (t[9] !== 0) Object.assign(row, t[9]);
    rows[i] = row;
  }
  return rows;
}

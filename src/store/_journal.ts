/**
 * What a batch of events does to the rows, computed once in plain code and applied by every
 * store with the same rules, so the memory and SQLite stores cannot drift apart.
 *
 * A batch becomes one {@linkcode RunBatch} per run: its events, at most one change to the run
 * row, and one {@linkcode TaskPatch} per task it touches. A patch is the net effect of that
 * task's events, and {@linkcode mergeTask} applies it to the stored row such that appending
 * events in one batch or in many gives the same row ({@linkcode composePatch} folds two
 * patches into one with the same effect):
 *
 * - the last state event (started, succeeded, cached, failed, skipped, cancelled,
 *   map.expanded) sets the status and the whole outcome (end time, result, error, reason,
 *   cache key); fields it does not set are cleared;
 * - attempts only grow; the start time is the first one seen; `items` is the last one seen;
 * - `task.created` sets name, kind, needs and group, and never the state (a re-created call
 *   on resume keeps its result);
 * - a new row's `seq` is the journal seq of the task's first event, so tasks sort in the
 *   order they were first recorded.
 *
 * A run row changes with `run.started` / `run.finished`; its `updatedAt` also moves with a
 * heartbeat ({@linkcode HEARTBEAT_MS}) while events arrive, rather than on every append, so
 * that an append does not rewrite the run's page each time.
 *
 * @module
 */

import type { RunStatus, TaskStatus } from "../core/events.ts";
import type { AppendEvent, TaskRow } from "./store.ts";

/** An event ready to store: the fields with columns of their own, and the rest as JSON. */
export interface EncodedEvent {
  /** Event type. */
  type: string;
  /** Task id, for task events. */
  taskId: string | null;
  /** Milliseconds since the epoch. */
  time: number;
  /** The other fields (not runId, type, taskId, time, result) as a JSON object. */
  data: string;
}

/** The net effect of a batch on one task row. */
export interface TaskPatch {
  /** Task id. */
  taskId: string;
  /** Index in the run's batch of the task's first event: its seq, if the row is new. */
  first: number;
  /** Name from the last event. */
  name: string;
  /** Whether a `task.created` was in the batch (then kind, needs and group are set). */
  created: boolean;
  /** Kind from the last `task.created`. */
  kind: "task" | "map";
  /** Needs (JSON array) from the last `task.created`. */
  needs: string | null;
  /** Group from the last `task.created`. */
  group: string | null;
  /** The status set by the last state event, or null when there was none. */
  status: TaskStatus | null;
  /** The most attempts seen. */
  attempts: number;
  /** The first start seen. */
  startedAt: string | null;
  /** End time per the last state event. */
  finishedAt: string | null;
  /** Result (JSON) per the last state event. */
  result: string | null;
  /** Error per the last state event. */
  error: string | null;
  /** Skip reason per the last state event. */
  reason: string | null;
  /** Cache key per the last state event. */
  cacheKey: string | null;
  /** Items from the last `map.expanded`. */
  items: number | null;
}

/** The net effect of a batch on one run row. */
export interface RunPatch {
  /** From the first `run.started`: what a run row created by the batch holds. */
  start: { flow: string; params: string; startedAt: string } | null;
  /** Set by the last run.started / run.finished: the run's state and outcome. */
  state: {
    status: RunStatus;
    finishedAt: string | null;
    error: string | null;
    result: string | null;
  } | null;
}

/** Everything a batch does to one run. */
export interface RunBatch extends RunPatch {
  /** The run. */
  runId: string;
  /** Its events, in order, as appended (checked, not copied). */
  events: AppendEvent[];
  /** Its task patches, in the order the tasks were first touched. */
  tasks: Map<string, TaskPatch>;
}

/** How stale a running run's `updatedAt` may get while its events are being appended. */
export const HEARTBEAT_MS = 1000;

/** ISO text of a time in milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Normalises an ISO time given by a caller; a RangeError names the bad value. */
export function isoArgument(what: string, value: string): string {
  const ms = Date.parse(value);
  if (typeof value !== "string" || Number.isNaN(ms)) {
    throw new RangeError(`${what} must be an ISO date-time, got ${JSON.stringify(value)}`);
  }
  return iso(ms);
}

/** JSON text of a value, null for undefined. */
export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** A value from JSON text, undefined for null. */
export function fromJson(text: string | null | undefined): unknown {
  return text === null || text === undefined ? undefined : JSON.parse(text);
}

const COLUMNS = new Set(["runId", "type", "taskId", "time", "result"]);

/** An event split into its columns and the rest as JSON (the memory store keeps events so). */
export function encodeEvent(e: AppendEvent): EncodedEvent {
  const rest: Record<string, unknown> = {};
  for (const k in e) if (!COLUMNS.has(k)) rest[k] = (e as unknown as Record<string, unknown>)[k];
  const taskId = "taskId" in e && typeof e.taskId === "string" ? e.taskId : null;
  return { type: e.type, taskId, time: e.time, data: JSON.stringify(rest) };
}

/** Splits a batch by run and computes every patch. Throws (writing nothing) on a bad event. */
export function encodeBatch(events: readonly AppendEvent[]): Map<string, RunBatch> {
  const runs = new Map<string, RunBatch>();
  for (const e of events) {
    if (
      e === null || typeof e !== "object" || typeof e.runId !== "string" ||
      typeof e.type !== "string" || typeof e.time !== "number" || !Number.isFinite(e.time)
    ) {
      throw new TypeError(
        `Cannot append an event without a string runId and type and a finite time: ${
          JSON.stringify(e)
        }`,
      );
    }
    let run = runs.get(e.runId);
    if (run === undefined) {
      run = { runId: e.runId, events: [], tasks: new Map(), start: null, state: null };
      runs.set(e.runId, run);
    }
    run.events.push(e);
    const taskId = "taskId" in e && typeof e.taskId === "string" ? e.taskId : null;
    if (taskId === null) applyRunEvent(run, e);
    else if (e.type !== "task.log") applyTaskEvent(run, taskId, e, run.events.length - 1);
  }
  return runs;
}

/** ISO texts of times, remembering the last: the events of one tick mostly share a time. */
const clock = new class IsoClock {
  #ms = NaN;
  #iso = "";
  iso(ms: number): string {
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#iso = iso(ms);
    }
    return this.#iso;
  }
}();

function applyRunEvent(run: RunBatch, e: AppendEvent): void {
  if (e.type === "run.started") {
    run.start ??= { flow: e.flow, params: JSON.stringify(e.params ?? {}), startedAt: iso(e.time) };
    run.state = { status: "running", finishedAt: null, error: null, result: null };
  } else if (e.type === "run.finished") {
    run.state = {
      status: e.status,
      finishedAt: iso(e.time),
      error: e.error ?? null,
      result: toJson(e.result),
    };
  }
}

function applyTaskEvent(
  run: RunBatch,
  taskId: string,
  e: AppendEvent,
  index: number,
): void {
  const name = "name" in e && typeof e.name === "string" ? e.name : taskId;
  let p = run.tasks.get(taskId);
  if (p === undefined) {
    p = {
      taskId,
      first: index,
      name,
      created: false,
      kind: "task",
      needs: null,
      group: null,
      status: null,
      attempts: 0,
      startedAt: null,
      finishedAt: null,
      result: null,
      error: null,
      reason: null,
      cacheKey: null,
      items: null,
    };
    run.tasks.set(taskId, p);
  }
  p.name = name;
  switch (e.type) {
    case "task.created":
      p.created = true;
      p.kind = e.kind === "map" ? "map" : "task";
      p.needs = JSON.stringify(e.needs ?? []);
      p.group = e.group ?? null;
      break;
    case "task.started":
      settle(p, "running", null);
      p.attempts = Math.max(p.attempts, e.attempt);
      p.startedAt ??= clock.iso(e.time);
      break;
    case "task.retrying":
      p.attempts = Math.max(p.attempts, e.attempt);
      break;
    case "task.succeeded":
      settle(p, "succeeded", clock.iso(e.time));
      p.attempts = Math.max(p.attempts, e.attempt);
      p.result = toJson(e.result);
      break;
    case "task.cached":
      settle(p, "cached", clock.iso(e.time));
      p.startedAt ??= clock.iso(e.time);
      p.cacheKey = e.key;
      p.result = toJson(e.result);
      break;
    case "task.failed":
      settle(p, "failed", clock.iso(e.time));
      p.attempts = Math.max(p.attempts, e.attempts);
      p.error = e.error;
      break;
    case "task.skipped":
      settle(p, "skipped", clock.iso(e.time));
      p.reason = e.reason;
      break;
    case "task.cancelled":
      settle(p, "cancelled", clock.iso(e.time));
      break;
    case "map.expanded":
      settle(p, "running", null);
      p.attempts = Math.max(p.attempts, 1);
      p.startedAt ??= clock.iso(e.time);
      p.items = e.items;
      break;
  }
}

function settle(p: TaskPatch, status: TaskStatus, finishedAt: string | null): void {
  p.status = status;
  p.finishedAt = finishedAt;
  p.result =
    p.error =
    p.reason =
    p.cacheKey =
      null;
}

/**
 * One patch with the effect of `earlier` then `later` (both of one task; a new object, the
 * arguments are not changed): `mergeTask(mergeTask(row, earlier), later)` equals
 * `mergeTask(row, composePatch(earlier, later, first))`. The result's `first` is `earlier`'s,
 * or `first` (the caller's numbering of `later`'s first event) without an earlier patch.
 */
export function composePatch(
  earlier: TaskPatch | undefined,
  later: TaskPatch,
  first: number,
): TaskPatch {
  return earlier === undefined ? { ...later, first } : composeInto({ ...earlier }, later);
}

/** {@linkcode composePatch} into `earlier`, which it changes and returns. */
export function composeInto(earlier: TaskPatch, later: TaskPatch): TaskPatch {
  if (later.created) earlier.created = true;
  applyPatch(earlier, later);
  return earlier;
}

/** What a patch applies to: a stored row, or an earlier patch it is folded into. */
type PatchTarget = Omit<TaskPatch, "taskId" | "first" | "created">;

/** The merge rules, once for both: `p`'s fields onto `t` (see the module documentation). */
function applyPatch(t: PatchTarget, p: TaskPatch): void {
  t.name = p.name;
  if (p.created) {
    t.kind = p.kind;
    t.needs = p.needs;
    t.group = p.group;
  }
  if (p.status !== null) {
    t.status = p.status;
    t.finishedAt = p.finishedAt;
    t.result = p.result;
    t.error = p.error;
    t.reason = p.reason;
    t.cacheKey = p.cacheKey;
  }
  if (p.attempts > t.attempts) t.attempts = p.attempts;
  t.startedAt ??= p.startedAt;
  t.items = p.items ?? t.items;
}

/** A task row as the memory store keeps it: a fixed shape, null for absent, JSON as text. */
export interface StoredTask {
  runId: string;
  taskId: string;
  name: string;
  kind: "task" | "map";
  needs: string | null;
  group: string | null;
  status: TaskStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  result: string | null;
  error: string | null;
  reason: string | null;
  cacheKey: string | null;
  items: number | null;
  seq: number;
}

/**
 * Applies a patch to a stored row (or creates the row, with `seq`: the journal seq of the
 * task's first event in the batch); the rules in the module documentation. The SQLite store's
 * upsert is the same function in SQL.
 */
export function mergeTask(
  runId: string,
  row: StoredTask | undefined,
  p: TaskPatch,
  seq: number,
): StoredTask {
  const r: StoredTask = row ?? {
    runId,
    taskId: p.taskId,
    name: p.name,
    kind: "task",
    needs: null,
    group: null,
    status: "pending",
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    result: null,
    error: null,
    reason: null,
    cacheKey: null,
    items: null,
    seq,
  };
  applyPatch(r, p);
  return r;
}

/** The API's row from a stored one: absent fields omitted, JSON parsed. */
export function taskRow(t: StoredTask): TaskRow {
  const row: TaskRow = {
    runId: t.runId,
    taskId: t.taskId,
    name: t.name,
    kind: t.kind,
    needs: t.needs === null ? [] : JSON.parse(t.needs),
    status: t.status,
    attempts: t.attempts,
    seq: t.seq,
  };
  if (t.startedAt !== null) row.startedAt = t.startedAt;
  if (t.finishedAt !== null) row.finishedAt = t.finishedAt;
  if (t.result !== null) row.result = JSON.parse(t.result);
  if (t.error !== null) row.error = t.error;
  if (t.reason !== null) row.reason = t.reason;
  if (t.cacheKey !== null) row.cacheKey = t.cacheKey;
  if (t.group !== null) row.group = t.group;
  if (t.items !== null) row.items = t.items;
  return row;
}

/** Rebuilds an event from its stored parts. */
export function decodeEvent(
  runId: string,
  type: string,
  taskId: string | null,
  time: number,
  data: string,
): AppendEvent {
  const head: Record<string, unknown> = { type, runId, time };
  if (taskId !== null) head.taskId = taskId;
  return Object.assign(head, JSON.parse(data)) as AppendEvent;
}

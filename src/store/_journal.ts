/**
 * What events do to the rows, written once and applied by every store, so the memory and
 * SQLite stores cannot drift apart.
 *
 * A batch is split by run into {@linkcode RunBatch}es: the run's events and at most one change
 * to its run row. A task's row is its events applied in order by {@linkcode applyTaskEvent}:
 *
 * - the last state event (started, succeeded, cached, failed, skipped, cancelled,
 *   map.expanded) sets the status and the whole outcome (end time, result, error, reason,
 *   cache key); fields it does not set are cleared;
 * - attempts only grow; the start time is the first one seen; `items` is the last one seen;
 * - `task.created` sets name, kind, needs, group and the arguments' hash, and never the state
 *   (a re-created call on resume keeps its result);
 * - a row's `seq` is the journal seq of the task's first event, so tasks sort in the order
 *   they were first recorded.
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

/** Splits a batch by run with each run's change. Throws (writing nothing) on a bad event. */
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
      run = { runId: e.runId, events: [], start: null, state: null };
      runs.set(e.runId, run);
    }
    run.events.push(e);
    if (e.type === "run.started" || e.type === "run.finished") applyRunEvent(run, e);
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

/** A task's row before its first event, which has journal seq `seq`. */
export function newTaskRow(runId: string, taskId: string, seq: number): TaskRow {
  return {
    runId,
    taskId,
    name: taskId,
    kind: "task",
    needs: [],
    status: "pending",
    attempts: 0,
    seq,
  };
}

/** The task whose row the event changes, or null (a run event, or a log line). */
export function eventTaskId(e: AppendEvent): string | null {
  const taskId = (e as { taskId?: unknown }).taskId;
  return typeof taskId === "string" && e.type !== "task.log" ? taskId : null;
}

/**
 * The rules (see the module documentation): the event `e` applied to the row of its task
 * ({@linkcode eventTaskId}). The row takes the event's values (its needs and result) without
 * copying them.
 */
export function applyTaskEvent(row: TaskRow, e: AppendEvent): void {
  const named = e as { name?: unknown };
  row.name = typeof named.name === "string" ? named.name : row.taskId;
  switch (e.type) {
    case "task.created":
      row.kind = e.kind === "map" ? "map" : "task";
      row.needs = e.needs ?? [];
      if (e.group !== undefined && e.group !== null) row.group = e.group;
      else if ("group" in row) delete row.group;
      if (e.argsHash !== undefined) row.argsHash = e.argsHash;
      break;
    case "task.started":
      settle(row, "running", null);
      if (e.attempt > row.attempts) row.attempts = e.attempt;
      row.startedAt ??= clock.iso(e.time);
      break;
    case "task.retrying":
      if (e.attempt > row.attempts) row.attempts = e.attempt;
      break;
    case "task.succeeded":
      settle(row, "succeeded", clock.iso(e.time));
      if (e.attempt > row.attempts) row.attempts = e.attempt;
      if (e.result !== undefined) row.result = e.result;
      break;
    case "task.cached":
      settle(row, "cached", clock.iso(e.time));
      row.startedAt ??= clock.iso(e.time);
      row.cacheKey = e.key;
      if (e.result !== undefined) row.result = e.result;
      break;
    case "task.failed":
      settle(row, "failed", clock.iso(e.time));
      if (e.attempts > row.attempts) row.attempts = e.attempts;
      row.error = e.error;
      break;
    case "task.skipped":
      settle(row, "skipped", clock.iso(e.time));
      row.reason = e.reason;
      break;
    case "task.cancelled":
      settle(row, "cancelled", clock.iso(e.time));
      break;
    case "map.expanded":
      settle(row, "running", null);
      if (row.attempts < 1) row.attempts = 1;
      row.startedAt ??= clock.iso(e.time);
      row.items = e.items;
      break;
  }
}

function settle(row: TaskRow, status: TaskStatus, finishedAt: string | null): void {
  row.status = status;
  if (finishedAt !== null) row.finishedAt = finishedAt;
  else if ("finishedAt" in row) delete row.finishedAt;
  // `delete` is a call into the runtime even when there is nothing to delete: ask first.
  if ("result" in row) delete row.result;
  if ("error" in row) delete row.error;
  if ("reason" in row) delete row.reason;
  if ("cacheKey" in row) delete row.cacheKey;
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
export function resetTaskRow(row: TaskRow): void {
  row.status = "pending";
  row.attempts = 0;
  for (const k of RESET_FIELDS) delete row[k];
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

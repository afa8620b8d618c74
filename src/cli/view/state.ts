/**
 * What the view knows about a run, folded from its events in O(1) per event: one entry per
 * task, the top-level rows (plain tasks and map groups, never map items), counts per status,
 * and for each map group the progress of its items.
 *
 * Counts are over units of work: plain tasks and map items. A map group counts as one unit
 * until it expands into items; from then on its items count instead.
 *
 * @module
 */

import type { RunEvent, RunStatus } from "../../core/events.ts";
import type { RunRecord, TaskRecord } from "../../engine/types.ts";
import type { ViewStatus } from "./style.ts";

/** Tasks per status. */
export type Counts = Record<ViewStatus, number>;

/** A task, or a map group, as the view sees it. Times are from the view's clock. */
export interface TaskView {
  /** Id within the run. */
  readonly id: string;
  /** The task's name. */
  name: string;
  /** A plain task or a map group. */
  kind: "task" | "map";
  /** The map group of an item. */
  group: TaskView | undefined;
  /** Current status. */
  status: ViewStatus;
  /** Current (or last) attempt, 0 before the first. */
  attempt: number;
  /** Creation order. */
  readonly order: number;
  /** When its first attempt started (or, for a map group, when it expanded). */
  startedAt?: number;
  /** When it settled. */
  finishedAt?: number;
  /** Settling order, for "most recently finished"; 0 while not settled. */
  finishedSeq: number;
  /** The engine's duration, once settled. */
  durationMs?: number;
  /** The last error (of a failed task, or of the attempt that is being retried). */
  error?: string;
  /** Why it was skipped. */
  reason?: string;
  /** The cache key, when cached. */
  cacheKey?: string;
  /** When the next attempt starts, while retrying. */
  retryAt?: number;
  /** A map group's item count, once expanded. */
  total?: number;
  /** A map group's settled items. */
  done: number;
  /** A map group's items per status. */
  items?: Counts;
  /** Whether it is one of the units in {@linkcode RunState.counts}. */
  counted: boolean;
}

const FINAL: ReadonlySet<ViewStatus> = new Set([
  "succeeded",
  "failed",
  "skipped",
  "cancelled",
  "cached",
]);

/**
 * Whether a status is final.
 *
 * @example
 * ```ts
 * import { isFinal } from "./state.ts";
 * console.assert(isFinal("failed") && !isFinal("retrying"));
 * ```
 */
export function isFinal(status: ViewStatus): boolean {
  return FINAL.has(status);
}

/**
 * Zero tasks in every status.
 *
 * @example
 * ```ts
 * import { emptyCounts } from "./state.ts";
 * console.assert(emptyCounts().running === 0);
 * ```
 */
export function emptyCounts(): Counts {
  return {
    pending: 0,
    running: 0,
    retrying: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
    cached: 0,
  };
}

/**
 * The view's model of one run, updated by {@linkcode RunState.apply} for each event.
 *
 * @example
 * ```ts
 * import { RunState } from "./state.ts";
 * const state = new RunState();
 * const base = { runId: "r1", time: 0, taskId: "load", name: "load" };
 * state.apply({ type: "task.created", ...base, needs: [], kind: "task" }, 0);
 * state.apply({ type: "task.started", ...base, attempt: 1 }, 5);
 * console.assert(state.counts.running === 1 && state.rows.length === 1);
 * ```
 */
export class RunState {
  /** The run's id, once known. */
  runId = "";
  /** The flow's name, once known. */
  flow = "";
  /** When the run started (view clock), once known. */
  startedAt?: number;
  /** The run's status, once it finished. */
  status?: RunStatus;
  /** The run's error, once it finished badly. */
  error?: string;
  /** Every task by id. */
  readonly tasks: Map<string, TaskView> = new Map();
  /** Top-level tasks and map groups, in creation order. */
  readonly rows: TaskView[] = [];
  /** Units of work per status. */
  readonly counts: Counts = emptyCounts();
  /** Tasks, items and groups that are running or retrying. */
  active = 0;
  #seq = 0;

  /** Folds one event in; returns the task it is about, if any. */
  apply(event: RunEvent, now: number): TaskView | undefined {
    switch (event.type) {
      case "run.started":
        this.runId = event.runId;
        this.flow = event.flow;
        this.startedAt = now;
        return undefined;
      case "run.finished":
        this.runId ||= event.runId;
        this.flow ||= event.flow;
        this.status = event.status;
        if (event.error !== undefined) this.error = event.error;
        return undefined;
      case "task.log":
        return this.tasks.get(event.taskId);
    }
    this.runId ||= event.runId;
    let t = this.tasks.get(event.taskId);
    if (t === undefined) {
      const created = event.type === "task.created";
      const group = created && event.group !== undefined ? this.tasks.get(event.group) : undefined;
      t = this.#create(event.taskId, event.name, created ? event.kind : "task", group);
    }
    switch (event.type) {
      case "task.created":
        break;
      case "task.started":
        t.attempt = event.attempt;
        t.startedAt ??= now;
        t.retryAt = undefined;
        this.#set(t, "running");
        break;
      case "task.retrying":
        t.attempt = event.attempt;
        t.error = event.error;
        t.retryAt = now + event.delayMs;
        this.#set(t, "retrying");
        break;
      case "task.succeeded":
        t.attempt = event.attempt;
        t.durationMs = event.durationMs;
        this.#settle(t, "succeeded", now);
        break;
      case "task.failed":
        t.attempt = event.attempts;
        t.durationMs = event.durationMs;
        t.error = event.error;
        this.#settle(t, "failed", now);
        break;
      case "task.cached":
        t.cacheKey = event.key;
        this.#settle(t, "cached", now);
        break;
      case "task.skipped":
        t.reason = event.reason;
        this.#settle(t, "skipped", now);
        break;
      case "task.cancelled":
        this.#settle(t, "cancelled", now);
        break;
      case "map.expanded":
        t.kind = "map";
        this.#expand(t, event.items, now);
        break;
    }
    return t;
  }

  /**
   * Brings the state in line with the final record: tasks whose events the view missed get
   * their final status, so the last frame is right even if events were not wired.
   */
  applyRecord(record: RunRecord, now: number): void {
    this.runId = record.runId;
    this.flow = record.flow;
    this.status = record.status;
    if (record.error !== undefined) this.error = record.error;
    for (const r of record.tasks) {
      let t = this.tasks.get(r.id);
      if (t === undefined) {
        const group = r.group === undefined ? undefined : this.tasks.get(r.group);
        t = this.#create(r.id, r.name, r.items === undefined ? "task" : "map", group);
      }
      if (r.items !== undefined && t.total === undefined) this.#expand(t, r.items, now);
      if (isFinal(t.status) || !isFinal(r.status)) continue;
      t.attempt = Math.max(t.attempt, r.attempts);
      if (r.error !== undefined) t.error = r.error;
      if (r.reason !== undefined) t.reason = r.reason;
      if (r.cacheKey !== undefined) t.cacheKey = r.cacheKey;
      t.durationMs ??= recordDuration(r);
      this.#settle(t, r.status, now);
    }
  }

  #create(id: string, name: string, kind: "task" | "map", group?: TaskView): TaskView {
    const t: TaskView = {
      id,
      name,
      kind,
      group,
      status: "pending",
      attempt: 0,
      order: this.tasks.size,
      finishedSeq: 0,
      done: 0,
      counted: true,
    };
    this.tasks.set(id, t);
    this.counts.pending++;
    if (group === undefined) this.rows.push(t);
    else {
      if (group.items === undefined) {
        // An item of a group whose expansion the view missed: the items count from now on.
        group.items = emptyCounts();
        this.#uncount(group);
      }
      group.items.pending++;
    }
    return t;
  }

  #expand(t: TaskView, items: number, now: number): void {
    t.total = items;
    t.items ??= emptyCounts();
    t.startedAt ??= now;
    this.#set(t, "running");
    if (items > 0) this.#uncount(t);
  }

  #set(t: TaskView, status: ViewStatus): void {
    const old = t.status;
    if (old === status) return;
    if (t.counted) {
      this.counts[old]--;
      this.counts[status]++;
    }
    const items = t.group?.items;
    if (items !== undefined) {
      items[old]--;
      items[status]++;
    }
    this.active += Number(isActive(status)) - Number(isActive(old));
    t.status = status;
  }

  #settle(t: TaskView, status: ViewStatus, now: number): void {
    const first = !isFinal(t.status);
    this.#set(t, status);
    t.finishedAt = now;
    t.finishedSeq = ++this.#seq;
    t.retryAt = undefined;
    if (first && t.group !== undefined) t.group.done++;
  }

  #uncount(t: TaskView): void {
    if (!t.counted) return;
    this.counts[t.status]--;
    t.counted = false;
  }
}

function isActive(status: ViewStatus): boolean {
  return status === "running" || status === "retrying";
}

function recordDuration(r: TaskRecord): number | undefined {
  if (r.startedAt === undefined || r.finishedAt === undefined) return undefined;
  const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt);
  return Number.isFinite(ms) ? ms : undefined;
}

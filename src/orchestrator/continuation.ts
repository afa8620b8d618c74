/**
 * Which tasks of a recorded run keep their results when it is resumed or retried, and which
 * run again. Shared by the CLI (`resume`, `retry`) and the {@linkcode Orchestrator}.
 *
 * @module
 */

import { restoredCalls } from "../engine/replay.ts";
import type { RestoredTask } from "../engine/types.ts";
import type { AppendEvent, TaskRow } from "../store/store.ts";

/** What a continued run restores and what it runs again. */
export interface ContinuationPlan {
  /** Calls that completed: their results are restored, they do not run. */
  restore: Map<string, RestoredTask>;
  /** Calls that run again (their rows are reset on a resume). */
  reset: string[];
  /** The rows of the restored calls (a retry copies them into its new run). */
  kept: TaskRow[];
}

function ok(t: TaskRow): boolean {
  return t.status === "succeeded" || t.status === "cached";
}

function plan(tasks: readonly TaskRow[], again: (t: TaskRow) => boolean): ContinuationPlan {
  // A map group is never restored: it expands again, its items restored one by one.
  const reset = tasks.filter((t) => again(t) || !ok(t) || t.kind === "map").map((t) => t.taskId);
  // With each call's place among the body's calls and its arguments' hash, so that replay
  // checks that the body calls what it called before.
  const restore = restoredCalls(tasks, new Set(reset));
  return { restore, reset, kept: tasks.filter((t) => restore.has(t.taskId)) };
}

/**
 * A resume: every call that succeeded (or was cached) keeps its result; the rest run again.
 *
 * @example
 * ```ts
 * import { resumePlan } from "./continuation.ts";
 * const row = (taskId: string, status: "succeeded" | "failed") => ({
 *   runId: "r", taskId, name: taskId, kind: "task" as const, needs: [], status, attempts: 1,
 *   seq: 1, result: 1,
 * });
 * const p = resumePlan([row("a", "succeeded"), row("b", "failed")]);
 * console.assert(p.restore.has("a") && p.reset.join() === "b");
 * ```
 */
export function resumePlan(tasks: readonly TaskRow[]): ContinuationPlan {
  return plan(tasks, () => false);
}

/**
 * A retry from `from`: that call and everything downstream of it run again, the rest keep
 * their results. Downstream of a map item is its group (which gathers the items again, its
 * other items restored) and what depends on the group; downstream of a group or a task is
 * every item of each map group reached.
 */
export function retryPlan(tasks: readonly TaskRow[], from: string): ContinuationPlan {
  const again = downstream(tasks, from);
  return plan(tasks, (t) => again.has(t.taskId));
}

/** The ids that run again when a retry starts from `from` (see {@linkcode retryPlan}). */
export function downstream(tasks: readonly TaskRow[], from: string): Set<string> {
  const out = new Set([from]);
  // An item's group runs again to gather its items, but its other items keep their results.
  const partial = tasks.find((t) => t.taskId === from)?.group;
  if (partial !== undefined) out.add(partial);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of tasks) {
      if (out.has(t.taskId)) continue;
      const whole = t.group !== undefined && t.group !== partial && out.has(t.group);
      if (whole || t.needs.some((n) => out.has(n))) {
        out.add(t.taskId);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * The journal events that give a new run (a retry) the rows of the tasks it keeps from the
 * run it retries: their result, attempts and cache key, as they were.
 */
export function restoredRows(runId: string, kept: readonly TaskRow[]): AppendEvent[] {
  const events: AppendEvent[] = [];
  for (const t of kept) {
    const time = Date.parse(t.finishedAt ?? t.startedAt ?? "") || Date.now();
    const base = { runId, time, taskId: t.taskId, name: t.name };
    events.push({
      ...base,
      type: "task.created",
      needs: t.needs,
      kind: t.kind,
      ...(t.argsHash !== undefined ? { argsHash: t.argsHash } : {}),
      ...(t.group !== undefined ? { group: t.group } : {}),
    });
    if (t.status === "cached") {
      events.push({ ...base, type: "task.cached", key: t.cacheKey ?? "", result: t.result });
    } else {
      const started = Date.parse(t.startedAt ?? "") || time;
      events.push({ ...base, time: started, type: "task.started", attempt: t.attempts });
      events.push({
        ...base,
        type: "task.succeeded",
        attempt: t.attempts,
        durationMs: Math.max(0, time - started),
        result: t.result,
      });
    }
  }
  return events;
}

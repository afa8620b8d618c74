/**
 * What a run continues with in a fresh flow isolate after the host stopped the last one (a
 * pure task held it past its timeout): read back from the journal, like a resume, but the run
 * goes on rather than starting again — a call that succeeded is restored, one that failed for
 * good stays failed, the task that overran has its attempt failed as timed out, and every
 * other call continues from the attempts it finished.
 *
 * @module
 */

import { resumePlan } from "../orchestrator/continuation.ts";
import type { RestoredTask } from "../engine/types.ts";
import type { TaskRow } from "../store/store.ts";
import type { PriorData } from "./isolate_protocol.ts";
import type { Continuation, Overrun } from "./isolate_run.ts";

/**
 * The continuation of a run whose journal holds `rows`, after `overrun`; `attempts` are the
 * attempts each call finished as the host saw them, `unseal` restores results stored masked.
 *
 * @example
 * ```ts
 * import { restartContinuation } from "./restart.ts";
 * const row = (taskId: string, status: "succeeded" | "running") => ({
 *   runId: "r", taskId, name: taskId, kind: "task" as const, needs: [], status, attempts: 1,
 *   seq: 1, result: 1,
 * });
 * const next = await restartContinuation(
 *   [row("a", "succeeded"), row("spin", "running")],
 *   { taskId: "spin", attempt: 1, timeoutMs: 10, elapsedMs: 300 },
 *   new Map(),
 *   async (restore) => restore,
 * );
 * console.assert(next.restore.has("a") && next.prior[0][1].error?.name === "TaskTimeoutError");
 * ```
 */
export async function restartContinuation(
  rows: readonly TaskRow[],
  overrun: Overrun,
  attempts: ReadonlyMap<string, number>,
  unseal: (restore: Map<string, RestoredTask>) => Promise<Map<string, RestoredTask>>,
): Promise<Continuation> {
  const restore = await unseal(resumePlan(rows).restore);
  const prior: [string, PriorData][] = [[overrun.taskId, {
    attempts: overrun.attempt,
    error: {
      name: "TaskTimeoutError",
      message: `Task "${overrun.taskId}" timed out after ${overrun.timeoutMs}ms`,
      timeoutMs: overrun.timeoutMs,
      elapsedMs: overrun.elapsedMs,
    },
  }]];
  for (const row of rows) {
    if (row.taskId === overrun.taskId || row.kind === "map" || restore.has(row.taskId)) continue;
    if (row.status === "failed") {
      prior.push([row.taskId, {
        attempts: row.attempts,
        error: { name: "Error", message: row.error ?? "failed" },
        final: true,
      }]);
    } else if (row.status === "running") {
      prior.push([row.taskId, {
        attempts: attempts.get(row.taskId) ?? Math.max(0, row.attempts - 1),
      }]);
    }
  }
  return { restore, prior };
}

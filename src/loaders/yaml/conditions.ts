/**
 * Conditions of compiled tasks at run time, as on GitHub: `success()` and `failure()` look at
 * every task upstream (a task whose `if:` calls `failure()`, `always()` or `cancelled()` waits
 * for all its ancestors), a task that failed under `continue-on-error` counts as succeeded,
 * and a matrix leg waiting for a slot (`max-parallel`) is skipped once fail-fast stopped its
 * matrix.
 *
 * @module
 */

import type { ConditionInfo, TaskCondition } from "../../core/protocol.ts";
import { evaluate, isTruthy } from "./expressions/mod.ts";
import type { CompiledTask } from "./compiled.ts";
import { groupValues, type Input, taskValues, type ValueSources } from "./values.ts";

/** A matrix's legs in one run: whether fail-fast stopped them, and what stops them. */
export interface LegGroup {
  /** Whether a failed leg stops the others. */
  failFast: boolean;
  /** The leg whose failure stopped the others. */
  failed?: string;
  /** Aborted when fail-fast stops the legs. */
  controller: AbortController;
}

/** What a condition needs besides the task and its input. */
export interface ConditionContext {
  /** Values for the task's expressions. */
  src: ValueSources;
  /** The task's matrix legs, when it is a leg. */
  group?: LegGroup;
  /** The leg this leg waits for (a `max-parallel` slot): not a dependency of its own. */
  slot?: string;
}

const OK = new Set(["succeeded", "cached"]);

/** The condition of one call of `c`, or undefined when the engine's default does. */
export function conditionOf(
  c: CompiledTask,
  input: Input,
  ctx: ConditionContext,
): TaskCondition | undefined {
  const cond = c.condition;
  const record = (info: ConditionInfo) => Object.assign(input.statuses ??= {}, info.statuses);
  const slot = ctx.slot;
  if (cond === undefined && slot === undefined) {
    if (!c.readsStatus) return undefined;
    return { text: '"true"', test: (info) => (record(info), true) };
  }
  if (typeof cond === "boolean" && slot === undefined) {
    return { text: JSON.stringify(String(cond)), test: (info) => (record(info), cond) };
  }
  const always = typeof cond === "object" && cond.always;
  let why = typeof cond === "object" ? cond.text : JSON.stringify(String(cond ?? true));
  const good = (id: string, s: string) => OK.has(s) || s === "failed" && ctx.src.soft(id);
  return {
    get text() {
      return why;
    },
    // A leg waiting for the slot of a leg that failed still runs when its matrix does not fail
    // fast: it decides itself. Otherwise the engine skips it, as it skips any dependent.
    evenIfUpstreamFailed: always || (slot !== undefined && ctx.group?.failFast === false),
    test: (info) => {
      record(info);
      const statuses = Object.entries(info.statuses as Record<string, string>)
        .filter(([id]) => id !== slot);
      if (!always) {
        const bad = statuses.find(([id, s]) => !good(id, s));
        if (bad) {
          why = JSON.stringify(
            `upstream ${bad[0]} ${bad[1] === "skipped" ? "was skipped" : bad[1]}`,
          );
          return false;
        }
      }
      if (ctx.group?.failed !== undefined && ctx.group.failFast) {
        why = JSON.stringify(`no leg failed (fail-fast: ${ctx.group.failed} failed)`);
        return false;
      }
      if (cond === undefined || typeof cond === "boolean") return cond ?? true;
      why = cond.text;
      const tasks = groupValues(info.values as Record<string, unknown>, ctx.src);
      const values = taskValues(c, { ...input, tasks }, ctx.src);
      return isTruthy(evaluate(cond.expr, {
        values,
        functions: {
          success: () => statuses.every(([id, s]) => good(id, s)) && !info.cancelled,
          failure: () => statuses.some(([id, s]) => s === "failed" && !ctx.src.soft(id)),
          always: () => true,
          cancelled: () => info.cancelled,
        },
      }));
    },
  };
}

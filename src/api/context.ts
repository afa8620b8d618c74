/**
 * `context()`: the running task's context from anywhere in its code, without passing `ctx`
 * down. Available in workers, and inline when the run has secrets (as under `orchestra run`)
 * or hooks or middleware.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { taskContextStorage, WORKER_CONTEXT } from "../core/protocol.ts";
import type { TaskContext } from "../engine/types.ts";

/**
 * The context of the task that is running.
 *
 * @throws {OrchestraError} outside a running task.
 * @example
 * ```ts
 * import { context, flow, task } from "@orchestra/orchestra";
 * const token = task({ name: "token", secrets: ["API_TOKEN"] }, () => context().secret("API_TOKEN"));
 * const record = await flow("t", () => token()).run({}, { secrets: () => "s3cret" });
 * console.assert(record.result === "***");
 * ```
 */
export function context(): TaskContext {
  const ctx = taskContextStorage().getStore() ??
    (globalThis as unknown as Record<symbol, unknown>)[WORKER_CONTEXT];
  if (ctx === undefined) {
    throw new OrchestraError(
      "context() was called outside a running task (or in a run without secrets, hooks or " +
        "middleware); use the context argument the task receives after its own arguments",
    );
  }
  return ctx as TaskContext;
}

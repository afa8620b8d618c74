/**
 * `task()`: turns a function into a task. Called inside a flow body, a task returns a
 * reference to its future result instead of running at once.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import type { TaskOptions } from "../core/model.ts";
import {
  callerFrame,
  flowScopeStorage,
  PROTOCOL_VERSION,
  registerTask,
  TASK_BRAND,
  type TaskDefinition,
} from "../core/protocol.ts";
import type { TaskRef } from "../engine/run.ts";
import type { TaskContext } from "../engine/types.ts";

/** A value, or a reference to a task result of that type, also nested in arrays and objects. */
export type Input<T> =
  | T
  | TaskRef<T>
  | (T extends readonly (infer U)[] ? readonly Input<U>[]
    : T extends object ? { [K in keyof T]: Input<T[K]> }
    : never);

/** The parameters a caller passes: the function's, minus a trailing {@linkcode TaskContext}. */
export type TaskArgs<P extends unknown[]> = P extends [...infer H, infer L]
  ? 0 extends (1 & L) ? P : [L] extends [TaskContext] ? H : P
  : P;

/** A task: call it inside a flow body to get a reference to its result. */
export interface Task<A extends unknown[], R> extends TaskDefinition {
  /** Adds a call to the running flow and returns a reference to its result. */
  (...args: { [K in keyof A]: Input<A[K]> }): TaskRef<Awaited<R>>;
  /** The options the task was defined with. */
  readonly options: TaskOptions;
}

/**
 * Defines a task. The function receives the arguments the caller passed (references replaced
 * by their values) and then the {@linkcode TaskContext}.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * const square = task("square", (n: number) => n * n);
 * const sum = task({ name: "sum", retries: 2, timeout: "30s" }, (xs: number[]) =>
 *   xs.reduce((a, b) => a + b, 0));
 * const squares = flow("squares", () => sum([square(1), square(2), square(3)]));
 * const record = await squares.run();
 * console.assert(record.result === 14);
 * ```
 */
export function task<P extends unknown[], R>(
  nameOrOptions: string | TaskOptions,
  fn: (...args: P) => R,
): Task<TaskArgs<P>, R> {
  const options: TaskOptions = typeof nameOrOptions === "string"
    ? { name: nameOrOptions }
    : nameOrOptions;
  if (options === null || typeof options !== "object" || typeof options.name !== "string") {
    throw new TypeError(
      `task() needs a name: task("load", fn) or task({ name: "load", … }, fn)`,
    );
  }
  if (typeof fn !== "function") {
    throw new TypeError(`task("${options.name}") needs a function as its second argument`);
  }
  const name = options.name;
  const def = function (...args: unknown[]): unknown {
    const scope = flowScopeStorage().getStore();
    if (scope === undefined) {
      throw new OrchestraError(
        `Task "${name}" was called outside a flow body (tasks cannot call tasks either); ` +
          `call it inside flow("name", (f) => { … }) and run the flow with .run() or ` +
          `"orchestra run"`,
      );
    }
    return scope.call(def as unknown as TaskDefinition, args);
  };
  Object.defineProperty(def, "name", { value: name });
  Object.defineProperty(def, TASK_BRAND, { value: PROTOCOL_VERSION });
  Object.defineProperty(def, "options", { value: Object.freeze({ ...options }), enumerable: true });
  Object.defineProperty(def, "fn", { value: fn });
  const frame = callerFrame();
  if (frame) {
    Object.defineProperty(def, "location", { value: frame.location });
    // Only a task made by the module's own top-level code can be re-created in a worker.
    if (frame.topLevel) {
      Object.defineProperty(def, "moduleUrl", { value: frame.url });
      registerTask(def as unknown as TaskDefinition);
    }
  }
  return def as unknown as Task<TaskArgs<P>, R>;
}

/**
 * `flow()`: a flow is a body that calls tasks. References passed between tasks make the edges;
 * independent tasks run in parallel without being asked.
 *
 * @module
 */

import { didYouMean } from "../core/suggest.ts";
import type { ParamsOf, ParamsSchema } from "../core/params.ts";
import {
  callerLocation,
  FLOW_BRAND,
  type FlowDefinition,
  PROTOCOL_VERSION,
} from "../core/protocol.ts";
import { executeFlow } from "../engine/execute.ts";
import type { FlowHandle, TaskRef } from "../engine/run.ts";
import type { FlowOptions, RunOptions } from "../engine/types.ts";
import { byStatus, type RunRecord } from "./record.ts";

/** A value with every task reference in it replaced by the type of its result. */
export type Resolved<T> = T extends TaskRef<infer U> ? U
  : T extends readonly unknown[] ? { [K in keyof T]: Resolved<T[K]> }
  : T extends Record<string, unknown> ? { [K in keyof T]: Resolved<T[K]> }
  : T;

/** A flow: run it with `.run()` or `orchestra run FILE`. */
export interface Flow<P = Record<string, unknown>, R = unknown> extends FlowDefinition {
  /** The flow's name. */
  readonly name: string;
  /** The options the flow was defined with. */
  readonly options: FlowOptions;
  /**
   * Runs the flow in this process and resolves with its record (also when it failed): check
   * `record.status === "succeeded"` and `record.result` is typed. Rejects, before any task
   * starts, if the flow or the params are invalid (`ParamsValidationError`: an unknown param,
   * or any param for a flow that declares none) or an option is unknown (`TypeError`).
   */
  run(params?: Partial<P>, options?: RunOptions): Promise<RunRecord<R>>;
}

/** The params of a flow that declares none: nothing may be passed. */
export type NoParams = Record<string, never>;

/** Every option `run()` takes (the type checks that none is missing or extra). */
const RUN_OPTION_NAMES = [
  "runId",
  "concurrency",
  "signal",
  "clock",
  "onEvent",
  "cache",
  "hooks",
  "middleware",
  "coerceParams",
  "random",
  "workerPool",
  "defaultExecutor",
  "journal",
  "decrypt",
  "secrets",
  "restore",
  "priorAttempts",
  "authorize",
  "baseDir",
  "executors",
] as const satisfies readonly (keyof RunOptions)[];
// A new run option must be added above, or run() would refuse it.
const _allRunOptions: Exclude<keyof RunOptions, typeof RUN_OPTION_NAMES[number]> extends never
  ? true
  : never = true;

/** Why `run()` options are unusable, or `undefined`: an unknown name, with a did-you-mean. */
function runOptionsProblem(flowName: string, options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return `flow("${flowName}").run(params, options): options must be an object`;
  }
  const known: readonly string[] = RUN_OPTION_NAMES;
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length === 0) return undefined;
  return `flow("${flowName}").run(): unknown option${unknown.length > 1 ? "s" : ""} ${
    unknown.map((k) => `"${k}"${didYouMean(k, known)}`).join(", ")
  }; the options are ${known.join(", ")}`;
}

/** The body of a flow. */
export type FlowBody<P, R> = (f: FlowHandle, params: P) => R;

/**
 * Defines a flow.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * const fetchNumbers = task("fetch", (n: number) => Array.from({ length: n }, (_, i) => i + 1));
 * const double = task("double", (x: number) => x * 2);
 * const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
 * const demo = flow({ name: "demo", params: { n: { type: "integer", default: 3 } } }, (f, p) => {
 *   const doubled = f.map(fetchNumbers(p.n), double, { concurrency: 2 });
 *   return { total: total(doubled) };
 * });
 * const record = await demo.run({ n: 4 });
 * console.assert(record.status === "succeeded" && record.result?.total === 20);
 * ```
 */
export function flow<R>(
  name: string,
  body: FlowBody<NoParams, R>,
): Flow<NoParams, Resolved<Awaited<R>>>;
/** Defines a flow with typed params: the body's `params` argument is typed from the schema. */
export function flow<const S extends ParamsSchema, R>(
  options: FlowOptions<S> & { params: S },
  body: FlowBody<ParamsOf<S>, R>,
): Flow<ParamsOf<S>, Resolved<Awaited<R>>>;
/** Defines a flow from options, without params. */
export function flow<R>(
  options: FlowOptions<undefined>,
  body: FlowBody<NoParams, R>,
): Flow<NoParams, Resolved<Awaited<R>>>;
export function flow(
  nameOrOptions: string | FlowOptions,
  body: FlowBody<never, unknown>,
): Flow<unknown, unknown> {
  const options: FlowOptions = typeof nameOrOptions === "string"
    ? { name: nameOrOptions }
    : nameOrOptions;
  if (options === null || typeof options !== "object" || typeof options.name !== "string") {
    throw new TypeError(`flow() needs a name: flow("etl", body) or flow({ name: "etl", … }, body)`);
  }
  if (typeof body !== "function") {
    throw new TypeError(`flow("${options.name}") needs a body function as its second argument`);
  }
  const location = callerLocation();
  const def: Flow<unknown, unknown> = {
    [FLOW_BRAND]: PROTOCOL_VERSION,
    name: options.name,
    options,
    body,
    async run(params = {}, runOptions = {}) {
      const problem = runOptionsProblem(options.name, runOptions);
      if (problem) throw new TypeError(problem);
      return byStatus(await executeFlow(def, params as Record<string, unknown>, runOptions));
    },
  } as Flow<unknown, unknown>;
  if (location) Object.defineProperty(def, "location", { value: location });
  return def;
}

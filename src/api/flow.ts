/**
 * `flow()`: a flow is a body that calls tasks. References passed between tasks make the edges;
 * independent tasks run in parallel without being asked.
 *
 * @module
 */

import type { ParamsOf, ParamsSchema } from "../core/params.ts";
import {
  callerLocation,
  FLOW_BRAND,
  type FlowDefinition,
  PROTOCOL_VERSION,
} from "../core/protocol.ts";
import { executeFlow } from "../engine/execute.ts";
import type { FlowHandle, TaskRef } from "../engine/run.ts";
import type { FlowOptions, RunOptions, RunRecord } from "../engine/types.ts";

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
   * Runs the flow in this process and resolves with its record (also when it failed).
   * Rejects, before any task starts, if the flow or the params are invalid.
   */
  run(params?: Partial<P>, options?: RunOptions): Promise<RunRecord<R>>;
}

/** The body of a flow. */
export type FlowBody<P, R> = (f: FlowHandle, params: P) => R;

/**
 * Defines a flow.
 *
 * @example
 * ```ts
 * import { flow, task } from "../../mod.ts";
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
  body: FlowBody<Record<string, unknown>, R>,
): Flow<Record<string, unknown>, Resolved<Awaited<R>>>;
/** Defines a flow with typed params: the body's `params` argument is typed from the schema. */
export function flow<const S extends ParamsSchema, R>(
  options: FlowOptions<S> & { params: S },
  body: FlowBody<ParamsOf<S>, R>,
): Flow<ParamsOf<S>, Resolved<Awaited<R>>>;
/** Defines a flow from options, without params. */
export function flow<R>(
  options: FlowOptions<undefined>,
  body: FlowBody<Record<string, unknown>, R>,
): Flow<Record<string, unknown>, Resolved<Awaited<R>>>;
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
    run(params = {}, runOptions = {}) {
      return executeFlow(def, params as Record<string, unknown>, runOptions);
    },
  } as Flow<unknown, unknown>;
  if (location) Object.defineProperty(def, "location", { value: location });
  return def;
}

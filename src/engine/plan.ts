/**
 * Planning: runs a flow body without running any task, to get its graph for validation,
 * `describe`, `graph` and `--dry-run`. Where the body awaits a result, the graph past that point
 * depends on run-time values; the plan records where that is.
 *
 * @module
 */

import {
  errorMessage,
  FlowValidationError,
  NotJsonError,
  type SourceLocation,
  type ValidationIssue,
} from "../core/errors.ts";
import type { FlowGraph, TaskNode } from "../core/model.ts";
import { checkParamsSchema } from "../core/params.ts";
import { checkPermissionSet } from "../core/permissions.ts";
import { scheduleIssues } from "../core/schedule.ts";
import {
  callerLocation,
  type CallOptions,
  type FlowDefinition,
  type FlowScope,
  flowScopeStorage,
  PROTOCOL_VERSION,
  type TaskDefinition,
} from "../core/protocol.ts";
import { didYouMean } from "../core/suggest.ts";
import { validateFlowGraph } from "../core/validate.ts";
import { AVAILABLE_EXECUTORS, CallIds, scanArgs, TaskConfigs, workingDir } from "./calls.ts";
import { DEFAULT_MAP_LIMIT, type MapOptions, taskDefinitionOf } from "./run.ts";
import { codeHash } from "./task_cache.ts";
import type { FlowOptions } from "./types.ts";

const FLOW_KEYS = [
  "name",
  "description",
  "params",
  "permissions",
  "concurrency",
  "defaults",
  "hooks",
  "middleware",
  "sandbox",
  "schedule", // read by orchestra serve (src/core/schedule.ts checks it)
];

/** Checks a flow's option names and its name (graph validation checks the values). */
function checkFlowKeys(options: FlowOptions, location?: SourceLocation): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const k of Object.keys(options)) {
    if (!FLOW_KEYS.includes(k)) {
      issues.push({
        message: `Flow "${options.name}" has unknown option "${k}"${didYouMean(k, FLOW_KEYS)}`,
        hint: `flow options are: ${FLOW_KEYS.join(", ")}`,
      });
    }
  }
  if (typeof options.name !== "string" || options.name.trim() === "") {
    issues.push({ message: "A flow needs a non-empty name", hint: 'flow("etl", (f) => …)' });
  }
  if (location) { for (const i of issues) i.location ??= location; }
  return issues;
}

/** Checks a flow's own options: unknown keys, the params schema, the ceiling, concurrency. */
export function checkFlowOptions(
  options: FlowOptions,
  location?: SourceLocation,
): ValidationIssue[] {
  const issues = checkFlowKeys(options, location);
  issues.push(...checkParamsSchema(options.params));
  for (const p of checkPermissionSet(options.permissions, "the flow's permissions")) {
    issues.push({ message: p });
  }
  const sandbox = options.sandbox as unknown;
  if (sandbox !== undefined && sandbox !== true && sandbox !== false && sandbox !== "strict") {
    issues.push({
      message: `sandbox must be true, false or "strict", got ${JSON.stringify(sandbox)}`,
      hint: 'leave it out (user code runs in a flow isolate), "strict", or false to opt out',
    });
  }
  const c = options.concurrency;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1)) {
    issues.push({ message: `concurrency must be a whole number ≥ 1, got ${c}` });
  }
  if (location) { for (const i of issues) i.location ??= location; }
  return issues;
}

/** A TS flow's `schedule` option: what orchestra serve would refuse, found by validate too. */
function scheduleProblems(def: FlowDefinition): ValidationIssue[] {
  const options = def.options as unknown as FlowOptions;
  return scheduleIssues(options.name, options.schedule, options.params).map((
    { path: _path, ...i },
  ) => ({
    ...i,
    message: `Flow "${options.name}" option ${i.message}`,
    ...(def.location ? { location: def.location } : {}),
  }));
}

class PlanRef {
  constructor(readonly id: string, readonly planner: Planner) {}
  then(_ok?: unknown, onrejected?: ((e: unknown) => unknown) | null): Promise<never> {
    this.planner.boundary(this.id);
    const p = Promise.reject(new DynamicBoundary(this.id));
    return (onrejected ? p.catch(onrejected) : p) as Promise<never>;
  }
}

class DynamicBoundary extends Error {
  constructor(readonly taskId: string) {
    super(`The plan stops where the body awaits "${taskId}"`);
    this.name = "DynamicBoundary";
  }
}

const isPlanRef = (v: object) => v instanceof PlanRef;

class Planner implements FlowScope {
  readonly protocol = PROTOCOL_VERSION;
  readonly nodes: TaskNode[] = [];
  readonly issues: ValidationIssue[] = [];
  dynamicAfter: FlowGraph["dynamicAfter"];
  readonly #ids = new CallIds();
  readonly #configs: TaskConfigs;
  readonly #reported = new Set<TaskDefinition>();
  /** Cached tasks, whose code hash the plan shows in their cache key. */
  readonly cached = new Map<TaskDefinition, TaskNode>();

  constructor(options: FlowOptions, baseDir: string | undefined, sandboxed: boolean) {
    this.#configs = new TaskConfigs(
      options.defaults,
      options.permissions,
      options.sandbox,
      { ...(baseDir === undefined ? {} : { baseDir }), sandboxed },
    );
  }

  boundary(taskId: string): void {
    if (this.dynamicAfter) return;
    this.dynamicAfter = { taskId };
    const loc = callerLocation();
    if (loc) this.dynamicAfter.location = loc;
  }

  #node(
    task: TaskDefinition,
    kind: "task" | "map",
    args: readonly unknown[],
    explicitId?: string,
  ): TaskNode {
    // What run refuses before the first task, validation reports: the task's options and
    // where it can run (graph validation checks executors and the ceiling itself).
    const { config, optionIssues, placementIssues } = this.#configs.get(task);
    const issues = [...optionIssues, ...placementIssues];
    let id: string;
    try {
      id = explicitId === undefined ? this.#ids.next(config.name) : this.#ids.claim(explicitId);
    } catch (e) {
      // A bad or repeated id is a problem of the flow, reported with the rest.
      id = this.#ids.next(config.name);
      this.issues.push({ message: (e as Error).message, taskId: id });
    }
    if (!this.#reported.has(task)) {
      this.#reported.add(task);
      for (const i of issues) this.issues.push({ ...i, taskId: id });
    }
    const needs: string[] = [];
    try {
      scanArgs(id, args, isPlanRef, (r) => {
        const dep = (r as PlanRef).id;
        if (!needs.includes(dep)) needs.push(dep);
      });
    } catch (e) {
      if (!(e instanceof NotJsonError)) throw e;
      this.issues.push({ message: e.message, taskId: id });
    }
    const node: TaskNode = { id, name: config.name, kind, needs, config };
    if (task.plugin) node.plugin = { ...task.plugin };
    if (task.moduleUrl) node.module = task.moduleUrl;
    if (config.cache !== undefined && !this.cached.has(task)) this.cached.set(task, node);
    const loc = callerLocation() ?? task.location;
    if (loc) node.location = loc;
    if (this.issues.length && this.issues[this.issues.length - 1].taskId === id) {
      this.issues[this.issues.length - 1].location ??= loc;
    }
    this.nodes.push(node);
    return node;
  }

  call(task: TaskDefinition, args: unknown[], options?: CallOptions): PlanRef {
    return new PlanRef(this.#node(task, "task", args, options?.id).id, this);
  }

  map(items: unknown, task: unknown, options: MapOptions = {}): PlanRef {
    const def = taskDefinitionOf(task);
    const node = this.#node(def, "map", [items], options.id);
    const count = Array.isArray(items) ? items.length : "dynamic";
    node.map = { items: count };
    if (options.concurrency !== undefined) node.map.concurrency = options.concurrency;
    const limit = options.maxItems ?? DEFAULT_MAP_LIMIT;
    if (typeof count === "number" && count > limit) {
      this.issues.push({
        message: `Task "${node.id}": map over ${count} items exceeds the limit of ${limit}`,
        taskId: node.id,
        hint: `pass { maxItems: ${count} } to f.map() if this is intended`,
      });
    }
    return new PlanRef(node.id, this);
  }
}

/** Options of {@linkcode planFlow}. */
export interface PlanOptions {
  /**
   * The absolute directory relative permission paths resolve against when requests are
   * compared with the ceiling. @default the working directory
   */
  baseDir?: string;
  /**
   * The flow's user code runs in a flow isolate with no permissions (`orchestra run`'s
   * default): tasks that request permissions or declare secrets are planned in task workers.
   * @default false
   */
  sandboxed?: boolean;
}

/**
 * Plans a flow with the given (already validated) params and validates the result.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { planFlow } from "@orchestra/orchestra";
 * const one = task("one", () => 1);
 * const double = task("double", (n: number) => n * 2);
 * const graph = await planFlow(flow("demo", () => double(one())), {});
 * console.assert(graph.nodes[1].needs[0] === "one" && graph.issues.length === 0);
 * ```
 */
export async function planFlow(
  def: FlowDefinition,
  params: Record<string, unknown>,
  planOptions: PlanOptions = {},
): Promise<FlowGraph> {
  const options = def.options as unknown as FlowOptions;
  const baseDir = planOptions.baseDir ?? workingDir();
  const planner = new Planner(options, baseDir, planOptions.sandboxed === true);
  const handle = {
    runId: "plan",
    flow: options.name,
    map: (items: unknown, task: unknown, o?: MapOptions) => planner.map(items, task, o),
    call: (task: unknown, args: unknown[], o?: CallOptions) =>
      planner.call(taskDefinitionOf(task), args, o),
  };
  const flowIssues = [...checkFlowKeys(options, def.location), ...scheduleProblems(def)];
  // The body is planned even when the flow's own options are wrong: every problem, one pass.
  {
    try {
      const returned = flowScopeStorage().run(
        planner,
        () => (def.body as (f: unknown, p: unknown) => unknown)(handle, params),
      );
      // Awaiting a returned reference would mark a body that never awaits as dynamic: only an
      // async body's promise is awaited.
      if (returned instanceof Promise) await returned;
    } catch (e) {
      if (e instanceof FlowValidationError) {
        // A call found a problem of the flow itself (a plugin's params, say): report it as such.
        planner.issues.push(...e.issues);
      } else if (!(e instanceof DynamicBoundary)) {
        const issue: ValidationIssue = {
          message: `The body of flow "${options.name}" threw while being planned: ${
            errorMessage(e)
          }`,
          hint: "a flow body should only call tasks and combine their references; " +
            "move other work into tasks",
        };
        const at = errorLocation(e) ?? def.location;
        if (at) issue.location = at;
        planner.issues.push(issue);
      }
    }
  }
  // What each cached task's key is made of includes a hash of its code.
  await Promise.all(
    [...planner.cached].map(async ([task, node]) => {
      node.config.cache!.code = await codeHash(task);
    }),
  );
  const graph: FlowGraph = {
    name: options.name,
    nodes: planner.nodes,
    issues: [...flowIssues, ...planner.issues],
  };
  if (options.description !== undefined) graph.description = options.description;
  if (def.location) graph.location = def.location;
  if (options.params) graph.params = options.params;
  if (options.permissions) graph.permissions = options.permissions;
  if (options.concurrency !== undefined) graph.concurrency = options.concurrency;
  if (planner.dynamicAfter) graph.dynamicAfter = planner.dynamicAfter;
  graph.issues = validateFlowGraph(graph, {
    executors: AVAILABLE_EXECUTORS,
    ...(baseDir === undefined ? {} : { baseDir }),
  });
  return graph;
}

function errorLocation(e: unknown): SourceLocation | undefined {
  const line = (e instanceof Error ? e.stack ?? "" : "").split("\n").find((l) =>
    /file:\/\//.test(l) && !/\/src\/(core|engine|api)\//.test(l)
  );
  const m = line && /(file:[^()\s]+):(\d+):(\d+)/.exec(line);
  if (!m) return undefined;
  return { file: new URL(m[1]).pathname, line: Number(m[2]), col: Number(m[3]) };
}

/**
 * Subflows: a flow called inside another flow's body is one task of the parent (`report`), and
 * the child's own tasks are tasks of the same run, named under it (`report/extract`). The child's
 * body runs at the call, in a scope that prefixes its calls' ids and hands them to the parent's
 * scope: so they are journaled, resumed, retried and cancelled with the parent's, and planning
 * shows them like any other. The parent's task stands for the child's result: it waits for the
 * references the child's body returned and its value is that result, resolved.
 *
 * @module
 */

import { FlowValidationError, type ValidationIssue } from "../core/errors.ts";
import type { TaskSettings } from "../core/model.ts";
import { validateParams } from "../core/params.ts";
import {
  callerLocation,
  type CallOptions,
  type FlowDefinition,
  type FlowScope,
  flowScopeStorage,
  isFlowDefinition,
  isTaskDefinition,
  PROTOCOL_VERSION,
  TASK_BRAND,
  type TaskDefinition,
} from "../core/protocol.ts";
import { CallIds } from "./calls.ts";
import { taskDefinitionOf } from "./graph.ts";
import type { FlowOptions } from "./types.ts";

/** What a scope must offer for a subflow to be called in it. */
type SubflowHost = FlowScope & Required<Pick<FlowScope, "map" | "reserveId">>;

function optionsOf(def: FlowDefinition): FlowOptions {
  return def.options as unknown as FlowOptions;
}

/** A flow's name as a task name: ids are built from it, so no `#`, brackets or spaces. */
function taskName(flow: string): string {
  return flow.replace(/[#\[\]\s]+/g, "-") || "subflow";
}

const standIns = new WeakMap<FlowDefinition, TaskDefinition>();

/** The parent's task of a subflow: it returns the child's result, references resolved. */
function standIn(child: FlowDefinition): TaskDefinition {
  let def = standIns.get(child);
  if (!def) {
    const name = optionsOf(child).name;
    def = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options: { name: taskName(name) },
      fn: ((result: unknown) => result ?? null) as never,
      identity: `subflow:${name}`,
      subflow: name,
    };
    standIns.set(child, def);
  }
  return def;
}

// A child's `defaults:` apply to its own tasks: each task seen through the child gets them under
// its own options (one derived definition per child and task, so settings are resolved once).
const derived = new WeakMap<FlowDefinition, WeakMap<TaskDefinition, TaskDefinition>>();

function withDefaults(child: FlowDefinition, task: TaskDefinition): TaskDefinition {
  const defaults: TaskSettings | undefined = optionsOf(child).defaults;
  if (!defaults || task.subflow !== undefined) return task;
  let byTask = derived.get(child);
  if (!byTask) derived.set(child, byTask = new WeakMap());
  let def = byTask.get(task);
  if (!def) {
    def = Object.create(task, { options: { value: { ...defaults, ...task.options } } });
    byTask.set(task, def!);
  }
  return def!;
}

const isReference = (v: unknown): boolean =>
  v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";

/** The child's params: literal values checked against its schema, references passed on. */
function childParams(child: FlowDefinition, id: string, given: unknown): Record<string, unknown> {
  const options = optionsOf(child);
  const issue = (message: string, hint?: string): FlowValidationError => {
    const i: ValidationIssue = { message: `Subflow "${id}" (flow "${options.name}"): ${message}` };
    if (hint) i.hint = hint;
    const at = callerLocation();
    if (at) i.location = at;
    return new FlowValidationError(options.name, [i]);
  };
  if (given === undefined || given === null) given = {};
  if (typeof given !== "object" || Array.isArray(given) || isReference(given)) {
    throw issue(
      "its params must be an object of values or task references",
      `call it as ${taskName(options.name)}({ name: value, … })`,
    );
  }
  const literal: Record<string, unknown> = {};
  const refs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
    if (isReference(v)) refs[k] = v;
    else if (v !== undefined) literal[k] = v;
  }
  const schema = options.params;
  // A reference's value is known only at run time: its name is checked, its value is not.
  const checked = schema && Object.keys(refs).length
    ? Object.fromEntries(Object.entries(schema).filter(([k]) => !(k in refs)))
    : schema;
  const unknownRefs = Object.keys(refs).filter((k) => !schema || !Object.hasOwn(schema, k));
  const { values, issues } = validateParams(checked, {
    ...literal,
    ...Object.fromEntries(unknownRefs.map((k) => [k, null])),
  });
  if (issues.length) {
    const list = issues.map((i) => i.message.replace(/^./, (c) => c.toLowerCase()));
    throw issue(
      list.join("; "),
      issues.find((i) => i.hint)?.hint?.replace(/pass it with --param (\S+)=VALUE/, "pass $1"),
    );
  }
  const out: Record<string | symbol, unknown> = { ...values, ...refs };
  for (const s of Object.getOwnPropertySymbols(given)) {
    out[s] = (given as Record<symbol, unknown>)[s];
  }
  return out as Record<string, unknown>;
}

/**
 * A params key (a symbol, never a param) with references the child's tasks wait for besides
 * those in its params: a YAML subflow task's `needs:`. A YAML child honours it; a TypeScript
 * body does not see it.
 */
export const SUBFLOW_AFTER: unique symbol = Symbol.for("orchestra.subflow.after") as never;

/**
 * The scope a child's body runs in: its calls get the child's own ids (`extract`, `extract#2`),
 * prefixed with the subflow's (`report/extract`), and go to the parent's scope.
 */
class SubflowScope implements SubflowHost {
  readonly protocol = PROTOCOL_VERSION;
  readonly #ids = new CallIds();

  constructor(
    readonly parent: SubflowHost,
    readonly prefix: string,
    readonly chain: readonly string[],
    readonly child: FlowDefinition,
  ) {}

  get flow(): string {
    return optionsOf(this.child).name;
  }

  get runId(): string | undefined {
    return this.parent.runId;
  }

  #id(name: string, explicit: string | undefined): string {
    return this.prefix +
      (explicit === undefined ? this.#ids.next(name) : this.#ids.claim(explicit));
  }

  call(task: TaskDefinition, args: unknown[], options?: CallOptions): unknown {
    const def = withDefaults(this.child, task);
    const id = this.#id(def.options.name, options?.id);
    return this.parent.call(def, args, { ...options, id });
  }

  map(items: unknown, task: unknown, options: CallOptions = {}): unknown {
    const def = isTaskDefinition(task) ? withDefaults(this.child, task) : task;
    const name = isTaskDefinition(task) ? task.options.name : "map";
    return this.parent.map(items, def, { ...options, id: this.#id(name, options.id) });
  }

  reserveId(name: string, explicit?: string): string {
    return this.#ids.reserve(name, explicit);
  }

  /** The `f` the child's body receives. */
  handle(): unknown {
    return {
      runId: this.runId ?? "plan",
      flow: this.flow,
      map: (items: unknown, task: unknown, o?: CallOptions) => this.map(items, task, o),
      call: (task: unknown, args: unknown, o?: CallOptions) => callIn(this, task, args, o),
    };
  }
}

/**
 * What `f.call(x, args, options)` does in any scope: a task call, or, for a flow, a subflow
 * call with `args` as its params.
 */
export function callIn(
  scope: FlowScope,
  target: unknown,
  args: unknown,
  options?: CallOptions,
): unknown {
  if (isFlowDefinition(target)) return callSubflow(target, args, options, scope);
  // Anything else gets the task error's hint: wrap the function with task().
  return scope.call(taskDefinitionOf(target), args as unknown[], options);
}

/**
 * Calls flow `child` as a subflow of the flow whose body is running (or of `scope`): its tasks
 * join the run under the returned reference's id, and the reference's value is its result.
 * Throws {@linkcode FlowValidationError} for a cycle of flows (`a → b → a`) or invalid params.
 */
export function callSubflow(
  child: FlowDefinition,
  params: unknown,
  options?: CallOptions,
  scope: FlowScope | undefined = flowScopeStorage().getStore(),
): unknown {
  const name = optionsOf(child).name;
  if (options?.condition) {
    // The child's tasks would run whatever the condition said of the parent's task.
    throw new TypeError(`Subflow "${name}": a subflow call takes no condition`);
  }
  if (!scope) {
    throw new TypeError(
      `Flow "${name}" was called outside a flow body: call it inside another flow's body to ` +
        `use it as a subflow, or run it with ${taskName(name)}.run(params)`,
    );
  }
  if (!scope.map || !scope.reserveId) {
    throw new TypeError(`Flow "${name}" cannot be a subflow here: this engine has no subflows`);
  }
  const host = scope as SubflowHost;
  const chain = host instanceof SubflowScope ? host.chain : [host.flow ?? "?"];
  if (chain.includes(name)) {
    const issue: ValidationIssue = {
      message: `Flows call each other in a cycle: ${[...chain, name].join(" → ")}`,
      hint: "a flow may not call itself, directly or through its subflows; break the cycle",
    };
    const at = callerLocation();
    if (at) issue.location = at;
    throw new FlowValidationError(chain[0], [issue]);
  }
  const id = host.reserveId(taskName(name), options?.id);
  const values = childParams(child, id, params);
  const sub = new SubflowScope(host, `${id}/`, [...chain, name], child);
  const body = child.body as (f: unknown, p: unknown) => unknown;
  const returned = flowScopeStorage().run(sub, () => body(sub.handle(), values));
  if (returned instanceof Promise) {
    throw new FlowValidationError(name, [{
      message: `Subflow "${id}" (flow "${name}") has an async body, which a subflow cannot ` +
        `have yet`,
      hint: "return the child's task references without awaiting them, or call the child's " +
        "tasks from the parent",
      ...(child.location ? { location: child.location } : {}),
    }]);
  }
  return host.call(standIn(child), [returned ?? null], { id });
}

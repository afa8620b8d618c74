/**
 * The build step of the compiler, for running: the flow definition whose body calls each
 * compiled task in order (a map for `foreach:`, one call per matrix leg), with its condition
 * and its inputs. The same engine and the same run record as a TypeScript flow.
 *
 * @module
 */

import { normalizeTaskOptions, type TaskOptions, type TaskSettings } from "../../core/model.ts";
import {
  type CallOptions,
  FLOW_BRAND,
  type FlowDefinition,
  PROTOCOL_VERSION,
  TASK_BRAND,
  type TaskDefinition,
} from "../../core/protocol.ts";
import type { FlowHandle } from "../../engine/run.ts";
import type { FlowOptions, TaskContext } from "../../engine/types.ts";
import type { CompiledTask } from "./compiled.ts";
import { conditionOf, type LegGroup } from "./conditions.ts";
import { isTruthy, renderTemplate, type Template } from "./expressions/mod.ts";
import { ancestorsOf } from "./graph.ts";
import { legsOf, titleOf } from "./legs.ts";
import type { FlowSpec } from "./spec.ts";
import { pluginArgs, runTask } from "./task_run.ts";
import { type Input, type Leg, taskValues, type ValueSources } from "./values.ts";

/** What building the runnable flow needs. */
export interface BuildOptions {
  /** The flow file's directory. */
  flowDir: string;
  /** Reads a host variable. */
  hostEnv: (name: string) => string | undefined;
  /** The flow's env. */
  flowEnv: [string, Template][];
  /** The flow's `defaults:`. */
  defaults?: TaskSettings;
}

/** One run's legs and leg groups; kept while the run is recent. */
interface RunState {
  legs: Map<string, Leg[]>;
  legTask: Map<string, string>;
  groups: Map<string, LegGroup>;
  /** `continue-on-error` of calls whose setting is an expression, by engine id. */
  soft: Map<string, boolean>;
}

const RECENT_RUNS = 256;

/** The runnable flow of the compiled tasks. */
export function buildFlow(
  spec: FlowSpec,
  compiled: CompiledTask[],
  options: BuildOptions,
): FlowDefinition {
  const runtime = new FlowRuntime(compiled, options);
  const flowOptions: FlowOptions = { name: spec.name };
  if (spec.fields.description !== undefined) flowOptions.description = spec.fields.description;
  if (spec.fields.params) flowOptions.params = spec.fields.params;
  if (spec.fields.permissions) flowOptions.permissions = spec.fields.permissions;
  if (spec.fields.concurrency !== undefined) flowOptions.concurrency = spec.fields.concurrency;
  if (options.defaults) flowOptions.defaults = options.defaults;
  const body = (f: FlowHandle, params: Record<string, unknown>) => runtime.body(f, params);
  return {
    [FLOW_BRAND]: PROTOCOL_VERSION,
    options: flowOptions,
    body: body as never,
    location: spec.source.at(0),
  };
}

/** The compiled tasks of one flow, and the state of its recent runs. */
class FlowRuntime {
  readonly #compiled: CompiledTask[];
  readonly #options: BuildOptions;
  readonly #byId: Map<string, CompiledTask>;
  readonly #needed: Set<string>;
  readonly #order: CompiledTask[];
  readonly #ancestors: Map<string, string[]>;
  readonly #attempts: Map<string, number>;
  readonly #runs = new Map<string, RunState>();
  readonly #defs = new Map<string, TaskDefinition>();

  constructor(compiled: CompiledTask[], options: BuildOptions) {
    this.#compiled = compiled;
    this.#options = options;
    this.#byId = new Map(compiled.map((c) => [c.spec.id, c]));
    // The flow's result is its last tasks': handlers need every task but are not results.
    this.#needed = new Set(compiled.flatMap((c) => c.spec.handler ? [] : c.needs));
    this.#order = topological(compiled);
    this.#ancestors = ancestorsOf(compiled);
    this.#attempts = new Map();
  }

  /** The flow's body: each task called in order. */
  body(f: FlowHandle, params: Record<string, unknown>): Record<string, unknown> {
    const state = this.#state(f.runId);
    const refs = new Map<string, unknown>();
    const src = this.sources(f.runId, this.hostSecret);
    for (const c of this.#order) {
      const input = inputOf(c, params, refs, this.#ancestors);
      const id = c.spec.id;
      if (c.matrix) {
        const legs = { state, src, defOf: this.#defOf, hostSecret: this.hostSecret };
        refs.set(id, callLegs(f, c, input, params, legs));
        continue;
      }
      const coe = continueOnErrorOf(c, { params, inputs: params });
      if (coe !== undefined) state.soft.set(id, coe);
      const def = this.#defOf(c, titleOf(c, { params, inputs: params, run: { id: f.runId } }), coe);
      const call: CallOptions = { id };
      const condition = conditionOf(c, input, { src });
      if (condition) call.condition = condition;
      refs.set(
        id,
        c.foreach === undefined
          ? f.call(def as never, [input], call)
          : callMap(f, c, input, def, call, () => this.sources(f.runId, this.hostSecret)),
      );
    }
    const result: Record<string, unknown> = {};
    for (const c of this.#compiled) {
      if (!this.#needed.has(c.spec.id) && !c.spec.handler) result[c.spec.id] = refs.get(c.spec.id);
    }
    return result;
  }

  // A task's attempts in all, found when one of them fails (not for every task up front).
  #attemptsOf(c: CompiledTask): number {
    let n = this.#attempts.get(c.spec.id);
    if (n === undefined) {
      n = normalizeTaskOptions(c.options, this.#options.defaults).config.retry.attempts;
      this.#attempts.set(c.spec.id, n);
    }
    return n;
  }

  /** Values for expressions in run `runId`, secrets looked up with `secret`. */
  sources(runId: string, secret: (name: string) => string): ValueSources {
    const state = this.#state(runId);
    return {
      runId,
      tasks: this.#byId,
      legs: state.legs,
      flowEnv: this.#options.flowEnv,
      secret,
      soft: this.#soft(state),
    };
  }

  /** A secret from the host, outside a task (conditions, the foreach list, cache keys). */
  readonly hostSecret = (name: string): string => {
    const v = this.#options.hostEnv(name);
    if (v === undefined) {
      throw new Error(`secret "${name}" is not set: set the environment variable ${name}`);
    }
    return v;
  };

  #state(runId: string): RunState {
    let s = this.#runs.get(runId);
    if (!s) {
      this.#runs.set(
        runId,
        s = {
          legs: new Map(),
          legTask: new Map(),
          groups: new Map(),
          soft: new Map(),
        },
      );
      if (this.#runs.size > RECENT_RUNS) this.#runs.delete(this.#runs.keys().next().value!);
    }
    return s;
  }

  // Whether a failed node (a task, or a leg of one) counts as succeeded: continue-on-error.
  #soft(state: RunState): (nodeId: string) => boolean {
    return (nodeId) => {
      const own = state.soft.get(nodeId);
      if (own !== undefined) return own;
      const c = this.#byId.get(state.legTask.get(nodeId) ?? nodeId);
      return (c?.options.continueOnError ?? this.#options.defaults?.continueOnError) === true;
    };
  }

  readonly #defOf = (c: CompiledTask, name: string, continueOnError?: boolean): TaskDefinition => {
    const key = `${c.spec.id}\0${name}\0${continueOnError}`;
    let def = this.#defs.get(key);
    if (!def) {
      def = taskDefinition(c, name, continueOnError, this.#run, this, this.#options.flowDir);
      this.#defs.set(key, def);
    }
    return def;
  };

  // One attempt; a leg's final failure stops the other legs when its matrix fails fast.
  readonly #run = async (c: CompiledTask, input: Input, ctx: TaskContext): Promise<unknown> => {
    const state = this.#state(ctx.runId);
    const group = state.groups.get(c.spec.id);
    if (group?.failFast && group.failed !== undefined) {
      throw new Error(`not started: leg "${group.failed}" failed and the matrix fails fast`);
    }
    const signal = group ? AbortSignal.any([ctx.signal, group.controller.signal]) : ctx.signal;
    const src = {
      flowDir: this.#options.flowDir,
      hostEnv: this.#options.hostEnv,
      values: (x: TaskContext) => this.sources(x.runId, (n) => x.secret(n)),
    };
    try {
      return await runTask(c, input, ctx, src, signal);
    } catch (e) {
      const last = ctx.attempt >= this.#attemptsOf(c);
      const stops = group?.failFast && group.failed === undefined && !ctx.signal.aborted;
      if (group && stops && last && !this.#soft(state)(ctx.taskId)) {
        group.failed = ctx.taskId;
        group.controller.abort(
          new Error(`stopped: leg "${ctx.taskId}" failed and the matrix fails fast`),
        );
      }
      throw e;
    }
  };
}

/** A foreach task: a map over its list, rendered once what it reads is known. */
function callMap(
  f: FlowHandle,
  c: CompiledTask,
  input: Input,
  def: TaskDefinition,
  call: CallOptions,
  sources: () => ValueSources,
): unknown {
  const foreach = c.foreach!;
  const id = c.spec.id;
  return f.map(input, def as never, {
    ...call,
    ...(c.spec.fields.concurrency ? { concurrency: c.spec.fields.concurrency } : {}),
    select: (value) => {
      const v = value as Input;
      // The list may not read item or index: render without the env, which may.
      const values = taskValues(c, v, sources(), false);
      const list = Array.isArray(foreach)
        ? foreach.map((tpl) => "literal" in tpl ? tpl.literal : renderTemplate(tpl, { values }))
        : renderTemplate(foreach, { values });
      if (!Array.isArray(list)) {
        throw new TypeError(
          `foreach of task "${id}" must give a list, got ${list === null ? "null" : typeof list} ${
            JSON.stringify(list)?.slice(0, 80)
          }`,
        );
      }
      return list.map((item, index) => ({ ...v, item, index }));
    },
  });
}

/** What a call of `c` is given: the results it reads, its params, what else it waits for. */
function inputOf(
  c: CompiledTask,
  params: Record<string, unknown>,
  refs: Map<string, unknown>,
  ancestors: Map<string, string[]>,
): Input {
  const deps: Record<string, unknown> = {};
  for (const id of new Set([...c.needs, ...c.reads])) deps[id] = refs.get(id);
  const own: Record<string, unknown> = {};
  for (const name of c.params ?? Object.keys(params)) {
    if (Object.hasOwn(params, name)) own[name] = params[name];
  }
  const input: Input = { tasks: deps, params: own };
  // failure(), always() and cancelled() look at every ancestor, so the task waits for them all.
  if (typeof c.condition === "object" && c.condition.always) {
    const extra = (ancestors.get(c.spec.id) ?? []).filter((a) => !Object.hasOwn(deps, a));
    if (extra.length) input.after = extra.map((a) => refs.get(a));
  }
  return input;
}

/** `continue-on-error` of a call: the setting, or its expression evaluated. */
function continueOnErrorOf(c: CompiledTask, values: Record<string, unknown>): boolean | undefined {
  if (!c.continueOnError) return undefined;
  return isTruthy(renderTemplate(c.continueOnError, { values }));
}

interface LegContext {
  state: RunState;
  src: ValueSources;
  defOf: (c: CompiledTask, name: string, continueOnError?: boolean) => TaskDefinition;
  hostSecret: (name: string) => string;
}

/** Calls each leg of matrix task `c`; returns the list of their references. */
function callLegs(
  f: FlowHandle,
  c: CompiledTask,
  input: Input,
  params: Record<string, unknown>,
  ctx: LegContext,
): unknown[] {
  const id = c.spec.id;
  const legs = legsOf(c, { params, inputs: params });
  ctx.state.legs.set(id, legs);
  for (const l of legs) ctx.state.legTask.set(l.id, id);
  const failFast = typeof c.matrix!.failFast === "boolean"
    ? c.matrix!.failFast
    : isTruthy(renderTemplate(c.matrix!.failFast, { values: { params, inputs: params } }));
  const group: LegGroup = { failFast, controller: new AbortController() };
  ctx.state.groups.set(id, group);
  const slots = c.matrix!.maxParallel;
  const refs: unknown[] = [];
  legs.forEach((leg, i) => {
    const legInput: Input = { ...input, matrix: leg.values, leg: [i, legs.length] };
    const slot = slots !== undefined && i >= slots ? legs[i - slots].id : undefined;
    // A leg beyond max-parallel waits for the leg `slots` places before it.
    if (slot !== undefined) {
      legInput.after = [...(input.after as unknown[] ?? []), refs[i - slots!]];
    }
    const values = { params, inputs: params, matrix: leg.values };
    const title = titleOf(c, { ...values, run: { id: f.runId } }, leg.values);
    const coe = continueOnErrorOf(c, values);
    if (coe !== undefined) ctx.state.soft.set(leg.id, coe);
    const def = ctx.defOf(c, title, coe);
    const call: CallOptions = { id: leg.id };
    const condition = conditionOf(c, legInput, { src: ctx.src, group, ...(slot ? { slot } : {}) });
    if (condition) call.condition = condition;
    refs.push(f.call(def as never, [legInput], call));
  });
  return refs;
}

function taskDefinition(
  c: CompiledTask,
  name: string,
  continueOnError: boolean | undefined,
  run: (c: CompiledTask, input: Input, ctx: TaskContext) => Promise<unknown>,
  runtime: {
    sources(runId: string, secret: (name: string) => string): ValueSources;
    hostSecret(name: string): string;
  },
  flowDir: string,
): TaskDefinition {
  // Compiled tasks spawn commands from this isolate: a default of "worker" does not apply.
  const options: TaskOptions = { ...c.options, name, executor: c.options.executor ?? "inline" };
  if (continueOnError !== undefined) options.continueOnError = continueOnError;
  if (c.cacheKey) {
    const keyTpl = c.cacheKey;
    options.cache = {
      ...(typeof options.cache === "object" ? options.cache : {}),
      key: (args) => {
        const input = args[0] as Input;
        const values = {
          ...input,
          ...taskValues(c, input, runtime.sources("", runtime.hostSecret)),
        };
        return `${c.spec.id}:${String(renderTemplate(keyTpl, { values }))}`;
      },
    };
  }
  const def: TaskDefinition = {
    [TASK_BRAND]: PROTOCOL_VERSION,
    options,
    fn: ((input: Input, ctx: TaskContext) => run(c, input, ctx)) as never,
    location: c.spec.source.locate(c.spec.path),
    identity: c.identity,
    // What the policy and the authorization service judge a plugin task by.
    ...(c.uses
      ? {
        plugin: {
          name: c.uses.manifest.name,
          version: c.uses.manifest.version,
          source: c.uses.source,
        },
      }
      : {}),
  };
  if (!c.uses || options.executor !== "worker") return def;
  // The plugin's module, imported by a worker started with the task's grant.
  return {
    ...def,
    moduleUrl: c.uses.moduleUrl,
    workerName: `plugin:${c.uses.manifest.name}`,
    prepare: ((args: unknown[], ctx: TaskContext) => {
      const input = args[0] as Input;
      const values = taskValues(c, input, runtime.sources(ctx.runId, (n) => ctx.secret(n)));
      return pluginArgs(c, input, values, flowDir);
    }) as never,
  };
}

function topological(compiled: CompiledTask[]): CompiledTask[] {
  const byId = new Map(compiled.map((c) => [c.spec.id, c]));
  const done = new Set<string>();
  const out: CompiledTask[] = [];
  const visit = (c: CompiledTask, stack: Set<string>) => {
    if (done.has(c.spec.id) || stack.has(c.spec.id)) return;
    stack.add(c.spec.id);
    for (const n of new Set([...c.needs, ...c.reads])) {
      const d = byId.get(n);
      if (d) visit(d, stack);
    }
    stack.delete(c.spec.id);
    done.add(c.spec.id);
    out.push(c);
  };
  for (const c of compiled) visit(c, new Set());
  return out;
}

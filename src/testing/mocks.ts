/**
 * Mocked tasks and plugins for `runFlow()`: a flow definition is wrapped so that every task
 * call is seen (its definition and arguments, by call id), and one innermost middleware
 * replaces the attempt of a mocked task (and tells a `TestClock` which attempts are running).
 * A mocked task keeps its id, name, retries, timeout, hooks and events; only its work is
 * replaced, and it runs in this process even when the task would run in a worker or spawn a
 * command.
 *
 * @module
 */

import {
  FLOW_BRAND,
  type FlowDefinition,
  type FlowScope,
  flowScopeStorage,
  PROTOCOL_VERSION,
  taskContextStorage,
  type TaskDefinition,
} from "../core/protocol.ts";
import type { FlowHandle, MapOptions, TaskRef } from "../engine/run.ts";
import type { FlowOptions, Middleware, TaskContext } from "../engine/types.ts";
import { type PluginContext, pluginContext, type PluginEnv } from "../plugins/contract.ts";

/**
 * What replaces a task: a function called like the task's own (its arguments with references
 * resolved, then the {@linkcode TaskContext}), or any other value, which becomes the result.
 * A YAML task's single argument is its input: `{ tasks: { <id>: result }, params, item?,
 * index? }` (item and index in a `foreach`).
 */
export type TaskMock = unknown;

/**
 * What replaces a plugin: a function called like the plugin's `run` (its params, then a
 * {@linkcode PluginContext}), or any other value, which becomes the result.
 */
export type PluginMock =
  | ((params: Record<string, unknown>, ctx: PluginContext) => unknown)
  | string
  | number
  | boolean
  | null
  | readonly unknown[]
  | { readonly [key: string]: unknown };

/** A YAML task's plugin: its `uses:` (or `plugin:`), its `with:`, its needs and its flow's dir. */
export interface UsesInfo {
  /** The `uses:` as written: `http`, `http@^1.2`, `./x.ts`, `jsr:@s/p@1.0.0`, … */
  uses: string;
  /** Its `with:` (or `params:`) as written. */
  with: unknown;
  /** The tasks it needs: their results are the plugin's inputs. */
  needs: string[];
  /** The flow file's directory: the plugin's `ctx.dir`. */
  dir: string;
}

/** What {@linkcode withMocks} takes. */
export interface MockSetup {
  /** Mocked tasks, by task id, map group id or task name. */
  mocks: Readonly<Record<string, TaskMock>>;
  /** Mocked plugins, by plugin name or `uses:` as written. */
  plugins: Readonly<Record<string, PluginMock>>;
  /** For a YAML flow: each task's `uses:`, by task id. */
  uses: ReadonlyMap<string, UsesInfo>;
  /** Called as each attempt starts (a `TestClock`'s `hold`); what it returns, as it ends. */
  hold?: (attempt: TaskContext) => () => void;
}

/** A wrapped flow and what its mocks met while it ran. */
export interface MockedFlow {
  /** The flow to run instead. */
  def: FlowDefinition;
  /**
   * The plugins its tasks use: each `uses:` as written and by name, and the names of the
   * plugin tasks its body called.
   */
  pluginNames: Set<string>;
}

interface Call {
  def: TaskDefinition;
  args: () => unknown[];
}

/**
 * The plugin name a `uses:` refers to: `http@^1.2` → `http`, `./lib/x.ts` → `x`,
 * `./x/mod.ts` → `x`, `jsr:@scope/x@1.0.0` → `x`, `npm:x@1.0.0` → `x`.
 *
 * @example
 * ```ts
 * import { usesName } from "@orchestra/orchestra/testing";
 * console.assert(usesName("http@^1.2") === "http");
 * console.assert(usesName("https://example.com/plugins/notify@2.0.0/mod.ts") === "notify");
 * ```
 */
export function usesName(uses: string): string {
  let s = uses.replace(/^(jsr|npm):/, "").replace(/[?#].*$/, "");
  s = s.replace(/\/(mod|index)\.[cm]?[jt]sx?$/, "").replace(/\.[cm]?[jt]sx?$/, "");
  s = s.slice(s.lastIndexOf("/") + 1);
  // A version follows the last "@" that is not the first character (`@scope` is a scope).
  const at = s.lastIndexOf("@");
  return at > 0 ? s.slice(0, at) : s;
}

const ITEM = /^(.*)\[(\d+)\]$/;

/**
 * Wraps `def` so that the given tasks and plugins are mocked. The wrapper sees each call the
 * body makes (through the ambient scope and through `f.call` / `f.map`); its innermost
 * middleware replaces the attempts of mocked tasks.
 */
export function withMocks(def: FlowDefinition, setup: MockSetup): MockedFlow {
  const calls = new Map<string, Call>();
  const pluginNames = new Set<string>();
  for (const u of setup.uses.values()) pluginNames.add(u.uses).add(usesName(u.uses));

  const remember = (ref: unknown, task: unknown, args: () => unknown[]) => {
    const id = (ref as TaskRef<unknown> | undefined)?.id;
    if (typeof id !== "string") return;
    const d = task as TaskDefinition;
    calls.set(id, { def: d, args });
    const name = pluginOf(d);
    if (name !== undefined) pluginNames.add(name);
  };

  const body = (f: FlowHandle, params: unknown) => {
    const real = flowScopeStorage().getStore();
    if (real === undefined) return (def.body as (f: FlowHandle, p: unknown) => unknown)(f, params);
    const scope: FlowScope = {
      protocol: real.protocol,
      call(task, args, options) {
        const ref = real.call(task, args, options);
        remember(ref, task, () => args);
        return ref;
      },
    };
    const handle: FlowHandle = {
      runId: f.runId,
      flow: f.flow,
      call: (task, args, options) => {
        const ref = f.call(task, args, options);
        remember(ref, task, () => args);
        return ref;
      },
      map:
        ((items: unknown, task: (item: unknown) => PromiseLike<unknown>, options?: MapOptions) => {
          // The list each item comes from: seen through `select` unless given as a plain list
          // (adding `select` there would make the items wait for each other's references).
          let list: unknown = items;
          let opts = options;
          if (!Array.isArray(items) || options?.select || options?.condition) {
            const select = options?.select;
            opts = {
              ...options,
              select: (value: unknown) => (list = select ? select(value) : value),
            };
          }
          const ref = (f.map as (i: unknown, t: unknown, o?: MapOptions) => TaskRef<unknown>)(
            items,
            task,
            opts,
          );
          remember(ref, task, () => [list]);
          return ref;
        }) as FlowHandle["map"],
    };
    return flowScopeStorage().run(
      scope,
      () => (def.body as (f: FlowHandle, p: unknown) => unknown)(handle, params),
    );
  };

  const callOf = (taskId: string): { call: Call | undefined; args: () => unknown[] } => {
    const direct = calls.get(taskId);
    if (direct) return { call: direct, args: direct.args };
    const m = ITEM.exec(taskId);
    const group = m ? calls.get(m[1]) : undefined;
    if (!m || !group) return { call: undefined, args: () => [] };
    const index = Number(m[2]);
    return {
      call: group,
      args: () => {
        const list = group.args()[0];
        return [Array.isArray(list) ? list[index] : undefined];
      },
    };
  };

  const mockMiddleware: Middleware = async (ctx, next) => {
    const release = setup.hold?.(ctx);
    try {
      const { call, args: argsOf } = callOf(ctx.taskId);
      const found = findMock(ctx, setup, call);
      if (found === undefined) return await next();
      const args = await resolveRefs(argsOf()) as unknown[];
      return await taskContextStorage().run(ctx, async () => {
        const mock = found.mock;
        if (found.kind === "task") {
          return typeof mock === "function" ? await mock(...args, ctx) : mock;
        }
        if (typeof mock !== "function") return mock;
        const { params, inputs, env } = await pluginArgs(call?.def, args, ctx, setup);
        return await mock(params, pluginContext(ctx, inputs, env));
      });
    } finally {
      release?.();
    }
  };

  const options = def.options as unknown as FlowOptions;
  const wrapped = {
    [FLOW_BRAND]: PROTOCOL_VERSION,
    // Innermost: the flow's own middleware and hooks still see a mocked task.
    options: { ...options, middleware: [...(options.middleware ?? []), mockMiddleware] },
    body,
  } as unknown as FlowDefinition;
  if (def.location) Object.defineProperty(wrapped, "location", { value: def.location });
  return { def: wrapped, pluginNames };
}

/** The plugin a task definition runs, when it is a plugin task (`workerName: plugin:NAME`). */
function pluginOf(def: TaskDefinition | undefined): string | undefined {
  const w = def?.workerName;
  return typeof w === "string" && w.startsWith("plugin:") ? w.slice("plugin:".length) : undefined;
}

function findMock(
  ctx: TaskContext,
  setup: MockSetup,
  call: Call | undefined,
): { kind: "task" | "plugin"; mock: unknown } | undefined {
  const group = ITEM.exec(ctx.taskId)?.[1];
  for (const key of [ctx.taskId, group, ctx.name]) {
    if (key !== undefined && Object.hasOwn(setup.mocks, key)) {
      return { kind: "task", mock: setup.mocks[key] };
    }
  }
  const names: string[] = [];
  const uses = setup.uses.get(ctx.taskId) ?? (group ? setup.uses.get(group) : undefined);
  if (uses) names.push(uses.uses, usesName(uses.uses));
  const fromDef = pluginOf(call?.def);
  if (fromDef !== undefined) names.push(fromDef);
  for (const key of names) {
    if (Object.hasOwn(setup.plugins, key)) return { kind: "plugin", mock: setup.plugins[key] };
  }
  return undefined;
}

/** The params, inputs and environment a plugin would get for this call. */
async function pluginArgs(
  def: TaskDefinition | undefined,
  args: unknown[],
  ctx: TaskContext,
  setup: MockSetup,
): Promise<{ params: Record<string, unknown>; inputs: Record<string, unknown>; env: PluginEnv }> {
  if (def?.prepare !== undefined || pluginOf(def) !== undefined) {
    // A plugin task: a worker would receive (params, inputs, env), as `prepare` renders them.
    const prepared = def?.prepare ? await def.prepare(args, ctx as never) : args;
    return {
      params: (prepared[0] ?? {}) as Record<string, unknown>,
      inputs: (prepared[1] ?? {}) as Record<string, unknown>,
      env: (prepared[2] ?? { dir: Deno.cwd() }) as PluginEnv,
    };
  }
  // A YAML task whose plugin runs inline (or is not installed): its `with:` as written.
  const group = ITEM.exec(ctx.taskId)?.[1];
  const uses = setup.uses.get(ctx.taskId) ?? (group ? setup.uses.get(group) : undefined);
  const tasks = (args[0] as { tasks?: Record<string, unknown> } | undefined)?.tasks ?? {};
  const inputs: Record<string, unknown> = {};
  for (const id of uses?.needs ?? []) inputs[id] = tasks[id] ?? null;
  return {
    params: (uses?.with ?? {}) as Record<string, unknown>,
    inputs,
    env: { dir: uses?.dir ?? Deno.cwd() },
  };
}

/** `value` with every task reference in it (a thenable) replaced by its result (or null). */
async function resolveRefs(value: unknown): Promise<unknown> {
  if (value === null || typeof value !== "object") return value;
  if (typeof (value as PromiseLike<unknown>).then === "function") {
    try {
      return await (value as PromiseLike<unknown>);
    } catch {
      return null;
    }
  }
  if (Array.isArray(value)) return await Promise.all(value.map(resolveRefs));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = await resolveRefs(v);
  return out;
}

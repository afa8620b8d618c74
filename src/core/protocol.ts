/**
 * The contract between copies of the library. A flow file may import any copy of Orchestra (a
 * JSR version, a local path, the copy inside the binary); the copy that runs it recognises its
 * flows and tasks by these brands and versions, never by `instanceof`, and task calls find the
 * running flow through one ambient scope shared by all copies.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { SourceLocation } from "./errors.ts";
import type { TaskStatus } from "./events.ts";
import type { TaskOptions } from "./model.ts";

/** Brand of task definitions; the value is the protocol version. */
export const TASK_BRAND: unique symbol = Symbol.for("orchestra.task") as never;
/** Brand of flow definitions; the value is the protocol version. */
export const FLOW_BRAND: unique symbol = Symbol.for("orchestra.flow") as never;
/** The protocol version this copy speaks. */
export const PROTOCOL_VERSION = 1;

/** What every copy of the library knows about a task. */
export interface TaskDefinition {
  /** Protocol version. */
  readonly [TASK_BRAND]: number;
  /** The options it was defined with, as given. */
  readonly options: TaskOptions;
  /** The task's function; the task context is passed after the declared arguments. */
  readonly fn: (...args: never[]) => unknown;
  /** Where `task()` was called. */
  readonly location?: SourceLocation;
  /** The URL of the module whose top level defined the task, when it was defined there. */
  readonly moduleUrl?: string;
  /**
   * What the task is, for the cache key, when its function's source does not say it: a front end
   * sets it (a compiled YAML step: its command, or its plugin's name@version and `with:`).
   * Editing it drops the task's cached results. @default the function's source
   */
  readonly identity?: string;
  /** The name a worker finds the task under in that module. @default options.name */
  readonly workerName?: string;
  /**
   * Computes, when an attempt starts, the arguments a worker receives instead of the call's
   * (a YAML plugin task renders its `with:` here, in the process that holds the run's values).
   */
  readonly prepare?: (args: unknown[], ctx: never) => unknown[] | Promise<unknown[]>;
  /** The plugin the task runs, if it runs one: what the policy and authorization judge. */
  readonly plugin?: { readonly name: string; readonly version: string; readonly source: string };
}

/** What every copy of the library knows about a flow. */
export interface FlowDefinition {
  /** Protocol version. */
  readonly [FLOW_BRAND]: number;
  /** The options it was defined with, as given. */
  readonly options: { readonly name: string };
  /** The body: receives the flow handle and the params. */
  readonly body: (f: never, params: never) => unknown;
  /** Where `flow()` was called. */
  readonly location?: SourceLocation;
}

/** What a condition sees once every dependency of a task has settled. */
export interface ConditionInfo {
  /** The status of each dependency, by id (a result from the cache counts as `succeeded`). */
  readonly statuses: Readonly<Record<string, TaskStatus>>;
  /** The result of each dependency, by id (null where it did not succeed). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Whether the run is being cancelled. */
  readonly cancelled: boolean;
}

/** Decides, once its dependencies have settled, whether a task runs or is skipped. */
export interface TaskCondition {
  /** Returns whether the task runs. An exception fails the task. */
  test(info: ConditionInfo): boolean;
  /**
   * Decide also when a dependency failed, was skipped or the run is being cancelled
   * (GitHub Actions' `always()`, `failure()`, `cancelled()`); otherwise such a task is
   * skipped as usual without asking. @default false
   */
  evenIfUpstreamFailed?: boolean;
  /** The condition as written, for the skip reason: `condition "…" is false`. */
  text: string;
}

/** Options of one task call. */
export interface CallOptions {
  /** The call's id, instead of the generated `name`, `name#2`, …; must be unique in the run. */
  id?: string;
  /** Whether the task runs, decided when its dependencies have settled. */
  condition?: TaskCondition;
}

/** The running flow, as a task call sees it. */
export interface FlowScope {
  /** Protocol version. */
  readonly protocol: number;
  /** Adds a call of `task` with `args` to the run and returns a reference to its result. */
  call(task: TaskDefinition, args: unknown[], options?: CallOptions): unknown;
}

/** Whether a value is a task definition of a protocol this copy understands. */
export function isTaskDefinition(v: unknown): v is TaskDefinition {
  return (typeof v === "function" || (typeof v === "object" && v !== null)) &&
    (v as Record<symbol, unknown>)[TASK_BRAND] === PROTOCOL_VERSION;
}

/** Whether a value is a flow definition of a protocol this copy understands. */
export function isFlowDefinition(v: unknown): v is FlowDefinition {
  return typeof v === "object" && v !== null &&
    (v as Record<symbol, unknown>)[FLOW_BRAND] === PROTOCOL_VERSION;
}

const SCOPE_KEY = Symbol.for("orchestra.scope.v1");

/** The ambient flow scope, shared through `globalThis` by every copy of the library. */
export function flowScopeStorage(): AsyncLocalStorage<FlowScope> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<FlowScope> | undefined>;
  return (g[SCOPE_KEY] ??= new AsyncLocalStorage<FlowScope>());
}

/** The user's code that called into the library, from the stack. */
export interface CallerFrame {
  /** Where, for messages (the path shown relative to the working directory). */
  location: SourceLocation;
  /** The module's URL. */
  url: string;
  /** Whether the call is in the module's top-level code (not inside any function). */
  topLevel: boolean;
}

// The URL may hold spaces: V8 prints some file URLs with their path decoded.
const FRAME = /^\s*at (?:(\S.*?) \()?((?:file|https?|jsr|npm|data|blob):.+?):(\d+):(\d+)\)?\s*$/;
const OWN_FILE =
  /\/src\/(core|engine|api|loaders|plugins|testing)\/[^/]+\.ts$|\/orchestra\/[^/]*\/?mod\.ts$/;

/**
 * The first stack frame outside Orchestra's own sources. A call is top-level when that frame
 * has no function name and nothing called it: module code runs as the bottom of its stack.
 */
export function callerFrame(): CallerFrame | undefined {
  const stack = (new Error().stack?.split("\n") ?? []).slice(1).filter((l) => /^\s*at /.test(l));
  for (let i = 0; i < stack.length; i++) {
    const m = FRAME.exec(stack[i]);
    if (!m || OWN_FILE.test(m[2])) continue;
    const topLevel = m[1] === undefined && i === stack.length - 1;
    const url = frameUrl(m[2]);
    return {
      location: { file: displayPath(url), line: Number(m[3]), col: Number(m[4]) },
      url,
      topLevel,
    };
  }
  return undefined;
}

/**
 * A stack frame's URL as Deno gives it to `import.meta.url`. V8 prints some frames of a module
 * in `a #b/données` as `file:///a #b/données/x.ts` and others percent-encoded: both must name
 * the same module, or a worker would not find the tasks registered under it.
 */
function frameUrl(raw: string): string {
  // deno-lint-ignore no-control-regex
  if (!raw.startsWith("file://") || !/[\s#?]|[^\x00-\x7f]/.test(raw)) return raw;
  return pathToFileURL(raw.slice("file://".length)).href;
}

/** The file, line and column of the user's code that called into the library. */
export function callerLocation(): SourceLocation | undefined {
  return callerFrame()?.location;
}

/** Where {@linkcode taskContextStorage} keeps its storage on `globalThis`. */
export const CONTEXT_KEY: unique symbol = Symbol.for("orchestra.context.v1") as never;

/** The running task's context, shared by every copy of the library (see `context()`). */
export function taskContextStorage(): AsyncLocalStorage<unknown> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<unknown> | undefined>;
  return (g[CONTEXT_KEY] ??= new AsyncLocalStorage<unknown>());
}

/** In a worker, which runs one task at a time: that task's context. */
export const WORKER_CONTEXT: unique symbol = Symbol.for("orchestra.worker.context.v1") as never;

/** Where {@linkcode taskRegistry} keeps the registry on `globalThis`. */
export const REGISTRY_KEY: unique symbol = Symbol.for("orchestra.tasks.v1") as never;

/**
 * Tasks defined at the top level of a module, by module URL and name, shared by every copy of
 * the library: a worker that imports a module finds its tasks here.
 */
export function taskRegistry(): Map<string, Map<string, TaskDefinition | "ambiguous">> {
  const g = globalThis as unknown as Record<
    symbol,
    Map<string, Map<string, TaskDefinition | "ambiguous">>
  >;
  return (g[REGISTRY_KEY] ??= new Map());
}

/** Records a top-level task; two tasks of one name in one module are ambiguous. */
export function registerTask(def: TaskDefinition): void {
  if (!def.moduleUrl) return;
  const registry = taskRegistry();
  let byName = registry.get(def.moduleUrl);
  if (!byName) registry.set(def.moduleUrl, byName = new Map());
  const name = def.options.name;
  byName.set(name, byName.has(name) && byName.get(name) !== def ? "ambiguous" : def);
}

/** A file URL shown relative to the working directory when it lies below it. */
export function displayPath(file: string): string {
  if (!file.startsWith("file://")) return file;
  let path = fileURLToPath(file);
  try {
    const cwd = Deno.cwd();
    if (path.startsWith(cwd + "/")) path = path.slice(cwd.length + 1);
  } catch {
    // no read permission for the cwd: keep the absolute path
  }
  return path;
}

/**
 * The plugin contract: `definePlugin({ name, version, description, params, permissions, run })`.
 * A plugin is an ES module whose default export (or any export) is the value `definePlugin`
 * returns. Its params schema (zod or JSON Schema) is checked when a flow is validated and again,
 * with defaults applied, when the task runs; its permissions are what its worker is granted
 * (after the flow's ceiling, the local policy and the authorization service have had their say).
 *
 * @module
 */

import { z } from "zod";
import Ajv2020 from "ajv/dist/2020.js";
import { checkPermissionSet, type PermissionSet } from "../core/permissions.ts";
import {
  callerFrame,
  PROTOCOL_VERSION,
  registerTask,
  TASK_BRAND,
  type TaskDefinition,
} from "../core/protocol.ts";
import type { TaskContext, TaskLogger } from "../engine/types.ts";

/** Brand of plugin definitions; the value is the protocol version. */
export const PLUGIN_BRAND: unique symbol = Symbol.for("orchestra.plugin") as never;

/** A JSON Schema document (draft 2020-12), as a plain object. */
export type JsonSchema = { [key: string]: unknown };

/**
 * A zod schema (any copy of zod 4), as far as plugins need it: `T` is what parsing gives (defaults
 * filled in), `I` what may be passed (fields with defaults optional).
 */
export interface ZodLike<T = unknown, I = T> {
  /** Zod's parse without throwing. */
  safeParse(value: unknown): {
    success: boolean;
    data?: T;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
  /** Zod 4's internals: how a zod schema is recognised, and its input and output types. */
  readonly _zod: { readonly input: I; readonly output: T };
}

/**
 * A params type with the fields in `K` optional: what a plugin's params are as written when
 * those fields have defaults.
 *
 * @example
 * ```ts
 * import type { WithDefaults } from "@orchestra/orchestra";
 * interface GreetParams { who: string; greeting: string }
 * const params: WithDefaults<GreetParams, "greeting"> = { who: "Ada" };
 * console.assert(params.who === "Ada");
 * ```
 */
export type WithDefaults<P, K extends keyof P> = Omit<P, K> & Partial<Pick<P, K>>;

/** Where a plugin runs: what both its permission function and its `run` are told. */
export interface PluginEnv {
  /**
   * The directory relative paths in params are relative to: the flow file's directory (the
   * current directory for a flow run from code).
   */
  readonly dir: string;
}

/** What a plugin's `run` receives besides its params. */
export interface PluginContext extends PluginEnv {
  /** Results of the tasks this one waited for, by id. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Aborted when the attempt times out or the run is cancelled. */
  readonly signal: AbortSignal;
  /** The task's logger: lines go to the task's log. */
  readonly log: TaskLogger;
  /** The run's id. */
  readonly runId: string;
  /** This task's id within the run. */
  readonly taskId: string;
  /** The attempt, from 1. */
  readonly attempt: number;
  /** A secret the task declared (`secrets:`); masked in logs and records. */
  secret(name: string): string;
  /** Waits; rejects when the signal aborts. */
  sleep(ms: number): Promise<void>;
  /** The task's own context. */
  readonly task: TaskContext;
}

/** What a plugin asks for: fixed, or computed from its params (known before the task runs). */
export type PluginPermissions<P> =
  | PermissionSet
  // A method's parameters are bivariant: a plugin of specific params is still a plugin.
  | { bivariant(params: P, env: PluginEnv): PermissionSet }["bivariant"];

/** The secrets a plugin reads, fixed or named by its params (`bearerSecret: API_TOKEN`). */
export type PluginSecrets<P> =
  | readonly string[]
  | { bivariant(params: P): readonly string[] }["bivariant"];

/**
 * What `definePlugin` takes. `P`: the params `run` receives (defaults filled in); `I`: the params
 * a task passes (as written under `with:` or to `usePlugin`); `R`: what `run` returns.
 */
export interface PluginSpec<P, I = unknown, R = unknown> {
  /** The name `uses:` refers to: lower case letters, digits, `-` and `_`. */
  name: string;
  /** Its version (semver: `1.2.3`). */
  version: string;
  /** One line on what it does. */
  description: string;
  /** Its params: a zod schema or a JSON Schema object. @default an empty object */
  params?: ZodLike<P, I> | JsonSchema;
  /** The Deno permissions it needs, fixed or from its params. @default none */
  permissions?: PluginPermissions<P>;
  /**
   * The secrets it reads with `ctx.secret()`, fixed or named by its params: a task that uses
   * the plugin declares them, so they reach its worker (and are masked). @default none
   */
  secrets?: PluginSecrets<P>;
  /**
   * A pure plugin needs no permissions and touches nothing outside its params and inputs; only
   * a built-in pure plugin runs inline, every other runs in a worker with its grant.
   * @default false
   */
  pure?: boolean;
  /** Longer documentation (Markdown), shown by `orchestra plugins info`. */
  docs?: string;
  /** An example use in YAML, shown by `orchestra plugins info`. */
  example?: string;
  /** What its result is, for `orchestra plugins info`. */
  result?: string;
  /** Does the work; the return value (JSON) is the task's result. */
  run(params: P, ctx: PluginContext): R | Promise<R>;
}

/** A plugin's description as plain data: what crosses from a worker and what the CLI shows. */
export interface PluginManifest {
  /** Its name. */
  name: string;
  /** Its version. */
  version: string;
  /** One line on what it does. */
  description: string;
  /** Its params as JSON Schema (converted from zod where given as zod). */
  params: JsonSchema;
  /** Its permissions when fixed; `"computed"` when they depend on its params. */
  permissions: PermissionSet | "computed";
  /** Whether it declares itself pure. */
  pure: boolean;
  /** Longer documentation. */
  docs?: string;
  /** An example use in YAML. */
  example?: string;
  /** What its result is. */
  result?: string;
}

/**
 * A plugin: what `definePlugin` returns. `P`: its params as `run` receives them; `I`: as a task
 * passes them (inferred from a zod schema; `unknown`, anything, when not known); `R`: its result.
 */
export interface PluginDefinition<P = Record<string, unknown>, I = unknown, R = unknown>
  extends PluginSpec<P, I, R> {
  /** Protocol version. */
  readonly [PLUGIN_BRAND]: number;
  /** The URL of the module that defined it (at its top level), when known. */
  readonly moduleUrl?: string;
  /** The name its worker task is registered under in that module. */
  readonly workerName: string;
  /** Types only, never set: the params a task passes and the result, for `usePlugin`. */
  readonly "~types"?: { readonly params: I; readonly result: R };
}

/** The params a task passes to a plugin (fields with defaults optional). */
export type PluginParams<T> = T extends PluginDefinition<infer _P, infer I, infer _R> ? I : never;

/** What a plugin's task results in. */
export type PluginResult<T> = T extends PluginDefinition<infer _P, infer _I, infer R> ? Awaited<R>
  : never;

/** One problem with a plugin's params: where (a path inside the params) and what. */
export interface ParamsProblem {
  /** The path inside the params, `[]` for the params themselves. */
  path: (string | number)[];
  /** What is wrong. */
  message: string;
}

const NAME = /^[a-z][a-z0-9_-]*$/;
const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Whether a value is a plugin definition of a protocol this copy understands. */
export function isPluginDefinition(v: unknown): v is PluginDefinition {
  return typeof v === "object" && v !== null &&
    (v as Record<symbol, unknown>)[PLUGIN_BRAND] === PROTOCOL_VERSION;
}

/** Whether a schema is a zod schema (any copy of zod 4). */
export function isZodSchema(s: unknown): s is ZodLike {
  return typeof s === "object" && s !== null && "_zod" in s &&
    typeof (s as ZodLike).safeParse === "function";
}

/** The name a plugin's worker task is registered under in its module. */
export function pluginWorkerName(name: string): string {
  return `plugin:${name}`;
}

/**
 * Defines a plugin. Call it at the top level of the plugin's module and export the result
 * (as the default export, by convention): the worker that runs the plugin imports that module
 * and finds the plugin there.
 *
 * @example
 * ```ts
 * import { definePlugin } from "@orchestra/orchestra";
 * import { z } from "npm:zod@4.1.12";
 *
 * export default definePlugin({
 *   name: "greet",
 *   version: "1.0.0",
 *   description: "Says hello.",
 *   params: z.object({ who: z.string().default("world") }),
 *   run: (params) => `hello, ${params.who}`,
 * });
 * ```
 */
export function definePlugin<P = Record<string, unknown>, I = unknown, R = unknown>(
  spec: PluginSpec<P, I, R>,
): PluginDefinition<P, I, R> {
  if (spec === null || typeof spec !== "object") {
    throw new TypeError("definePlugin() takes an object: { name, version, description, run }");
  }
  const problems: string[] = [];
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    problems.push(
      `name ${JSON.stringify(spec.name)} must be lower case letters, digits, "-" and "_", ` +
        `starting with a letter`,
    );
  }
  if (typeof spec.version !== "string" || !VERSION.test(spec.version)) {
    problems.push(`version ${JSON.stringify(spec.version)} must be semver, like "1.0.0"`);
  }
  if (typeof spec.description !== "string" || spec.description.trim() === "") {
    problems.push("description must be a non-empty string");
  }
  if (typeof spec.run !== "function") problems.push("run must be a function (params, ctx)");
  if (
    spec.params !== undefined && !isZodSchema(spec.params) &&
    (typeof spec.params !== "object" || spec.params === null || Array.isArray(spec.params))
  ) {
    problems.push("params must be a zod schema or a JSON Schema object");
  }
  if (spec.permissions !== undefined && typeof spec.permissions !== "function") {
    problems.push(...checkPermissionSet(spec.permissions, "permissions"));
  }
  if (problems.length) {
    const who = typeof spec.name === "string" ? `plugin "${spec.name}"` : "a plugin";
    throw new TypeError(`definePlugin(): ${who}: ${problems.join("; ")}`);
  }
  const workerName = pluginWorkerName(spec.name);
  const def = { ...spec, [PLUGIN_BRAND]: PROTOCOL_VERSION, workerName } as PluginDefinition<
    P,
    I,
    R
  >;
  const frame = callerFrame();
  if (frame?.topLevel) {
    Object.defineProperty(def, "moduleUrl", { value: frame.url, enumerable: false });
    // The task a worker runs: validate the params, then run the plugin.
    const task = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options: Object.freeze({ name: workerName }),
      fn: (params: unknown, inputs: Record<string, unknown>, env: PluginEnv, ctx: TaskContext) =>
        invokePlugin(def as PluginDefinition, params, inputs ?? {}, ctx, env),
      location: frame.location,
      moduleUrl: frame.url,
    } as TaskDefinition;
    registerTask(task);
  }
  return Object.freeze(def);
}

// ajv, as far as it is used here (its CommonJS default export types poorly under Deno).
interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
interface AjvValidate {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
interface Ajv {
  compile(schema: JsonSchema): AjvValidate;
}
let ajv: Ajv | undefined;
const compiled = new WeakMap<object, AjvValidate>();

function jsonValidator(schema: JsonSchema): AjvValidate {
  let v = compiled.get(schema);
  if (!v) {
    const Ctor = Ajv2020 as unknown as new (options: Record<string, unknown>) => Ajv;
    ajv ??= new Ctor({ allErrors: true, useDefaults: true, strict: false });
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => /^\d+$/.test(s) ? Number(s) : s);
}

/**
 * Checks params against a plugin's schema. Returns the params with defaults applied, or the
 * problems found (every one, each with its path inside the params).
 */
export function parsePluginParams(
  plugin: Pick<PluginSpec<unknown>, "params">,
  params: unknown,
): { ok: true; value: Record<string, unknown> } | { ok: false; problems: ParamsProblem[] } {
  const schema = plugin.params;
  const input = params ?? {};
  if (schema === undefined) {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return { ok: false, problems: [{ path: [], message: "params must be a mapping" }] };
    }
    return { ok: true, value: input as Record<string, unknown> };
  }
  if (isZodSchema(schema)) {
    const r = schema.safeParse(input);
    if (r.success) return { ok: true, value: r.data as Record<string, unknown> };
    return {
      ok: false,
      problems: (r.error?.issues ?? []).flatMap((i) => {
        const path = i.path.map((p) => typeof p === "number" ? p : String(p));
        const keys = (i as { code?: string; keys?: string[] }).keys;
        if ((i as { code?: string }).code === "unrecognized_keys" && Array.isArray(keys)) {
          return keys.map((k) => ({ path: [...path, k], message: `unknown param "${k}"` }));
        }
        return [{ path, message: i.message }];
      }),
    };
  }
  const copy = structuredClone(input);
  const validate = jsonValidator(schema);
  if (validate(copy)) return { ok: true, value: copy as Record<string, unknown> };
  return {
    ok: false,
    problems: (validate.errors ?? []).map((e) => {
      const path = pointerToPath(e.instancePath);
      if (e.keyword === "required") {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        return { path, message: `missing required param "${missing}"` };
      }
      if (e.keyword === "additionalProperties") {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        return { path: [...path, extra], message: `unknown param "${extra}"` };
      }
      return { path, message: e.message ?? "invalid" };
    }),
  };
}

/** A plugin's params schema as JSON Schema (zod schemas converted, input side). */
export function paramsJsonSchema(plugin: Pick<PluginSpec<unknown>, "params">): JsonSchema {
  const schema = plugin.params;
  if (schema === undefined) return { type: "object" };
  if (isZodSchema(schema)) {
    try {
      const out = z.toJSONSchema(schema as unknown as z.ZodType, {
        io: "input",
        unrepresentable: "any",
      }) as JsonSchema;
      delete out.$schema;
      return out;
    } catch {
      return { type: "object" };
    }
  }
  return schema;
}

/** The manifest of a plugin: plain data for the CLI, the loader and other processes. */
export function pluginManifest<P>(plugin: PluginDefinition<P>): PluginManifest {
  const m: PluginManifest = {
    name: plugin.name,
    version: plugin.version,
    description: plugin.description,
    params: paramsJsonSchema(plugin),
    permissions: typeof plugin.permissions === "function" ? "computed" : plugin.permissions ?? {},
    pure: plugin.pure === true,
  };
  if (plugin.docs !== undefined) m.docs = plugin.docs;
  if (plugin.example !== undefined) m.example = plugin.example;
  if (plugin.result !== undefined) m.result = plugin.result;
  return m;
}

/**
 * The permissions a plugin asks for with these params. Throws when they cannot be known (its
 * permission function failed, or a value still holds an unrendered `${{ }}`).
 */
export function pluginPermissions<P>(
  plugin: PluginDefinition<P>,
  params: unknown,
  env: PluginEnv = { dir: Deno.cwd() },
): PermissionSet {
  const p = plugin.permissions;
  if (p === undefined) return {};
  if (typeof p !== "function") return p;
  const out = p(params as P, env);
  const problems = checkPermissionSet(out, "permissions");
  if (problems.length) {
    throw new TypeError(`plugin "${plugin.name}" computed bad permissions: ${problems.join("; ")}`);
  }
  for (const v of Object.values(out)) {
    if (Array.isArray(v) && v.some((x) => String(x).includes("${{"))) {
      throw new TypeError("they depend on a value known only when the task runs");
    }
  }
  return out;
}

/** The secrets a plugin reads with these params (an empty list when they cannot be known). */
export function pluginSecrets<P>(plugin: PluginDefinition<P>, params: unknown): string[] {
  const s = plugin.secrets;
  if (s === undefined) return [];
  let names: readonly unknown[];
  try {
    names = typeof s === "function" ? s(params as P) : s;
  } catch {
    return [];
  }
  return [...new Set(names)].filter((n): n is string =>
    typeof n === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(n)
  );
}

/** Builds a plugin's context from a task's. */
export function pluginContext(
  ctx: TaskContext,
  inputs: Record<string, unknown>,
  env: PluginEnv = { dir: Deno.cwd() },
): PluginContext {
  return {
    dir: env.dir,
    inputs,
    signal: ctx.signal,
    log: ctx.log,
    runId: ctx.runId,
    taskId: ctx.taskId,
    attempt: ctx.attempt,
    secret: (name) => ctx.secret(name),
    sleep: (ms) => ctx.sleep(ms),
    task: ctx,
  };
}

/** Validates params (applying defaults) and runs the plugin: what its task does. */
export async function invokePlugin(
  plugin: PluginDefinition,
  params: unknown,
  inputs: Record<string, unknown>,
  ctx: TaskContext,
  env: PluginEnv = { dir: Deno.cwd() },
): Promise<unknown> {
  const parsed = parsePluginParams(plugin, params);
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) =>
      `${p.path.length ? p.path.join(".") : "params"}: ${p.message}`
    );
    throw new TypeError(
      `Task "${ctx.taskId}": params of plugin "${plugin.name}" are invalid: ${lines.join("; ")}`,
    );
  }
  return await plugin.run(parsed.value, pluginContext(ctx, inputs, env));
}

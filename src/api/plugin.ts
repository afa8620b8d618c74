/**
 * `usePlugin()`: a plugin as a task of a TypeScript flow. Called inside a flow body it adds a
 * task that runs the plugin with the given params and returns a reference to its result; the
 * params may hold references to other tasks' results, which makes edges as usual.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { FlowValidationError, OrchestraError, type ValidationIssue } from "../core/errors.ts";
import type { TaskSettings } from "../core/model.ts";
import {
  callerFrame,
  flowScopeStorage,
  PROTOCOL_VERSION,
  TASK_BRAND,
  type TaskDefinition,
} from "../core/protocol.ts";
import { didYouMean } from "../core/suggest.ts";
import type { TaskRef } from "../engine/run.ts";
import type { TaskContext } from "../engine/types.ts";
import { BUILTIN_PLUGINS, type BuiltinPlugins } from "../plugins/builtin.ts";
import {
  invokePlugin,
  isPluginDefinition,
  parsePluginParams,
  type PluginDefinition,
  type PluginEnv,
  type PluginParams,
  pluginPermissions,
  type PluginResult,
  pluginSecrets,
} from "../plugins/contract.ts";
import type { Input } from "./task.ts";

/** Options of {@linkcode usePlugin}: the task's settings, its id and its inputs. */
export interface UsePluginOptions extends TaskSettings {
  /** The call's id. @default the plugin's name (`http`, `http#2`, …) */
  id?: string;
  /** Results the plugin sees as `ctx.inputs`, by name (references wait for their tasks). */
  inputs?: Record<string, unknown>;
  /** Secrets the plugin may read with `ctx.secret()`. */
  secrets?: string[];
  /** The directory relative paths in params are relative to. @default the calling module's */
  dir?: string;
}

function holdsReference(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) return v.some(holdsReference);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return true;
  return Object.values(v).some(holdsReference);
}

/**
 * Adds a task that runs `plugin` with `params` to the running flow; returns a reference to its
 * result. `params` are typed from the plugin's schema (a zod schema's input: fields with
 * defaults may be left out, required ones may not) and may hold references to other tasks'
 * results; the reference is typed with the plugin's result. A built-in may be named by its
 * name. The task runs in a worker with the plugin's permissions (a pure built-in runs inline);
 * when those depend on params that are references, pass `permissions` in the options.
 *
 * @example
 * ```ts
 * import { flow, usePlugin } from "@orchestra/orchestra";
 * const hello = flow("hello", () => {
 *   const said = usePlugin("log", { message: "hi" }); // level has a default
 *   return usePlugin("end", {}, { id: "done", inputs: { said } });
 * });
 * const record = await hello.run();
 * console.assert(JSON.stringify(record.result) === '{"said":"hi"}');
 * ```
 */
export function usePlugin<P, I, R>(
  plugin: PluginDefinition<P, I, R>,
  params: Input<NoInfer<I>>,
  options?: UsePluginOptions,
): TaskRef<Awaited<R>>;
/** Adds a task that runs the built-in plugin named `name` (`"http"`, `"log"`, …). */
export function usePlugin<N extends keyof BuiltinPlugins>(
  name: N,
  params: Input<PluginParams<BuiltinPlugins[N]>>,
  options?: UsePluginOptions,
): TaskRef<PluginResult<BuiltinPlugins[N]>>;
export function usePlugin(
  plugin: PluginDefinition<unknown, unknown, unknown> | string,
  params: unknown,
  options: UsePluginOptions = {},
): TaskRef<unknown> {
  const def = typeof plugin === "string" ? BUILTIN_PLUGINS.get(plugin) : plugin;
  if (!isPluginDefinition(def)) {
    const known = [...BUILTIN_PLUGINS.keys()];
    throw new OrchestraError(
      typeof plugin === "string"
        ? `usePlugin(): unknown built-in plugin "${plugin}"${didYouMean(plugin, known)}; ` +
          `built-ins: ${known.join(", ")} (import other plugins and pass them)`
        : "usePlugin() takes a plugin made by definePlugin(), or a built-in's name",
    );
  }
  const scope = flowScopeStorage().getStore();
  if (scope === undefined) {
    throw new OrchestraError(
      `Plugin "${def.name}" was used outside a flow body; call usePlugin() inside ` +
        `flow("name", (f) => { … })`,
    );
  }
  const frame = callerFrame();
  const here = frame?.url.startsWith("file:")
    ? fileURLToPath(new URL(".", frame.url)).replace(/\/$/, "")
    : Deno.cwd();
  const env: PluginEnv = { dir: options.dir ?? here };
  const { id, inputs, dir: _dir, ...settings } = options;
  const inline = def.pure === true && BUILTIN_PLUGINS.get(def.name) === def;
  if (!inline && settings.executor !== undefined && settings.executor !== "worker") {
    throw new OrchestraError(
      `Plugin "${def.name}" runs in a worker with its permissions, not "${settings.executor}"`,
    );
  }
  // Defaults filled in where the params are already known (references are not, yet).
  const parsed = holdsReference(params)
    ? undefined
    : parsePluginParams(def as PluginDefinition, params);
  if (parsed && !parsed.ok) {
    // Known before anything runs: a problem of the flow, found by `validate` like YAML's.
    const who = `Task "${id ?? def.name}": plugin "${def.name}" params`;
    const issues: ValidationIssue[] = parsed.problems.map((p) => {
      const issue: ValidationIssue = {
        message: `${who}${p.path.length ? ` at ${p.path.join(".")}` : ""}: ${p.message}`,
        taskId: id ?? def.name,
        hint: `see orchestra plugins info ${def.name}`,
      };
      if (frame) issue.location = frame.location;
      return issue;
    });
    const flowName = (scope as { flow?: unknown }).flow;
    throw new FlowValidationError(typeof flowName === "string" ? flowName : def.name, issues);
  }
  const known = parsed?.ok ? parsed.value : params;
  const secrets = [...new Set([...settings.secrets ?? [], ...pluginSecrets(def, known)])];
  if (secrets.length) settings.secrets = secrets;
  let permissions = settings.permissions;
  if (permissions === undefined && !inline) {
    try {
      permissions = pluginPermissions(def as PluginDefinition, known, env);
    } catch (e) {
      const why = holdsReference(params)
        ? "its params hold results of other tasks, known only when it runs"
        : e instanceof Error
        ? e.message
        : String(e);
      throw new OrchestraError(
        `Plugin "${def.name}" cannot say which permissions it needs (${why}); pass ` +
          `{ permissions: { … } } to usePlugin()`,
      );
    }
  }
  if (!inline && def.moduleUrl === undefined) {
    throw new OrchestraError(
      `Plugin "${def.name}" cannot run in a worker: definePlugin() was not called at the top ` +
        `level of a module; define it there and export it`,
    );
  }
  const task: TaskDefinition = {
    [TASK_BRAND]: PROTOCOL_VERSION,
    options: {
      name: def.name,
      ...settings,
      executor: inline ? "inline" : "worker",
      ...(permissions ? { permissions } : {}),
    },
    fn:
      ((p: unknown, i: Record<string, unknown>, e: PluginEnv, ctx: TaskContext) =>
        invokePlugin(def as PluginDefinition, p, i, ctx, e)) as never,
    ...(frame ? { location: frame.location } : {}),
    workerName: def.workerName,
    ...(inline ? {} : { moduleUrl: def.moduleUrl }),
    plugin: {
      name: def.name,
      version: def.version,
      source: BUILTIN_PLUGINS.get(def.name) === def ? "built-in" : def.moduleUrl ?? "(inline)",
    },
  };
  return scope.call(task, [params, inputs ?? {}, env], id ? { id } : {}) as TaskRef<unknown>;
}

/**
 * `runPlugin()` and `runPluginInWorker()`: run one plugin for a test, with its params checked
 * against its schema as a flow would, and its log lines captured. `runPlugin` runs it here, on
 * a fake clock, with a fake task context; `runPluginInWorker` runs it in a real worker started
 * with exactly its permissions, to test what it may and may not touch.
 *
 * @module
 */

import type { LogLevel } from "../core/events.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { taskRegistry } from "../core/protocol.ts";
import { type Clock, FakeClock, sleep } from "../engine/clock.ts";
import type { TaskContext } from "../engine/types.ts";
import { WorkerPool } from "../executors/worker_pool.ts";
import {
  invokePlugin,
  parsePluginParams,
  type PluginDefinition,
  type PluginEnv,
  pluginPermissions,
} from "../plugins/contract.ts";

/** A line a plugin logged. */
export interface PluginLogLine {
  /** Its level. */
  level: LogLevel;
  /** Its message. */
  message: string;
  /** Its structured properties, if any. */
  props?: Record<string, unknown>;
}

/** What a plugin run gave. */
export interface PluginRun<T = unknown> {
  /** The plugin's result (undefined when it failed). */
  result: T | undefined;
  /** The lines it logged (in a worker, its console output too). */
  logs: PluginLogLine[];
  /** Why it failed, when it failed and `throwOnError` was false. */
  error?: unknown;
}

/** Options of {@linkcode runPlugin} and {@linkcode runPluginInWorker}. */
export interface PluginRunOptions {
  /** Results of the upstream tasks, by task id: `ctx.inputs`. @default {} */
  inputs?: Record<string, unknown>;
  /** The secrets `ctx.secret(name)` returns. @default none */
  secrets?: Record<string, string>;
  /** Aborts the plugin (in a worker, terminates it). @default never aborted */
  signal?: AbortSignal;
  /** The run's id the plugin sees. @default "test-run" */
  runId?: string;
  /** The task's id the plugin sees. @default the plugin's name */
  taskId?: string;
  /** The attempt the plugin sees. @default 1 */
  attempt?: number;
  /** The directory relative paths in params are relative to: `ctx.dir`. @default Deno.cwd() */
  dir?: string;
  /**
   * Reject with the plugin's error (invalid params included) when it fails; with false,
   * resolve with it in `error` and the lines logged until then.
   * @default true
   */
  throwOnError?: boolean;
}

/** Options of {@linkcode runPlugin}. */
export interface RunPluginOptions extends PluginRunOptions {
  /**
   * The clock of `ctx.sleep`. The default fake clock moves on its own to the next timer when
   * the program is idle, so sleeps take no real time; its `requested` lists them.
   * @default a new FakeClock
   */
  clock?: Clock;
}

/** Options of {@linkcode runPluginInWorker}. */
export interface RunPluginInWorkerOptions extends PluginRunOptions {
  /**
   * The permissions of the worker. @default what the plugin declares for these params
   * (`pluginPermissions`, params with their defaults applied)
   */
  grant?: PermissionSet;
}

function collector(logs: PluginLogLine[]) {
  return (level: LogLevel) => (message: string, props?: Record<string, unknown>) => {
    const line: PluginLogLine = { level, message };
    if (props !== undefined) line.props = props;
    logs.push(line);
  };
}

async function settle<T>(
  work: () => Promise<unknown>,
  logs: PluginLogLine[],
  throwOnError: boolean | undefined,
): Promise<PluginRun<T>> {
  try {
    return { result: await work() as T, logs };
  } catch (error) {
    if (throwOnError !== false) throw error;
    return { result: undefined, logs, error };
  }
}

/**
 * Runs a plugin in this process, as its task would: params are checked against its schema
 * (defaults applied), then `run(params, ctx)` is called with a fake context. Resolves with its
 * result and the lines it logged; rejects with its error (a `TypeError` for invalid params)
 * unless `throwOnError` is false. Permissions are not enforced here: use
 * {@linkcode runPluginInWorker} for that.
 *
 * @example
 * ```ts
 * import { definePlugin } from "@orchestra/orchestra";
 * import { runPlugin } from "@orchestra/orchestra/testing";
 * const wait = definePlugin({
 *   name: "wait",
 *   version: "1.0.0",
 *   description: "Waits, then says so.",
 *   params: { type: "object", properties: { ms: { type: "number", default: 60000 } } },
 *   run: async (params: { ms: number }, ctx) => {
 *     await ctx.sleep(params.ms);
 *     ctx.log.info(`waited ${params.ms} ms`);
 *     return params.ms;
 *   },
 * });
 * const { result, logs } = await runPlugin(wait, {});
 * console.assert(result === 60000 && logs[0].message === "waited 60000 ms");
 * ```
 */
// `P` defaults to any so that naming only the result type (`runPlugin<HttpResult>`) works.
// deno-lint-ignore no-explicit-any
export function runPlugin<T = unknown, P = any>(
  plugin: PluginDefinition<P>,
  params: Record<string, unknown> = {},
  options: RunPluginOptions = {},
): Promise<PluginRun<T>> {
  const logs: PluginLogLine[] = [];
  const log = collector(logs);
  const clock = options.clock ?? new FakeClock();
  const signal = options.signal ?? new AbortController().signal;
  const secrets = options.secrets ?? {};
  const taskId = options.taskId ?? plugin.name;
  const ctx: TaskContext = {
    runId: options.runId ?? "test-run",
    flow: "test",
    taskId,
    name: plugin.workerName,
    attempt: options.attempt ?? 1,
    params: {},
    signal,
    log: { debug: log("debug"), info: log("info"), warn: log("warning"), error: log("error") },
    sleep: (ms) => sleep(clock, ms, signal),
    secret(name) {
      if (!Object.hasOwn(secrets, name)) {
        throw new Error(
          `Plugin "${plugin.name}" read secret "${name}", which the test did not give; pass ` +
            `it: runPlugin(plugin, params, { secrets: { ${JSON.stringify(name)}: "…" } })`,
        );
      }
      return secrets[name];
    },
  };
  return settle<T>(
    () =>
      invokePlugin(plugin as unknown as PluginDefinition, params, options.inputs ?? {}, ctx, {
        dir: options.dir ?? Deno.cwd(),
      }),
    logs,
    options.throwOnError,
  );
}

/**
 * Runs a plugin in a Web Worker started with exactly the permissions it declares for these
 * params (or `grant`), as a flow runs a non-pure plugin; the worker is terminated afterwards.
 * The plugin must be defined by `definePlugin` at the top level of a module, which the worker
 * imports (a test file will do). Errors come back from the worker as plain `Error`s that keep
 * the original `name` and message; a denied access is a `NotCapable` error saying what was
 * required. Needs `--unstable-worker-options`. `ctx.sleep` waits in real time there.
 *
 * @example
 * ```ts ignore
 * import plugin from "./my_plugin.ts";
 * import { runPluginInWorker } from "@orchestra/orchestra/testing";
 * const { result } = await runPluginInWorker(plugin, { path: "/data/in.txt" });
 * ```
 */
// `P` defaults to any so that naming only the result type (`runPlugin<HttpResult>`) works.
// deno-lint-ignore no-explicit-any
export async function runPluginInWorker<T = unknown, P = any>(
  plugin: PluginDefinition<P>,
  params: Record<string, unknown> = {},
  options: RunPluginInWorkerOptions = {},
): Promise<PluginRun<T>> {
  const def = plugin.moduleUrl
    ? taskRegistry().get(plugin.moduleUrl)?.get(plugin.workerName)
    : undefined;
  if (def === undefined || def === "ambiguous") {
    const why = !plugin.moduleUrl
      ? "it was not defined at the top level of a module"
      : def === "ambiguous"
      ? `${plugin.moduleUrl} defines two plugins named "${plugin.name}"`
      : `${plugin.moduleUrl} registered no worker task "${plugin.workerName}"`;
    throw new TypeError(
      `runPluginInWorker(): plugin "${plugin.name}" cannot run in a worker: ${why}; define it ` +
        `with definePlugin(…) at the top level of its module and import it from there`,
    );
  }
  const generic = plugin as unknown as PluginDefinition;
  const env: PluginEnv = { dir: options.dir ?? Deno.cwd() };
  let grant = options.grant;
  if (grant === undefined) {
    // Invalid params: the worker reports them, as it would in a run.
    const parsed = parsePluginParams(generic, params);
    grant = parsed.ok ? pluginPermissions(generic, parsed.value, env) : {};
  }
  const logs: PluginLogLine[] = [];
  const pool = new WorkerPool({ size: 1 });
  try {
    return await settle<T>(
      () =>
        pool.run({
          task: def,
          args: [params, options.inputs ?? {}, env],
          info: {
            runId: options.runId ?? "test-run",
            flow: "test",
            taskId: options.taskId ?? plugin.name,
            attempt: options.attempt ?? 1,
            params: {},
          },
          grant,
          secrets: options.secrets ?? {},
          signal: options.signal ?? new AbortController().signal,
          onLog: (level, message, props) => collector(logs)(level)(message, props),
        }),
      logs,
      options.throwOnError,
    );
  } finally {
    await pool.close();
  }
}

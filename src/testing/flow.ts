/**
 * `runFlow()`: runs a TypeScript flow, a YAML flow (text or file) or a flow file in this
 * process, on a fake clock, with an in-memory store as its journal and with chosen tasks or
 * plugins mocked; resolves with the run record plus the run's events.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { FlowValidationError, type ValidationIssue } from "../core/errors.ts";
import type { RunEvent } from "../core/events.ts";
import { didYouMean } from "../core/suggest.ts";
import { displayPath, type FlowDefinition, isFlowDefinition } from "../core/protocol.ts";
import { MemoryCache } from "../engine/cache.ts";
import type { Clock } from "../engine/clock.ts";
import { TestClock } from "./clock.ts";
import { executeFlow } from "../engine/execute.ts";
import type { RunOptions, RunRecord } from "../engine/types.ts";
import type { RunRecord as FlowRunRecord } from "../api/record.ts";
import { loadFlowModule } from "../loaders/ts_loader.ts";
import { loadFlowSpec } from "../loaders/yaml/load.ts";
import {
  isYamlFile,
  loadYamlFlow,
  loadYamlFlowText,
  type LoadYamlOptions,
} from "../loaders/yaml_loader.ts";
import type { PluginSearch } from "../plugins/resolve.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { Store } from "../store/store.ts";
import { type PluginMock, type TaskMock, type UsesInfo, usesName, withMocks } from "./mocks.ts";

/** Options of {@linkcode runFlow}. */
export interface RunFlowOptions extends Omit<RunOptions, "secrets" | "journal"> {
  /** The run's params. @default {} */
  params?: Record<string, unknown>;
  /**
   * Tasks to mock, by task id (`load`, `load#2`), map group id (mocks every item) or task
   * name: a function called like the task (its arguments, then the context) or a value that
   * becomes the result. A mocked task keeps its retries, timeout, hooks and events and runs in
   * this process. YAML tasks receive one argument, their input: `{ tasks: { <id>: result },
   * params, item?, index? }`. A key that matches no task is an error.
   */
  mocks?: Record<string, TaskMock>;
  /**
   * Plugins to mock, by plugin name (`http`) or `uses:` as written (`http@^1.2`): a function
   * called like the plugin's `run` (params, context) or a value that becomes the result.
   * Applies to YAML `uses:` tasks and to plugin tasks of TypeScript flows. The plugin need not
   * be installed: problems about a mocked task's plugin are not reported.
   */
  plugins?: Record<string, PluginMock>;
  /**
   * The run's clock. The default {@linkcode TestClock} starts at 2026-01-01 and moves to the
   * next timer once every running task waits on it: sleeps, retry delays and timeouts take no
   * real time, and real work (commands, workers, network) takes no virtual time. A
   * `FakeClock` moves whenever the program is idle, also while a task waits for real I/O;
   * `systemClock` is real time. @default a new TestClock
   */
  clock?: Clock;
  /** Where the run's events are journaled. @default a new MemoryStore on the run's clock */
  store?: Store;
  /**
   * Secrets by name (or a lookup); nothing is read from the environment.
   * @default no secrets
   */
  secrets?: Record<string, string> | ((name: string) => string | undefined);
  /**
   * Random numbers for retry jitter. @default () => 0.5 (no jitter: delays are exactly the
   * backoff)
   */
  random?: () => number;
  /** For flow files and YAML text: the directory relative paths are resolved from. */
  cwd?: string;
  /**
   * For YAML text: where the file is (or would be); relative to `cwd`. Commands run in its
   * directory and messages name it. @default "flow.yaml"
   */
  file?: string;
  /** For a TypeScript flow file exporting several flows: the one to run (name or export). */
  flowName?: string;
  /**
   * For YAML flows: host environment variables (the base environment of commands); those not
   * given are read from the real environment.
   */
  env?: Record<string, string>;
  /**
   * For YAML flows: where `uses:` plugins are looked for besides the built-ins and the
   * `plugins/` folder next to the flow (`dirs`, `stateDir`, `lockFile`, …).
   */
  pluginSearch?: Omit<PluginSearch, "flowDir">;
}

/** What a {@linkcode TestRun} has besides its run record. */
export interface TestRunExtras {
  /** Every event of the run, in order (not enumerable: the record stays the plain document). */
  readonly events: readonly RunEvent[];
  /** The store the run was journaled to (not enumerable). */
  readonly store: Store;
  /** The run's clock (not enumerable); a TestClock's `requested` lists every delay. */
  readonly clock: Clock;
}

/**
 * What {@linkcode runFlow} resolves with: the run record (a union by status: `result` is typed
 * once `status === "succeeded"` is checked), with the run's events and more.
 */
export type TestRun<R = unknown> = FlowRunRecord<R> & TestRunExtras;

/**
 * Runs a flow in this process for a test and resolves with its record (also when it failed).
 * `flow` is a flow definition, YAML text, or the path of a `.yaml`/`.yml` or TypeScript flow
 * file. By default the run uses a fresh {@linkcode TestClock}, a fresh result cache, a new
 * {@linkcode MemoryStore} as its journal, no secrets and no retry jitter.
 *
 * Rejects with {@linkcode FlowValidationError} when the flow or its params are invalid, and
 * with a `TypeError` when a mock matches no task (or plugin) of the flow.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { runFlow } from "@orchestra/orchestra/testing";
 * const fetchUsers = task("fetch", () => { throw new Error("no network in tests"); });
 * const count = task("count", (users: string[]) => users.length);
 * const report = flow("report", () => count(fetchUsers()));
 * const run = await runFlow(report, { mocks: { fetch: ["ada", "alan"] } });
 * console.assert(run.status === "succeeded" && run.result === 2);
 * ```
 *
 * @example YAML text
 * ```ts
 * import { runFlow } from "@orchestra/orchestra/testing";
 * const run = await runFlow("tasks:\n  hello:\n    run: curl https://example.com\n", {
 *   mocks: { hello: "hi" },
 * });
 * console.assert(run.tasks[0].result === "hi");
 * ```
 */
export async function runFlow<R = unknown>(
  flow: FlowDefinition | string,
  options: RunFlowOptions = {},
): Promise<TestRun<R>> {
  const {
    params = {},
    mocks = {},
    plugins = {},
    cwd = Deno.cwd(),
    file,
    flowName,
    env,
    pluginSearch,
    secrets,
    onEvent,
    clock = new TestClock(),
    store = new MemoryStore({ now: () => clock.now() }),
    cache = new MemoryCache(),
    random = () => 0.5,
    ...rest
  } = options;
  const { def, uses } = await load(flow, {
    cwd,
    file,
    flowName,
    env,
    pluginSearch,
    mocks,
    plugins,
  });
  const events: RunEvent[] = [];
  const lookup = typeof secrets === "function"
    ? secrets
    : (name: string) => secrets && Object.hasOwn(secrets, name) ? secrets[name] : undefined;
  const mocked = Object.keys(mocks).length > 0 || Object.keys(plugins).length > 0;
  const hold = clock instanceof TestClock ? (ctx: object) => clock.hold(ctx) : undefined;
  const wrapped = mocked || hold ? withMocks(def, { mocks, plugins, uses, hold }) : undefined;
  const record = await executeFlow<R>(wrapped?.def ?? def, params, {
    ...rest,
    clock,
    journal: store,
    cache,
    random,
    secrets: lookup,
    onEvent: (e) => {
      events.push(e);
      onEvent?.(e);
    },
  });
  if (mocked) checkMocksUsed(record, mocks, plugins, wrapped!.pluginNames);
  Object.defineProperties(record, {
    events: { value: events },
    store: { value: store },
    clock: { value: clock },
  });
  return record as TestRun<R>;
}

interface LoadOptions {
  cwd: string;
  file: string | undefined;
  flowName: string | undefined;
  env: Record<string, string> | undefined;
  pluginSearch: Omit<PluginSearch, "flowDir"> | undefined;
  mocks: Record<string, unknown>;
  plugins: Record<string, unknown>;
}

async function load(
  flow: FlowDefinition | string,
  o: LoadOptions,
): Promise<{ def: FlowDefinition; uses: Map<string, UsesInfo> }> {
  const uses = new Map<string, UsesInfo>();
  if (typeof flow !== "string") {
    if (!isFlowDefinition(flow)) {
      throw new TypeError(
        "runFlow() takes a flow (made with flow()), YAML text or the path of a flow file",
      );
    }
    return { def: flow, uses };
  }
  const isPath = !/[\r\n]/.test(flow) && /\.(ya?ml|[cm]?[jt]sx?)$/i.test(flow.trim());
  if (isPath && !isYamlFile(flow.trim())) {
    const loaded = await loadFlowModule(flow.trim(), o.cwd, o.flowName ? { flow: o.flowName } : {});
    return { def: loaded.flow, uses };
  }
  const env = o.env;
  const loadOptions: LoadYamlOptions = {};
  if (env) {
    loadOptions.env = (name) => Object.hasOwn(env, name) ? env[name] : Deno.env.get(name);
  }
  if (o.pluginSearch) loadOptions.plugins = o.pluginSearch;
  const path = isPath ? flow.trim() : o.file ?? "flow.yaml";
  const compiled = isPath
    ? await loadYamlFlow(path, o.cwd, loadOptions)
    : await loadYamlFlowText(flow, path, { ...loadOptions, cwd: o.cwd });
  if (Object.keys(o.plugins).length > 0) {
    // The compiled flow does not say which plugin a task uses: the spec does.
    const absolute = resolve(o.cwd, path);
    const shown = displayPath(pathToFileURL(absolute).href);
    const spec = await loadFlowSpec(absolute, shown, isPath ? undefined : flow);
    const dir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
    for (const t of spec.tasks) {
      const f = t.fields;
      if (typeof f.uses !== "string") continue;
      const needs = f.needs === undefined ? [] : typeof f.needs === "string" ? [f.needs] : f.needs;
      uses.set(t.id, { uses: f.uses, with: f.with ?? {}, needs, dir });
    }
  }
  // A mocked task's plugin need not exist, nor its params fit it.
  const mockedIds = new Set(
    compiled.graph.nodes
      .filter((n) =>
        Object.hasOwn(o.mocks, n.id) || Object.hasOwn(o.mocks, n.name) ||
        (uses.has(n.id) && pluginMocked(uses.get(n.id)!, o.plugins))
      )
      .map((n) => n.id),
  );
  const issues: ValidationIssue[] = compiled.graph.issues.filter((i) =>
    !(i.taskId !== undefined && mockedIds.has(i.taskId) && /plugin/i.test(i.message))
  );
  if (issues.length) throw new FlowValidationError(compiled.graph.name, issues);
  return { def: compiled.def, uses };
}

function pluginMocked(u: UsesInfo, plugins: Record<string, unknown>): boolean {
  return Object.hasOwn(plugins, u.uses) || Object.hasOwn(plugins, usesName(u.uses));
}

function checkMocksUsed(
  record: RunRecord,
  mocks: Record<string, unknown>,
  plugins: Record<string, unknown>,
  pluginNames: Set<string>,
): void {
  const known = new Set<string>();
  for (const t of record.tasks) {
    known.add(t.id);
    known.add(t.name);
  }
  const problems: string[] = [];
  for (const key of Object.keys(mocks)) {
    if (!known.has(key)) {
      problems.push(`mock "${key}" matches no task${didYouMean(key, known)}`);
    }
  }
  for (const key of Object.keys(plugins)) {
    if (!pluginNames.has(key) && !pluginNames.has(usesName(key))) {
      problems.push(
        `plugin mock "${key}" matches no plugin the flow uses${didYouMean(key, pluginNames)}`,
      );
    }
  }
  if (problems.length === 0) return;
  const tasks = record.tasks.map((t) => t.id).join(", ") || "none";
  const used = pluginNames.size ? [...pluginNames].join(", ") : "none";
  const outcome = record.status === "succeeded"
    ? ""
    : ` (the run ${record.status}: ${record.error})`;
  throw new TypeError(
    `runFlow() of flow "${record.flow}": ${problems.join("; ")}. Its tasks: ${tasks}; its ` +
      `plugins: ${used}${outcome}`,
  );
}

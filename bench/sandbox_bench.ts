/**
 * The sandboxed TypeScript path against the unsandboxed one, on the durable shapes of
 * `durable_bench.ts` (10,000 no-op tasks journaled into SQLite, `durability: full`) and the
 * resume of a finished run. Sandboxed, the engine runs in a flow isolate (a Web Worker with no
 * permissions) and every batch crosses to the host, which appends it and acknowledges it before
 * dependents start; each sandboxed iteration includes starting the isolate and loading the
 * module, as `orchestra run` does. The target: within 1.2× of the unsandboxed run.
 *
 *     deno bench -A --unstable-worker-options --no-lock bench/sandbox_bench.ts
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { FlowRun } from "../src/engine/run.ts";
import { MemoryCache } from "../src/engine/cache.ts";
import { restoredCalls } from "../src/engine/replay.ts";
import type { RestoredTask } from "../src/engine/types.ts";
import { FlowIsolate } from "../src/host/flow_isolate.ts";
import { runSandboxed } from "../src/host/isolate_run.ts";
import { scanModuleGraph } from "../src/host/module_graph.ts";
import { TaskLauncher } from "../src/host/task_launcher.ts";
import { WorkerPool } from "../src/executors/worker_pool.ts";
import { SqliteStore } from "../src/store/sqlite_store.ts";
import { chainFlow, fanFlow, layersFlow } from "./sandbox_shapes.ts";

const MODULE = new URL("./sandbox_shapes.ts", import.meta.url).href;
const modules = await scanModuleGraph(MODULE);
const shapes = [
  ["chain of 10,000", "chainFlow", chainFlow],
  ["fan-out/fan-in 1 → 10,000 → 1", "fanFlow", fanFlow],
  ["100 layers of 100, 3 dependencies each", "layersFlow", layersFlow],
] as const;

const dirs: string[] = [];
const stores: SqliteStore[] = [];
async function open(): Promise<SqliteStore> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-sandbox-bench-" });
  dirs.push(dir);
  const store = await SqliteStore.open(dir, { durability: "full" });
  stores.push(store);
  return store;
}
globalThis.addEventListener("unload", () => {
  for (const s of stores) void s.close();
  for (const d of dirs) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch {
      // best effort
    }
  }
});

const pool = new WorkerPool({ size: 1 });

/** A sandboxed run of `exportName`, journaled into `store`, as `orchestra run` drives it. */
async function sandboxed(
  exportName: string,
  store: SqliteStore,
  runId: string,
  restore: ReadonlyMap<string, RestoredTask> = new Map(),
) {
  const record = await runSandboxed({
    moduleUrl: MODULE,
    files: modules.files,
    request: {
      type: "run",
      exportName,
      params: {},
      runId,
      baseDir: Deno.cwd(),
      cwd: Deno.cwd(),
      restore: [...restore],
      prior: [],
    },
    journal: store,
    cache: new MemoryCache(),
    signal: new AbortController().signal,
    launcher: new TaskLauncher({
      runId,
      flow: exportName,
      params: {},
      planned: new Map(),
      modules,
      authorize: (t) => t.request,
      secret: () => undefined,
      decrypt: (v) => Promise.resolve(v),
      mask: (t) => t,
      pool,
    }),
    continuation: () => Promise.reject(new Error("no restarts here")),
    log: getLogger(["orchestra", "bench"]),
  });
  if (record.status !== "succeeded") throw new Error(record.error);
  return record;
}

let n = 0;
for (const [name, exportName, f] of shapes) {
  const store = await open();
  const isChain = exportName === "chainFlow";
  const group = `durable (full), 10,000 no-op tasks: ${name}`;
  const runs = isChain ? 3 : 10;
  Deno.bench({
    name: `${name}, in the host (unsandboxed)`,
    group,
    baseline: true,
    warmup: 1,
    n: runs,
    async fn() {
      const record = await f.run({}, { journal: store });
      if (record.status !== "succeeded") throw new Error(record.error);
    },
  });
  Deno.bench({
    name: `${name}, in a flow isolate (sandboxed)`,
    group,
    warmup: 1,
    n: runs,
    async fn() {
      await sandboxed(exportName, store, `bench-${++n}`);
    },
  });
}

// Resume: a finished run of each shape reopened with every task restored.
for (const [name, exportName, f] of shapes) {
  const store = await open();
  const first = await f.run({}, { journal: store });
  if (first.status !== "succeeded") throw new Error(first.error);
  const runId = first.runId;
  const group = `resume of a 10,000-task run: ${name}`;
  const resume = async (isolated: boolean) => {
    const tasks = await store.getTasks(runId);
    const restore = restoredCalls(tasks);
    await store.reopenRun(runId, { resetTasks: [] });
    if (isolated) await sandboxed(exportName, store, runId, restore);
    else {
      const record = await new FlowRun(f, {}, { runId, journal: store, restore }).start();
      if (record.status !== "succeeded") throw new Error(record.error);
    }
  };
  Deno.bench({
    name: `resume, ${name}, in the host`,
    group,
    baseline: true,
    warmup: 2,
    n: 15,
    fn: () => resume(false),
  });
  Deno.bench({
    name: `resume, ${name}, in a flow isolate`,
    group,
    warmup: 2,
    n: 15,
    fn: () => resume(true),
  });
}

// What every sandboxed run pays once: starting the isolate and loading the module in it.
Deno.bench({
  name: "start a flow isolate and load the flow's module",
  group: "flow isolate start",
  warmup: 2,
  n: 10,
  async fn() {
    const isolate = await FlowIsolate.open(MODULE, modules.files);
    isolate.terminate();
  },
});

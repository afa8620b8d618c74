/**
 * Durable runs: the 10,000-task DAGs of `shapes.ts` journaled into SQLite (`state.db`), with
 * fsync on every append (`durability: "full"`, `synchronous=FULL`) and at checkpoints only
 * (`"normal"`); and the resume of a finished 10,000-task run (its tasks read back with
 * `getTasks`, restored, none run again). Divide the time per iteration by 10,000 for the cost
 * per task. A chain fsyncs once per task, so it cannot beat this disk's fsync floor, which
 * `fsync_bench.ts` measures; run both together:
 *
 *     deno bench -A --unstable-worker-options bench/durable_bench.ts bench/fsync_bench.ts
 */

import { FlowRun } from "../src/engine/run.ts";
import { restoredCalls } from "../src/engine/replay.ts";
import { type Durability, SqliteStore } from "../src/store/sqlite_store.ts";
import { chain, fanOut, layered } from "./shapes.ts";

const N = 10_000;
const shapes = {
  "chain of 10,000": chain(N),
  "fan-out/fan-in 1 → 10,000 → 1": fanOut(N - 2),
  "100 layers of 100, 3 dependencies each": layered(100, 100),
};

const dirs: string[] = [];
const stores: SqliteStore[] = [];
async function open(durability: Durability): Promise<SqliteStore> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-durable-bench-" });
  dirs.push(dir);
  const store = await SqliteStore.open(dir, { durability });
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

for (const durability of ["full", "normal"] as const) {
  for (const [name, f] of Object.entries(shapes)) {
    const store = await open(durability);
    const isChain = name.startsWith("chain");
    Deno.bench({
      name: `${name}, durability ${durability}`,
      group: `durable, 10,000 no-op tasks: ${name}`,
      baseline: durability === "full",
      warmup: 1,
      // Means of few runs swing with the disk and the garbage collector: the fast shapes get more.
      n: isChain ? (durability === "full" ? 3 : 5) : 15,
      async fn() {
        const record = await f.run({}, { journal: store });
        if (record.status !== "succeeded") throw new Error(record.error);
      },
    });
  }
}

// Resume: a finished run of each shape, reopened with every task restored.
for (const [name, f] of Object.entries(shapes)) {
  const store = await open("full");
  const first = await f.run({}, { journal: store });
  if (first.status !== "succeeded") throw new Error(first.error);
  const runId = first.runId;
  Deno.bench({
    name: `resume of a 10,000-task run: ${name}`,
    group: "resume of a 10,000-task run (durability full)",
    warmup: 2,
    n: 30,
    async fn() {
      const tasks = await store.getTasks(runId);
      // As resume builds it: with each call's place and arguments' hash, checked on replay.
      const restore = restoredCalls(tasks);
      await store.reopenRun(runId, { resetTasks: [] });
      const record = await new FlowRun(f, {}, { runId, journal: store, restore }).start();
      if (record.status !== "succeeded") throw new Error(record.error);
      if (restore.size !== tasks.length) throw new Error("not every task was restored");
    },
  });
}

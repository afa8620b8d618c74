/**
 * The cost of `Store.append`, the engine's hot path with a durable store: one call per
 * scheduler tick. A batch of 100 task events (created, started and succeeded with a small
 * result, for 33 tasks, plus a log line) stands for a busy tick of a wide DAG; a single
 * `task.succeeded` stands for a tick of a chain, where each task waits for the previous
 * result to be durable. SQLite with `durability: "full"` (fsync per append) and `"normal"`,
 * and the memory store for reference. Divide a batch's time by 100 for the cost per event.
 *
 *     deno bench -A bench/store_bench.ts
 */

import { MemoryStore } from "../src/store/memory_store.ts";
import { SqliteStore } from "../src/store/sqlite_store.ts";
import type { AppendEvent, Store } from "../src/store/store.ts";

const dirs: string[] = [];

async function open(kind: "memory" | "full" | "normal"): Promise<Store> {
  if (kind === "memory") return new MemoryStore();
  const dir = await Deno.makeTempDir({ prefix: "orchestra-bench-" });
  dirs.push(dir);
  return await SqliteStore.open(dir, { durability: kind });
}

let next = 0;

/** 33 tasks × (created, started, succeeded) + 1 log line = 100 events. */
function batchOf100(runId: string): AppendEvent[] {
  const events: AppendEvent[] = [];
  const time = Date.now();
  for (let i = 0; i < 33; i++) {
    const base = { runId, time, taskId: `t${next++}`, name: "t" };
    events.push(
      { ...base, type: "task.created", needs: [], kind: "task" },
      { ...base, type: "task.started", attempt: 1 },
      {
        ...base,
        type: "task.succeeded",
        attempt: 1,
        durationMs: 1,
        result: { rows: 42, file: "out/part-0001.parquet" },
      },
    );
  }
  events.push({
    runId,
    time,
    taskId: "t0",
    name: "t",
    type: "task.log",
    level: "info",
    message: "tick",
  });
  return events;
}

for (const kind of ["full", "normal", "memory"] as const) {
  const store = await open(kind);
  const runId = `bench-${kind}`;
  await store.append([{ type: "run.started", runId, time: Date.now(), flow: "bench", params: {} }]);
  const label = kind === "memory" ? "memory" : `sqlite, durability ${kind}`;

  Deno.bench({
    name: `${label}: append 100 task events`,
    group: "append a batch of 100 events",
    baseline: kind === "full",
    async fn(b) {
      const events = batchOf100(runId);
      b.start();
      await store.append(events);
      b.end();
    },
  });

  Deno.bench({
    name: `${label}: append 1 task.succeeded`,
    group: "append a single event",
    baseline: kind === "full",
    async fn(b) {
      const taskId = `s${next++}`;
      const base = { runId, time: Date.now(), taskId, name: "s" };
      await store.append([{ ...base, type: "task.created", needs: [], kind: "task" }]);
      const event: AppendEvent = {
        ...base,
        type: "task.succeeded",
        attempt: 1,
        durationMs: 1,
        result: { rows: 42 },
      };
      b.start();
      await store.append([event]);
      b.end();
    },
  });
}

globalThis.addEventListener("unload", () => {
  for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
});

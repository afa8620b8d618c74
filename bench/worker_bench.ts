/**
 * The worker executor: a no-op task through a warm pool (throughput over 2,000 tasks, and one
 * round trip), and a CPU-bound fan-out across the pool against inline.
 *
 *     deno task bench
 */

import { flow } from "../mod.ts";
import { WorkerPool } from "../src/executors/worker_pool.ts";
import { cpuInline, cpuInWorker, noopInWorker } from "./worker_tasks.ts";

const pool = new WorkerPool();
const THROUGHPUT = 2_000;
const many = flow("noop x2000", () => {
  const out = [];
  for (let i = 0; i < THROUGHPUT; i++) out.push(noopInWorker());
  return out.length;
});
const one = flow("noop x1", () => noopInWorker());
const cpu = (t: typeof cpuInline) => flow("cpu fan-out", (f) => f.map([40, 40, 40, 40, 40, 40], t));
const cpuInlineFlow = cpu(cpuInline);
const cpuWorkerFlow = cpu(cpuInWorker);
// Warm the pool once: benchmarks measure warm workers.
await cpuWorkerFlow.run({}, { workerPool: pool });
await many.run({}, { workerPool: pool });

Deno.bench({
  name: "2,000 no-op tasks through a warm pool (divide by 2,000)",
  group: "worker round trips",
  warmup: 5,
  async fn() {
    const r = await many.run({}, { workerPool: pool });
    if (r.status !== "succeeded") throw new Error(r.error);
  },
});

Deno.bench({
  name: "one no-op task through a warm pool",
  group: "worker round trips",
  warmup: 50,
  async fn() {
    const r = await one.run({}, { workerPool: pool });
    if (r.status !== "succeeded") throw new Error(r.error);
  },
});

Deno.bench({
  name: "6 × 40 ms of CPU, inline",
  group: "CPU-bound fan-out",
  baseline: true,
  n: 15,
  async fn() {
    await cpuInlineFlow.run();
  },
});

Deno.bench({
  name: "6 × 40 ms of CPU, across the worker pool",
  group: "CPU-bound fan-out",
  n: 15,
  async fn() {
    await cpuWorkerFlow.run({}, { workerPool: pool });
  },
});

globalThis.addEventListener("unload", () => void pool.close());

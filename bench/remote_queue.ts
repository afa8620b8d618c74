/**
 * The remote task queue on a real PostgreSQL: how fast attempts are enqueued, how fast
 * `workers` claim loops drain them, and the dispatch latency on an idle system (enqueue to
 * claimed). The claim loops are the real `TaskWorker` (batched `SKIP LOCKED` claims,
 * `LISTEN/NOTIFY`, heartbeats, fenced completions) over a runner that returns at once, so the
 * figures are the queue's, without task workers' start-up. No peers are measured here.
 *
 *     eval "$(.ci/postgres.sh start)"
 *     deno run -A bench/remote_queue.ts [TASKS] [WORKERS]
 */

import postgres from "postgres";
import { TaskQueue } from "../src/remote/task_queue.ts";
import { TaskWorker } from "../src/remote/task_worker.ts";

const base = Deno.env.get("ORCHESTRA_TEST_POSTGRES");
if (!base) {
  console.error('set ORCHESTRA_TEST_POSTGRES (eval "$(.ci/postgres.sh start)")');
  Deno.exit(2);
}
const tasks = Number(Deno.args[0] ?? 10_000);
const workerCount = Number(Deno.args[1] ?? 4);
const schema = `bench_${Date.now().toString(36)}`;
const url = `${base}${base.includes("?") ? "&" : "?"}schema=${schema}`;

const call = {
  moduleUrl: "file:///noop.ts",
  workerName: "noop",
  name: "noop",
  flow: "bench",
  params: {},
  args: [],
  grant: {},
  secrets: [],
};
const submit = (q: TaskQueue, i: number) =>
  q.enqueue({ runId: "r", taskId: `t${i}`, attempt: 1, idempotencyKey: `r:t${i}`, tags: [], call });

const queue = await TaskQueue.open(url, { maxConnections: 8 });
try {
  // Enqueueing: 8 connections, each one statement per attempt.
  let t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < tasks) await submit(queue, next++);
    }),
  );
  const enqueueMs = performance.now() - t0;

  // Draining what is queued with `workerCount` claim loops.
  let done = 0;
  let allDone: () => void;
  const drained = new Promise<void>((r) => (allDone = r));
  const runner = {
    run: () => {
      if (++done === tasks) allDone();
      return Promise.resolve(null);
    },
  };
  const workers = Array.from({ length: workerCount }, () =>
    new TaskWorker({
      url,
      concurrency: 64,
      pool: runner,
      secret: () => undefined,
      log: () => {},
    }));
  t0 = performance.now();
  const loops = workers.map((w) => w.run());
  await drained;
  const drainMs = performance.now() - t0;

  // Dispatch latency on an idle system: enqueue to the runner being called, one at a time.
  const latencies: number[] = [];
  let started: () => void = () => {};
  runner.run = () => {
    started();
    return Promise.resolve(null);
  };
  for (let i = 0; i < 200; i++) {
    const claimed = new Promise<void>((r) => (started = r));
    const s = performance.now();
    await submit(queue, tasks + i);
    await claimed;
    latencies.push(performance.now() - s);
  }
  latencies.sort((a, b) => a - b);
  for (const w of workers) await w.stop();
  await Promise.all(loops);

  const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString("en");
  console.log(`enqueue ${tasks} attempts: ${rate(tasks, enqueueMs)}/s`);
  console.log(
    `drain ${tasks} no-op attempts with ${workerCount} claim loops: ${rate(tasks, drainMs)}/s`,
  );
  console.log(
    `dispatch latency (idle): p50 ${latencies[100].toFixed(2)} ms, p99 ${
      latencies[198].toFixed(2)
    } ms`,
  );
} finally {
  await queue.close();
  const sql = postgres(base, { max: 1, onnotice: () => {} });
  await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.end();
}

/**
 * Peak memory of a 100,000-task graph (100 layers of 1,000, 3 dependencies each), run to the
 * end with its record, in a fresh process (the first run, as under `orchestra run`). Prints the
 * peak heap and RSS growth over an idle baseline, per task, and what the record alone keeps.
 *
 * The heap is sampled by the tasks themselves (every 1,000th call) and once the record is
 * built: a run of synchronous tasks never yields to the event loop, so a timer would only see
 * its end. The peak includes garbage not collected yet, as the process's memory does.
 *
 *     deno run -A --v8-flags=--expose-gc bench/memory.ts
 */

import { flow, task } from "../mod.ts";

const LAYERS = 100;
const WIDTH = 1000;
const N = LAYERS * WIDTH;

let peakHeap = 0;
let peakRss = 0;
function sample(): void {
  const m = Deno.memoryUsage();
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  if (m.rss > peakRss) peakRss = m.rss;
}

let calls = 0;
const noop = task("noop", (..._inputs: unknown[]) => {
  if (++calls % 1000 === 0) sample();
  return 1;
});

const layered = flow(`layers-${LAYERS}x${WIDTH}`, () => {
  let prev = Array.from({ length: WIDTH }, () => noop());
  for (let l = 1; l < LAYERS; l++) {
    const next = new Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) {
      next[i] = noop(prev[i], prev[(i + 1) % WIDTH], prev[(i + 2) % WIDTH]);
    }
    prev = next;
  }
  return prev[0];
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
gc();
const base = Deno.memoryUsage();
const t = performance.now();
const record = await layered.run();
const ms = performance.now() - t;
sample();
if (record.status !== "succeeded" || record.tasks.length !== N) {
  throw new Error(`unexpected run: ${record.status} with ${record.tasks.length} tasks`);
}
gc();
const kept = Deno.memoryUsage().heapUsed - base.heapUsed;
const mb = (n: number) => (n / 2 ** 20).toFixed(1);
console.log(
  `100,000 tasks: ${ms.toFixed(0)} ms, peak heap +${mb(peakHeap - base.heapUsed)} MiB ` +
    `(${((peakHeap - base.heapUsed) / N).toFixed(0)} B/task), peak RSS +${
      mb(peakRss - base.rss)
    } MiB; the record keeps ${mb(kept)} MiB (${(kept / N).toFixed(0)} B/task)`,
);

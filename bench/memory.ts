/**
 * Peak memory of a 100,000-task graph (100 layers of 1,000, 3 dependencies each), run to the
 * end with its record. Prints the heap and RSS growth over an idle baseline.
 *
 *     deno run -A --v8-flags=--expose-gc bench/memory.ts
 */

import { layered } from "./shapes.ts";

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const base = Deno.memoryUsage();
let peakHeap = 0;
let peakRss = 0;
const sample = () => {
  const m = Deno.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
};
const timer = setInterval(sample, 5);
const f = layered(100, 1000);
const t = performance.now();
const record = await f.run();
const ms = performance.now() - t;
sample();
clearInterval(timer);
if (record.status !== "succeeded" || record.tasks.length !== 100_000) {
  throw new Error(`unexpected run: ${record.status} with ${record.tasks.length} tasks`);
}
const mb = (n: number) => (n / 2 ** 20).toFixed(1);
console.log(
  `100,000 tasks: ${ms.toFixed(0)} ms, peak heap +${mb(peakHeap - base.heapUsed)} MiB, ` +
    `peak RSS +${mb(peakRss - base.rss)} MiB (${
      ((peakHeap - base.heapUsed) / 100_000).toFixed(0)
    } B/task)`,
);

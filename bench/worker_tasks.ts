/**
 * Tasks for the worker benchmarks, in a module of their own: a worker imports the module that
 * defines its tasks, and must not import the benchmark file.
 *
 * @module
 */

import { task } from "../mod.ts";

/** Does nothing, in a worker. */
export const noopInWorker = task({ name: "noop_w", executor: "worker" }, () => 1);

function burn(ms: number): number {
  let x = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003;
  return x;
}

/** About `ms` of CPU, inline. */
export const cpuInline = task({ name: "cpu_inline" }, (ms: number) => burn(ms));
/** About `ms` of CPU, in a worker. */
export const cpuInWorker = task(
  { name: "cpu_worker", executor: "worker" },
  (ms: number) => burn(ms),
);

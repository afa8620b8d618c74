/**
 * Fan-out/fan-in with `f.map`: count the primes in 12 ranges, at most 4 ranges at a time,
 * then add the counts up.
 *
 *     deno task orchestra run examples/fan_out.ts --param ranges=12
 */

import { flow, task, type TaskContext } from "@orchestra/orchestra";

/** Splits [0, ranges × size) into ranges. */
export const split = task(
  "split",
  (ranges: number, size: number) =>
    Array.from({ length: ranges }, (_, i) => ({ from: i * size, to: (i + 1) * size })),
);

/** Counts the primes in one range (CPU-bound: a sieve-less trial division). */
export const countPrimes = task(
  { name: "count_primes", description: "Primes in [from, to)" },
  async ({ from, to }: { from: number; to: number }, ctx: TaskContext) => {
    let count = 0;
    for (let n = Math.max(2, from); n < to; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) count++;
    }
    await ctx.sleep(100); // let the live view show the map's progress
    return count;
  },
);

/** Adds the counts. */
export const total = task("total", (counts: number[]) => counts.reduce((a, b) => a + b, 0));

export default flow(
  {
    name: "fan_out",
    description: "Count primes in parallel ranges",
    params: {
      ranges: { type: "integer", default: 12, description: "How many ranges" },
      size: { type: "integer", default: 50_000, description: "Numbers per range" },
    },
  },
  (f, p) => {
    const counts = f.map(split(p.ranges, p.size), countPrimes, { concurrency: 4 });
    return { primes: total(counts), perRange: counts };
  },
);

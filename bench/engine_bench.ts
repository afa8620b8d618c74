/**
 * Engine overhead per task: 10,000 no-op inline tasks in three shapes, with the event stream on
 * and no listener. Divide the time per iteration by 10,000 for the cost per task.
 *
 *     deno task bench
 */

import { chain, fanOut, layered } from "./shapes.ts";

const N = 10_000;
const shapes = {
  "chain of 10,000": chain(N),
  "fan-out/fan-in 1 → 10,000 → 1": fanOut(N - 2),
  "100 layers of 100, 3 dependencies each": layered(100, 100),
};

for (const [name, f] of Object.entries(shapes)) {
  Deno.bench({
    name,
    group: "engine, 10,000 no-op inline tasks",
    // Enough runs that garbage collection is averaged in, after the JIT has warmed up.
    warmup: 30,
    n: 300,
    async fn() {
      const record = await f.run();
      if (record.status !== "succeeded") throw new Error(record.error);
    },
  });
}

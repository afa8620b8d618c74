/**
 * Orchestra beside p-graph and a minimal Kahn-order executor (the floor, the baseline of each
 * group), warm: `deno bench`'s means after its warm-up, on the three shapes of
 * `peers_shapes.ts`, graph building included. `peers.ts` gives the cold figures (a fresh
 * process per sample), the warm medians and the ratios.
 *
 *     deno bench -A bench/peers_bench.ts
 */

import { RUNNERS, RUNS, SHAPES, SIZES } from "./peers_shapes.ts";

const LABELS = { kahn: "Kahn-order floor", orchestra: "Orchestra", "p-graph": "p-graph 2.0.0" };

for (const shape of SHAPES) {
  for (const runner of RUNNERS) {
    Deno.bench({
      name: `${LABELS[runner]}: ${shape}`,
      group: `${shape} (${SIZES[shape].toLocaleString("en")} no-op tasks)`,
      baseline: runner === "kahn",
      warmup: 20,
      n: 100,
      async fn() {
        await RUNS[runner][shape]();
      },
    });
  }
}

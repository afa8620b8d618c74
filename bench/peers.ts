/**
 * Orchestra beside its peers (`bench/peers_shapes.ts`): p-graph and a minimal Kahn-order executor
 * (the floor) on a chain of 10,000, a fan 1 → 10,000 → 1 and 100 layers of 100, graph building
 * included, cold and warm, and the ratios.
 *
 * - **cold**: the first run in a fresh process (module loading excluded: the clock starts when
 *   the graph starts being built). Each sample is its own `deno run` of one contestant and one
 *   shape; the contestants take turns, so a drift of the machine's speed hits them alike.
 * - **warm**: in this process, after warm-up runs, the contestants alternate run by run; the
 *   figure is the median.
 *
 *     deno run -A bench/peers.ts [--cold 9] [--warm 61] [--cpu]
 *
 * (`deno bench -A bench/peers_bench.ts` gives the warm means, with the floor as baseline.)
 *
 * @module
 */

import process from "node:process";
import { type Runner, RUNNERS, RUNS, type Shape, SHAPES, SIZES } from "./peers_shapes.ts";

// `--cpu`: time by the process's CPU time (user + system, every thread) instead of the wall
// clock. On a shared machine whose load exceeds its cores, the wall clock also counts the time
// the process waited for a core; CPU time counts only work done (the JIT's and GC's threads too).
const CPU = Deno.args.includes("--cpu");

/** Milliseconds on the chosen clock. */
function now(): number {
  if (!CPU) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A child's job: one cold run, its time printed in milliseconds. */
async function once(runner: Runner, shape: Shape): Promise<void> {
  const t = now();
  await RUNS[runner][shape]();
  console.log((now() - t).toFixed(3));
}

async function coldSample(runner: Runner, shape: Shape): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      import.meta.filename!,
      "--once",
      runner,
      shape,
      ...(CPU ? ["--cpu"] : []),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the cold run of ${runner} on ${shape} failed`);
  return Number(new TextDecoder().decode(out.stdout).trim());
}

async function cold(samples: number): Promise<Record<Shape, Record<Runner, number[]>>> {
  const times = {} as Record<Shape, Record<Runner, number[]>>;
  for (const shape of SHAPES) {
    times[shape] = { kahn: [], orchestra: [], "p-graph": [] };
    for (let s = 0; s < samples; s++) {
      // Rotated, so no contestant always runs right after another's process.
      for (let k = 0; k < RUNNERS.length; k++) {
        const runner = RUNNERS[(s + k) % RUNNERS.length];
        times[shape][runner].push(await coldSample(runner, shape));
      }
    }
  }
  return times;
}

async function warm(rounds: number): Promise<Record<Shape, Record<Runner, number[]>>> {
  const times = {} as Record<Shape, Record<Runner, number[]>>;
  for (const shape of SHAPES) {
    times[shape] = { kahn: [], orchestra: [], "p-graph": [] };
    for (let r = 0; r < 30; r++) for (const runner of RUNNERS) await RUNS[runner][shape]();
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < RUNNERS.length; k++) {
        const runner = RUNNERS[(r + k) % RUNNERS.length];
        const t = now();
        await RUNS[runner][shape]();
        times[shape][runner].push(now() - t);
      }
    }
  }
  return times;
}

function table(
  coldTimes: Record<Shape, Record<Runner, number[]>>,
  warmTimes: Record<Shape, Record<Runner, number[]>>,
): string {
  const rows = [
    "| shape | Orchestra cold | p-graph cold | floor cold | p-graph ÷ Orchestra, cold | " +
    "Orchestra warm | p-graph warm | floor warm | p-graph ÷ Orchestra, warm | Orchestra ÷ floor, warm |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  for (const shape of SHAPES) {
    const c = (r: Runner) => median(coldTimes[shape][r]);
    const w = (r: Runner) => median(warmTimes[shape][r]);
    const perTask = (x: number) => `${((x * 1000) / SIZES[shape]).toFixed(2)} µs/task`;
    rows.push(
      `| ${shape} | ${ms(c("orchestra"))} | ${ms(c("p-graph"))} | ${ms(c("kahn"))} | ` +
        `${(c("p-graph") / c("orchestra")).toFixed(2)}× | ` +
        `${ms(w("orchestra"))} (${perTask(w("orchestra"))}) | ${ms(w("p-graph"))} | ` +
        `${ms(w("kahn"))} | ${(w("p-graph") / w("orchestra")).toFixed(2)}× | ` +
        `${(w("orchestra") / w("kahn")).toFixed(2)}× |`,
    );
  }
  return rows.join("\n");
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--once") {
    await once(args[1] as Runner, args[2] as Shape);
  } else {
    const opt = (name: string, dflt: number) => {
      const i = args.indexOf(name);
      return i < 0 ? dflt : Number(args[i + 1]);
    };
    const coldTimes = await cold(opt("--cold", 9));
    const warmTimes = await warm(opt("--warm", 61));
    console.log(table(coldTimes, warmTimes));
  }
}

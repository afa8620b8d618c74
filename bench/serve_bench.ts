/**
 * A load test of `orchestra serve` on loopback: CLIENTS concurrent clients for SECONDS, each
 * polling (runs list, a run's record) and starting runs of a 3-task flow; then every run
 * started is checked to have ended and been recorded (no lost run). Reports errors, p50/p99
 * API latency, runs per minute, and webhook-to-first-task latency (p50) of one delivery at a
 * time.
 *
 *     deno run -A --unstable-worker-options bench/serve_bench.ts [--seconds 60] [--clients 200]
 *
 * @module
 */

import { createServer } from "../src/cli/commands/serve.ts";
import { defaultSettings } from "../src/config/settings.ts";

/** What one load test measured. */
export interface ServeBenchResult {
  /** Requests made. */
  requests: number;
  /** Requests that failed (a status ≥ 400 or a network error). */
  errors: number;
  /** Latency percentiles of every request, in ms. */
  p50: number;
  /** The 99th percentile, in ms. */
  p99: number;
  /** Runs started. */
  started: number;
  /** Runs started that are not recorded as succeeded at the end. */
  lost: number;
  /** Runs that ended per minute, over the load phase. */
  runsPerMinute: number;
  /** Webhook request to its run's first task starting, p50 and p99 in ms. */
  webhook: { p50: number; p99: number; n: number };
}

const FLOW = `
import { flow, task } from "@orchestra/orchestra";
const a = task("a", () => 1);
const b = task("b", (x: number) => x + 1);
const c = task("c", (x: number) => x * 2);
export default flow({ name: "three" }, () => c(b(a())));
`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Runs the load test. */
export async function serveBench(
  options: { seconds: number; clients: number; webhooks?: number },
): Promise<ServeBenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra_serve_bench_" });
  const stateDir = `${dir}/state`;
  await Deno.writeTextFile(`${dir}/three.ts`, FLOW);
  const secret = "bench-secret";
  const server = await createServer({ ...defaultSettings(), stateDir, logLevel: "error" }, {
    roots: [dir],
    port: 0,
    name: "bench",
    watch: false,
    tokens: { tokens: [], webhooks: { three: { secret: "BENCH_SECRET" } } },
  }, {
    stdout: () => {},
    stderr: () => {},
    terminal: { isTerminal: false, columns: 100, rows: 30 },
    cwd: dir,
    env: (n) => n === "BENCH_SECRET" ? secret : Deno.env.get(n),
    onSignal: () => () => {},
    exit: (c) => Deno.exit(c),
  });
  if (typeof server === "string") throw new Error(server);
  await server.start();
  const url = `http://127.0.0.1:${server.addr.port}`;
  const latencies: number[] = [];
  const runIds: string[] = [];
  let errors = 0;
  const timed = async (path: string, init?: RequestInit) => {
    const t0 = performance.now();
    try {
      const r = await fetch(url + path, init);
      const body = await r.json();
      latencies.push(performance.now() - t0);
      if (r.status >= 400) errors++;
      return body;
    } catch {
      errors++;
      return undefined;
    }
  };
  const post = { method: "POST", headers: { "x-orchestra-request": "1" } };
  const endAt = Date.now() + options.seconds * 1000;
  const began = Date.now();
  await Promise.all(Array.from({ length: options.clients }, async (_, i) => {
    let n = 0;
    while (Date.now() < endAt) {
      n++;
      if ((n + i) % 5 === 0) {
        const r = await timed("/api/v1/flows/three/runs", post);
        if (r?.runId) runIds.push(r.runId);
      } else if (n % 2 === 0 && runIds.length) {
        await timed(`/api/v1/runs/${runIds[(n * 7919 + i) % runIds.length]}`);
      } else await timed("/api/v1/runs?limit=20");
    }
  }));
  const loadMs = Date.now() - began;
  // Every run started ends and is recorded.
  const deadline = Date.now() + 120_000;
  while (server.runs.running > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const store = server.api.store;
  let lost = 0;
  for (const id of runIds) if ((await store.getRun(id))?.status !== "succeeded") lost++;
  const ended =
    (await store.listRuns({ flow: "three" })).filter((r) =>
      r.finishedAt && Date.parse(r.finishedAt) <= began + loadMs
    ).length;
  // Webhook to first task, one delivery at a time.
  const hooks: number[] = [];
  for (let i = 0; i < (options.webhooks ?? 200); i++) {
    const t0 = performance.timeOrigin + performance.now();
    const r = await fetch(`${url}/hooks/three`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: "{}",
    });
    const { runId } = await r.json();
    for (let k = 0; k < 400; k++) {
      const [first] = await store.events(runId, { types: ["task.started"], limit: 1 });
      if (first) {
        hooks.push(first.event.time - t0);
        break;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
  }
  await server.stop(5000);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  latencies.sort((a, b) => a - b);
  hooks.sort((a, b) => a - b);
  return {
    requests: latencies.length + errors,
    errors,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    started: runIds.length,
    lost,
    runsPerMinute: ended / (loadMs / 60_000),
    webhook: { p50: percentile(hooks, 0.5), p99: percentile(hooks, 0.99), n: hooks.length },
  };
}

if (import.meta.main) {
  const arg = (name: string, fallback: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  };
  const r = await serveBench({
    seconds: arg("seconds", 60),
    clients: arg("clients", 200),
    webhooks: arg("webhooks", 200),
  });
  console.log(
    JSON.stringify(r, (_k, v) => typeof v === "number" ? Math.round(v * 100) / 100 : v, 2),
  );
  Deno.exit(r.errors || r.lost ? 1 : 0);
}

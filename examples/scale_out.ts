/**
 * Scale out: the CPU-bound step runs on `orchestra worker` processes, on as many machines as
 * share the PostgreSQL store; the run that orchestrates it only waits for results.
 *
 *     export ORCHESTRA_STORE=postgres://orchestra@db.internal:5432/orchestra
 *     deno task orchestra worker &                     # on each machine, as many as you like
 *     deno task orchestra run examples/scale_out.ts --param parts=16
 *
 * Kill a worker mid-run (even with kill -9): its digests go back to the queue once its lease
 * lapses and finish on another worker; the run still succeeds, each part recorded once.
 */

import { flow, task, type TaskContext } from "@orchestra/orchestra";

/** The parts to hash. */
export const parts = task(
  "parts",
  (n: number, rounds: number) => Array.from({ length: n }, (_, part) => ({ part, rounds })),
);

/**
 * Hashes one part `rounds` times (SHA-256 chained). `executor: "remote"` sends it to the
 * workers; it requests no permissions, so it runs there with none.
 */
export const digest = task(
  { name: "digest", executor: "remote", timeout: "2m", retries: 1 },
  async ({ part, rounds }: { part: number; rounds: number }, ctx: TaskContext) => {
    let data = new TextEncoder().encode(`part ${part}`).buffer as ArrayBuffer;
    for (let i = 0; i < rounds; i++) data = await crypto.subtle.digest("SHA-256", data);
    // The same on every attempt and delivery: what an at-least-once side effect would key on.
    ctx.log.info(`part ${part}: attempt ${ctx.attempt}, key ${ctx.idempotencyKey}`);
    return Array.from(new Uint8Array(data, 0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  },
);

/** Combines the digests (in the orchestrating run: a pure task). */
export const combine = task("combine", (digests: string[]) => ({
  parts: digests.length,
  first: digests[0],
  last: digests.at(-1),
}));

export default flow(
  {
    name: "scale_out",
    description: "Hash parts on remote workers, then combine them",
    params: {
      parts: { type: "integer", default: 8, description: "How many parts" },
      rounds: { type: "integer", default: 2_000, description: "SHA-256 rounds per part" },
    },
  },
  (f, p) => {
    const digests = f.map(parts(p.parts, p.rounds), digest, { concurrency: 64 });
    return combine(digests);
  },
);

/** Events and a temporary directory shared by the SQLite store tests. */

import type { AppendEvent } from "../../src/store/store.ts";

/** A run's `run.started` event. */
export const started = (runId: string): AppendEvent => ({
  type: "run.started",
  runId,
  time: Date.UTC(2026, 0, 1),
  flow: "f",
  params: {},
});

/** Task `t<i>` created, started and succeeded with `{ i }`. */
export function taskEvents(runId: string, i: number): AppendEvent[] {
  const base = { runId, time: Date.UTC(2026, 0, 1) + i, taskId: `t${i}`, name: "t" };
  return [
    { ...base, type: "task.created", needs: [], kind: "task" },
    { ...base, type: "task.started", attempt: 1 },
    { ...base, type: "task.succeeded", attempt: 1, durationMs: 0, result: { i } },
  ];
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A child process of the lease test: starts and finishes `count` runs (`r0`, `r1`, …) one
 * after the other in the state dir given, each with its own lease.
 *
 *     deno run -A _finish_worker.ts <stateDir> <count>
 */
import { SqliteStore } from "../../src/store/sqlite_store.ts";

const [stateDir, countArg] = Deno.args;
const store = await SqliteStore.open(stateDir, { durability: "normal" });
for (let i = 0; i < Number(countArg); i++) {
  const runId = `r${i}`;
  const time = Date.now();
  await store.append([{ type: "run.started", runId, time, flow: "f", params: {} }]);
  await store.append([{ type: "run.finished", runId, time, flow: "f", status: "succeeded" }]);
}
await store.close();

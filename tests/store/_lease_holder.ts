/**
 * A child process of the lease tests: a run's owner on PostgreSQL. It starts run `<runId>`,
 * prints `held`, and prints `lost: <message>` when its store finds the lease taken over. Each
 * line it reads on stdin makes it append a task event to the run and print `appended` or
 * `refused: <error name>: <message>`; at the end of stdin it closes the store.
 *
 *     deno run -A _lease_holder.ts <store url> <runId>
 */
import { PostgresStore } from "../../src/store/postgres_store.ts";

const [url, runId] = Deno.args;
const store = await PostgresStore.open(url);
const { lease } = await store.claimRun(runId);
if (!lease) throw new Error(`run ${runId} is held by another`);
lease.signal?.addEventListener("abort", () => {
  console.log(`lost: ${(lease.signal!.reason as Error).message}`);
});
await store.append([{ type: "run.started", runId, time: Date.now(), flow: "f", params: {} }]);
console.log("held");
let n = 0;
for await (const _ of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const taskId = `late${n++}`;
  try {
    await store.append([
      {
        type: "task.created",
        runId,
        time: Date.now(),
        taskId,
        name: taskId,
        needs: [],
        kind: "task",
      },
    ]);
    console.log("appended");
  } catch (e) {
    console.log(`refused: ${(e as Error).name}: ${(e as Error).message}`);
  }
}
await store.close();

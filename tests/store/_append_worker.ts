/**
 * A child process of the two-process test: appends `batches` batches to its own run and to a
 * shared one, in the state dir given, starting once every sibling is ready.
 *
 *     deno run -A _append_worker.ts <stateDir> <name> <batches> <siblings>
 */
import { SqliteStore } from "../../src/store/sqlite_store.ts";

const [stateDir, name, batchesArg, siblingsArg] = Deno.args;
const batches = Number(batchesArg);
const siblings = Number(siblingsArg);
const store = await SqliteStore.open(stateDir, { durability: "full" });
await Deno.writeTextFile(`${stateDir}/ready-${name}`, "");
// A barrier, so that the processes write at the same time rather than one after the other.
for (;;) {
  let ready = 0;
  for await (const e of Deno.readDir(stateDir)) if (e.name.startsWith("ready-")) ready++;
  if (ready >= siblings) break;
  await new Promise((r) => setTimeout(r, 2));
}
const runId = `run-${name}`;
await store.append([{
  type: "run.started",
  runId,
  time: Date.now(),
  flow: "two",
  params: { name },
}]);
for (let i = 0; i < batches; i++) {
  const base = { runId, time: Date.now(), taskId: `t${i}`, name: "t" };
  await store.append([
    { ...base, type: "task.created", needs: i ? [`t${i - 1}`] : [], kind: "task" },
    { ...base, type: "task.started", attempt: 1 },
    { ...base, type: "task.succeeded", attempt: 1, durationMs: 0, result: { name, i } },
    {
      type: "task.log",
      runId: "shared",
      time: Date.now(),
      taskId: name,
      name,
      level: "info",
      message: `${name} ${i}`,
    },
  ]);
  await store.cacheSet(`${name}:${i}`, i, Date.now() + 60_000);
}
await store.append([{
  type: "run.finished",
  runId,
  time: Date.now(),
  flow: "two",
  status: "succeeded",
  result: name,
}]);
await store.close();

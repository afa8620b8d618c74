import assert from "node:assert/strict";
import { task, type TaskContext } from "../../mod.ts";
import { normalizeTaskOptions } from "../../src/core/model.ts";
import type { TaskCall } from "../../src/engine/executor.ts";
import { WorkerExecutor } from "../../src/executors/worker_executor.ts";
import type { WorkerCall } from "../../src/executors/worker_pool.ts";

function fakePool() {
  const calls: WorkerCall[] = [];
  let closed = 0;
  return {
    calls,
    get closed() {
      return closed;
    },
    run(call: WorkerCall) {
      calls.push(call);
      call.onLog("warning", "from the worker", { n: 1 });
      return Promise.resolve("done");
    },
    close() {
      closed++;
      return Promise.resolve();
    },
  };
}

function taskCall(grant?: { read: string[] }): { call: TaskCall; logged: string[] } {
  const def = task(
    { name: "read", permissions: { read: ["./data"] }, secrets: ["TOKEN"] },
    (_f: string) => 1,
  );
  const logged: string[] = [];
  const context = {
    runId: "r",
    flow: "f",
    attempt: 2,
    params: { p: 1 },
    signal: new AbortController().signal,
    secret: (name: string) => `value-of-${name}`,
    log: { warn: (m: string) => logged.push(`warn ${m}`) },
  } as unknown as TaskContext;
  const config = normalizeTaskOptions(def.options).config;
  return {
    call: { id: "read#2", task: def, config, args: ["a.csv"], context, grant },
    logged,
  };
}

Deno.test("WorkerExecutor sends the pool the call with its grant, secrets and context", async () => {
  const pool = fakePool();
  const { call, logged } = taskCall();
  assert.equal(await new WorkerExecutor(pool).run(call), "done");
  const sent = pool.calls[0];
  assert.deepEqual(sent.args, ["a.csv"]);
  assert.deepEqual(sent.info, {
    runId: "r",
    flow: "f",
    taskId: "read#2",
    attempt: 2,
    params: { p: 1 },
  });
  assert.deepEqual(sent.grant, { read: ["./data"] }, "without authorization: what it requested");
  assert.deepEqual(sent.secrets, { TOKEN: "value-of-TOKEN" });
  assert.equal(sent.signal, call.context.signal);
  assert.deepEqual(logged, ["warn from the worker"]);
  const narrowed = taskCall({ read: ["./data/a.csv"] }).call;
  await new WorkerExecutor(pool).run(narrowed);
  assert.deepEqual(pool.calls[1].grant, { read: ["./data/a.csv"] }, "the authorized grant wins");
});

Deno.test("WorkerExecutor closes a pool it owns, and leaves a given pool to its owner", async () => {
  const given = fakePool();
  await new WorkerExecutor(given).close();
  assert.equal(given.closed, 0);
  const owned = fakePool();
  await new WorkerExecutor(owned, { own: true }).close();
  assert.equal(owned.closed, 1);
});

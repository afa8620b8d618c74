import assert from "node:assert/strict";
import { flow, FlowValidationError, task } from "../../mod.ts";
import { workerPermissions, WorkerPool } from "../../src/executors/worker_pool.ts";
import {
  chatty,
  envVar,
  fn,
  forever,
  readFile,
  sleepy,
  spin,
  where,
} from "../fixtures/worker_tasks.ts";

Deno.test("worker tasks run in a worker and return their results", async () => {
  const record = await flow("w", (f) => ({ where: where(), spins: f.map([1000, 2000], spin) }))
    .run();
  assert.equal(record.status, "succeeded", record.error);
  const expected = (n: number) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = (x + i * i) % 1_000_003;
    return x;
  };
  assert.deepEqual(record.result, { where: "worker", spins: [expected(1000), expected(2000)] });
});

Deno.test("a worker gets exactly its grant: what it asked for works, the rest is denied", async () => {
  const record = await flow("grants", () => ({
    own: readFile("./tests/fixtures/worker_tasks.ts"),
    other: readFile("/etc/hostname"),
    env: envVar(),
  })).run();
  const byId = Object.fromEntries(record.tasks.map((t) => [t.id, t]));
  assert.equal(byId.read_file.status, "succeeded");
  assert.ok((byId.read_file.result as number) > 100);
  assert.equal(byId["read_file#2"].status, "failed");
  assert.match(byId["read_file#2"].error!, /Requires read access to "\/etc\/hostname"/);
  assert.match(byId["read_file#2"].error!, /task "read_file#2" was not granted it/);
  assert.equal(byId.env_var.status, "failed", "a task that requests nothing gets nothing");
  assert.match(byId.env_var.error!, /Requires env access/);
});

Deno.test("workerPermissions() sets every permission explicitly, never inherit", () => {
  assert.deepEqual(workerPermissions({ read: ["/data"], net: true }), {
    read: ["/data"],
    write: false,
    net: true,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assert.ok(Object.values(workerPermissions(undefined)).every((v) => v === false));
});

Deno.test("a task's console output and logs are kept with the task", async () => {
  const record = await flow("logs", () => chatty()).run();
  assert.equal(record.status, "succeeded", record.error);
  const logs = record.tasks[0].logs!.map((l) => [l.level, l.message]);
  assert.deepEqual(logs, [
    ["info", "hello from chatty"],
    ["error", "something odd"],
    ["info", "structured"],
  ]);
});

Deno.test("a timeout terminates a CPU-bound task; the pool replaces the worker", async () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    const start = performance.now();
    const record = await flow("runaway", () => ({ stuck: forever(), after: spin(10) })).run({}, {
      workerPool: pool,
    });
    assert.ok(performance.now() - start < 5000);
    const byId = Object.fromEntries(record.tasks.map((t) => [t.id, t]));
    assert.equal(byId.forever.status, "failed");
    assert.match(byId.forever.error!, /timed out after 200ms/);
    assert.equal(byId.spin.status, "succeeded", "queued behind the stuck task, it still ran");
    const again = await flow("again", () => where()).run({}, { workerPool: pool });
    assert.equal(again.result, "worker");
  } finally {
    await pool.close();
  }
});

Deno.test("cancelling a run terminates its workers' tasks", async () => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(new Error("stop")), 300);
  const record = await flow("cancel", () => sleepy()).run({}, { signal: controller.signal });
  assert.equal(record.status, "cancelled");
  assert.ok(Date.now() - started < 5000);
});

Deno.test("a result that cannot leave the worker fails with a clear error", async () => {
  const record = await flow("fn", () => fn()).run();
  assert.equal(record.status, "failed");
  assert.match(record.error!, /result cannot leave the worker/);
});

Deno.test("a task not defined at a module's top level cannot use the worker executor", async () => {
  const make = () => task({ name: "nested", executor: "worker" }, () => 1);
  const nested = make();
  await assert.rejects(
    flow("nested", () => nested()).run(),
    (e: unknown) =>
      e instanceof FlowValidationError &&
      /cannot run in a worker: it is not defined at the top level of a module/.test(e.message) &&
      /define it with task\(…\) at the top level/.test(e.message),
  );
});

Deno.test("defaultExecutor runs tasks that choose none in workers", async () => {
  const record = await flow("default", () => where()).run({}, { defaultExecutor: "worker" });
  assert.equal(record.result, "worker");
});

Deno.test("a module whose top-level code throws in the worker fails its tasks with that error", async () => {
  const { doomed } = await import("../fixtures/worker_broken.ts");
  const record = await flow("broken", () => ({ a: doomed(), b: doomed() })).run();
  assert.equal(record.status, "failed");
  for (const t of record.tasks) {
    assert.match(
      t.error!,
      /The worker for tasks of worker_broken\.ts failed: the top-level code of worker_broken\.ts failed: Error: the module's top level threw/,
    );
  }
});

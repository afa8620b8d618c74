import assert from "node:assert/strict";
import {
  flow,
  MemoryStore,
  ParamsValidationError,
  SqliteStore,
  type Store,
  task,
  type TaskContext,
} from "../../mod.ts";
import { Orchestrator } from "../../src/orchestrator/orchestrator.ts";
import { PostgresStore } from "../../src/store/postgres_store.ts";
import { pgTest, withClient, withFreshSchema } from "../_helpers/postgres.ts";

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleepy = task("sleepy", async (...rest: unknown[]) => {
  await (rest.at(-1) as TaskContext).sleep(60_000);
  return "woke";
});
const sleeping = flow("sleeping", () => sleepy());

async function started(store: Store = new MemoryStore(), concurrency?: number) {
  const orchestrator = new Orchestrator({
    store,
    ...(concurrency !== undefined ? { concurrency } : {}),
  });
  await orchestrator.start();
  return orchestrator;
}

Deno.test("invoke() returns the run id at once; the run completes in the background", async () => {
  const open = gate();
  const held = task("held", async (n: number) => {
    await open.promise;
    return n * 2;
  });
  const doubling = flow(
    { name: "doubling", params: { n: { type: "integer", default: 21 } } },
    (_f, params) => held(params.n),
  );
  const orchestrator = await started();
  const runId = await orchestrator.invoke(doubling);
  await until(async () => (await orchestrator.status(runId))?.current[0] === "held", "held");
  const running = await orchestrator.status(runId);
  assert.equal(running?.status, "running");
  assert.equal(running?.flow, "doubling");
  assert.equal(running?.finishedAt, undefined);
  open.open();
  const record = await orchestrator.wait(runId);
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 42);
  const done = await orchestrator.status(runId);
  assert.equal(done?.status, "succeeded");
  assert.equal(done?.result, 42);
  assert.ok(done?.finishedAt);
  assert.deepEqual(done?.current, []);
  assert.deepEqual(done?.tasks, [{ id: "held", status: "succeeded", attempts: 1 }]);
  assert.equal(await orchestrator.status("no-such-run"), undefined);
  await orchestrator.stop();
});

Deno.test("list() filters runs by flow, status and limit", async () => {
  const ok = flow("ok", () => task("one", () => 1)());
  const boom = flow("boom", () =>
    task("explode", () => {
      throw new Error("kaboom");
    })());
  const orchestrator = await started();
  const ids = [
    await orchestrator.invoke(ok),
    await orchestrator.invoke(ok),
    await orchestrator.invoke(boom),
  ];
  const records = await Promise.all(ids.map((id) => orchestrator.wait(id)));
  assert.deepEqual(records.map((r) => r.status), ["succeeded", "succeeded", "failed"]);
  assert.equal((await orchestrator.list()).length, 3);
  assert.deepEqual(
    (await orchestrator.list({ flow: "ok" })).map((r) => r.runId).sort(),
    [
      ids[0],
      ids[1],
    ].sort(),
  );
  const failed = await orchestrator.list({ status: "failed" });
  assert.deepEqual(failed.map((r) => r.runId), [ids[2]]);
  assert.match(failed[0].error ?? "", /kaboom/);
  assert.equal((await orchestrator.list({ flow: "ok", limit: 1 })).length, 1);
  assert.equal((await orchestrator.status(ids[2]))?.status, "failed");
  await orchestrator.stop();
});

Deno.test("cancel() of a local run aborts it: its status becomes cancelled", async () => {
  const orchestrator = await started();
  const runId = await orchestrator.invoke(sleeping);
  await until(async () => (await orchestrator.status(runId))?.current.length === 1, "sleepy");
  assert.equal(await orchestrator.cancel(runId), true);
  const record = await orchestrator.wait(runId);
  assert.equal(record.status, "cancelled");
  assert.equal((await orchestrator.status(runId))?.status, "cancelled");
  assert.equal(await orchestrator.cancel(runId), false, "a finished run cannot be cancelled");
  assert.equal(await orchestrator.cancel("no-such-run"), false);
  await orchestrator.stop();
});

Deno.test("cancel() of another process's run requests it through the store", async () => {
  const store = new MemoryStore();
  await store.createRun({
    runId: "elsewhere",
    flow: "sleeping",
    status: "running",
    params: {},
    startedAt: new Date().toISOString(),
    pid: 1,
    host: "another-host",
  });
  const orchestrator = await started(store);
  assert.equal(await orchestrator.cancel("elsewhere"), true);
  assert.equal(await store.isCancelRequested("elsewhere"), true);
  await assert.rejects(orchestrator.wait("elsewhere"), { name: "RunNotFoundError" });
  await orchestrator.stop();
});

Deno.test("a cancel requested through the store stops a local run", async () => {
  const store = new MemoryStore();
  const orchestrator = await started(store);
  const runId = await orchestrator.invoke(sleeping);
  await until(async () => (await orchestrator.status(runId))?.current.length === 1, "sleepy");
  assert.equal(await store.requestCancel(runId), true);
  assert.equal((await orchestrator.wait(runId)).status, "cancelled");
  await orchestrator.stop();
});

Deno.test("at most `concurrency` runs execute at once; the rest start in order", async () => {
  let now = 0;
  let most = 0;
  const order: number[] = [];
  const work = task("work", async (i: number) => {
    order.push(i);
    most = Math.max(most, ++now);
    await new Promise((r) => setTimeout(r, 20));
    now--;
    return i;
  });
  const working = flow(
    { name: "working", params: { i: { type: "integer", required: true } } },
    (_f, params) => work(params.i),
  );
  const orchestrator = await started(new MemoryStore(), 2);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await orchestrator.invoke(working, { i }));
  const records = await Promise.all(ids.map((id) => orchestrator.wait(id)));
  assert.deepEqual(records.map((r) => r.result), [0, 1, 2, 3, 4, 5]);
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  await orchestrator.stop();
});

Deno.test("stop() lets runs finish within the grace period, then cancels the rest", async () => {
  const quick = flow("quick", () =>
    task("nap", async () => {
      await new Promise((r) => setTimeout(r, 20));
      return "rested";
    })());
  const orchestrator = await started();
  const fast = await orchestrator.invoke(quick);
  const slow = await orchestrator.invoke(sleeping);
  const began = Date.now();
  await orchestrator.stop({ graceMs: 150 });
  assert.ok(Date.now() - began >= 140, "it waited for the grace period");
  assert.equal((await orchestrator.wait(fast)).status, "succeeded");
  const record = await orchestrator.wait(slow);
  assert.equal(record.status, "cancelled");
  assert.match(record.error ?? "", /orchestrator stopped/);
  await assert.rejects(orchestrator.invoke(quick), /stopping/);
});

Deno.test("stop() returns as soon as every run has finished", async () => {
  const orchestrator = await started();
  const runId = await orchestrator.invoke(flow("instant", () => task("one", () => 1)()));
  const began = Date.now();
  await orchestrator.stop({ graceMs: 5_000 });
  assert.ok(Date.now() - began < 2_000);
  assert.equal((await orchestrator.wait(runId)).status, "succeeded");
});

Deno.test("invoke() rejects invalid params before any run exists", async () => {
  const needy = flow(
    { name: "needy", params: { n: { type: "integer", required: true }, tag: "string" } },
    (_f, params) => task("use", (n: number) => n)(params.n),
  );
  const store = new MemoryStore();
  const orchestrator = await started(store);
  await assert.rejects(orchestrator.invoke(needy, { tag: 3 }), (e: unknown) => {
    assert.ok(e instanceof ParamsValidationError);
    assert.equal(e.issues.length, 2, "every problem at once");
    return true;
  });
  assert.deepEqual(await store.listRuns(), []);
  await orchestrator.stop();
});

Deno.test("invoke() before start() is refused", async () => {
  const orchestrator = new Orchestrator({ store: new MemoryStore() });
  await assert.rejects(orchestrator.invoke(sleeping), /call start\(\) first/);
  assert.throws(() => new Orchestrator({ concurrency: 0 }), RangeError);
});

Deno.test("start() resumes a run a crash interrupted: succeeded tasks do not run again", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "orchestra-orchestrator-" });
  let firstRuns = 0;
  let secondRuns = 0;
  const first = task("first", () => {
    firstRuns++;
    return 20;
  });
  const second = task("second", (n: number) => {
    secondRuns++;
    return n + 1;
  });
  const resumable = flow("resumable", () => second(first()));

  // A process that has exited: its pid is gone.
  const child = new Deno.Command("true").spawn();
  const deadPid = child.pid;
  await child.status;

  const store = await SqliteStore.open(stateDir);
  const row = (runId: string, flowName: string, pid: number) => ({
    runId,
    flow: flowName,
    status: "running" as const,
    params: {},
    startedAt: new Date().toISOString(),
    pid,
    host: Deno.hostname(),
  });
  await store.createRun(row("crashed", "resumable", deadPid));
  const base = { runId: "crashed", taskId: "first", name: "first" };
  const t = Date.now();
  await store.append([
    { type: "run.started", runId: "crashed", time: t, flow: "resumable", params: {} },
    { ...base, type: "task.created", time: t, needs: [], kind: "task" },
    { ...base, type: "task.started", time: t, attempt: 1 },
    { ...base, type: "task.succeeded", time: t + 1, attempt: 1, durationMs: 1, result: 20 },
  ]);
  // Left alone: a flow the orchestrator does not know, and a run another process owns.
  await store.createRun(row("unknown-flow", "elsewhere", deadPid));
  await store.createRun(row("alive", "resumable", 1));
  await store.close();
  const owner = await SqliteStore.open(stateDir);
  assert.ok((await owner.claimRun("alive")).lease);

  const orchestrator = new Orchestrator({ stateDir, flows: [resumable] });
  await orchestrator.start();
  const record = await orchestrator.wait("crashed");
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 21);
  assert.equal(firstRuns, 0, "the succeeded task was restored, not run again");
  assert.equal(secondRuns, 1);
  const status = await orchestrator.status("crashed");
  assert.equal(status?.status, "succeeded");
  assert.equal(status?.result, 21);
  assert.deepEqual(status?.tasks.map((t) => [t.id, t.status]), [
    ["first", "succeeded"],
    ["second", "succeeded"],
  ]);
  // Nobody owns it and nobody here knows its flow: it shows as interrupted.
  assert.equal((await orchestrator.status("unknown-flow"))?.status, "interrupted");
  assert.equal((await orchestrator.status("alive"))?.status, "running");
  await assert.rejects(orchestrator.wait("alive"), { name: "RunNotFoundError" });
  await orchestrator.stop();
  await owner.close();
  await Deno.remove(stateDir, { recursive: true });
});

pgTest(
  "an Orchestrator on PostgreSQL whose run is taken over (its lease lapsed) stops the run and writes nothing more of it",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      const store = await PostgresStore.open(schemaUrl, { leaseTimeoutSeconds: 0.6 });
      const other = await PostgresStore.open(schemaUrl);
      const orchestrator = await started(store);
      try {
        const runId = await orchestrator.invoke(sleeping);
        await until(
          async () => (await orchestrator.status(runId))?.current[0] === "sleepy",
          "sleepy",
        );
        // Its lease lapses (as if the process had been paused) and another process takes it.
        let taken = false;
        while (!taken) {
          await withClient(
            url,
            (sql) =>
              sql.unsafe(`UPDATE "${schema}".leases SET expires_at = now() - interval '1 second'`),
          );
          taken = (await other.claimRun(runId, { pid: 777, host: "b" })).lease !== undefined;
        }
        const seen = (await other.events(runId)).length;
        const record = await orchestrator.wait(runId);
        assert.notEqual(record.status, "succeeded");
        assert.match(record.error ?? "", /lost the lease of run .* to process 777 on host "b"/);
        assert.equal((await other.events(runId)).length, seen, "nothing written after");
        assert.equal((await other.getRun(runId))?.status, "running", "the new owner's now");
      } finally {
        await orchestrator.stop();
        await other.close();
      }
    });
  },
);

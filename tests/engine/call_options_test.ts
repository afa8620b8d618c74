import assert from "node:assert/strict";
import { flow, task, type TaskContext } from "../../mod.ts";
import type { TaskCondition } from "../../src/core/protocol.ts";

const one = task("one", () => 1);
const boom = task("boom", () => {
  throw new Error("boom");
});
const echo = task("echo", (x: unknown) => x);

Deno.test("f.call() with an explicit id names the task in the run", async () => {
  const record = await flow("ids", (f) => {
    const a = f.call(one, [], { id: "first" });
    return f.call(echo, [a], { id: "second" });
  }).run();
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.tasks.map((t) => t.id), ["first", "second"]);
  assert.equal(record.result, 1);
});

Deno.test("an explicit id that is taken is an error", async () => {
  const record = await flow("dup", (f) => {
    f.call(one, [], { id: "x" });
    f.call(one, [], { id: "x" });
  }).run();
  assert.equal(record.status, "failed");
  assert.match(record.error!, /Duplicate task id "x"/);
});

Deno.test("a false condition skips the task and what needs it, with the reason", async () => {
  const no: TaskCondition = { text: '"params.go"', test: () => false };
  const record = await flow("cond", (f) => {
    const a = f.call(one, [], { id: "a", condition: no });
    return f.call(echo, [a], { id: "b" });
  }).run();
  assert.equal(record.status, "succeeded");
  const [a, b] = record.tasks;
  assert.equal(a.status, "skipped");
  assert.equal(a.reason, 'condition "params.go" is false');
  assert.equal(b.status, "skipped");
  assert.equal(b.reason, 'condition "params.go" is false');
});

Deno.test("a condition sees its dependencies' statuses; evenIfUpstreamFailed runs after a failure", async () => {
  const seen: Record<string, string>[] = [];
  const onFailure: TaskCondition = {
    text: "failure()",
    evenIfUpstreamFailed: true,
    test: (info) => {
      seen.push({ ...info.statuses });
      return Object.values(info.statuses).includes("failed");
    },
  };
  const record = await flow("cleanup", (f) => {
    const a = f.call(boom, [], { id: "a" });
    const b = f.call(one, [], { id: "b" });
    f.call(echo, [[a, b]], { id: "report", condition: onFailure });
  }).run();
  assert.equal(record.status, "failed");
  const report = record.tasks.find((t) => t.id === "report")!;
  assert.equal(report.status, "succeeded");
  assert.deepEqual(report.result, [null, 1]);
  assert.deepEqual(seen, [{ a: "failed", b: "succeeded" }]);
});

Deno.test("a condition that throws fails the task with the reason", async () => {
  const bad: TaskCondition = {
    text: "x",
    test: () => {
      throw new Error("no such thing");
    },
  };
  const record = await flow("bad", (f) => f.call(one, [], { id: "a", condition: bad })).run();
  assert.equal(record.status, "failed");
  assert.match(record.tasks[0].error!, /condition x could not be evaluated: no such thing/);
});

Deno.test("on cancellation, tasks whose condition asks for it still run", async () => {
  const controller = new AbortController();
  const wait = task("wait", async (ctx: TaskContext) => {
    controller.abort(new Error("stop"));
    await ctx.sleep(60_000);
  });
  const cleaned: boolean[] = [];
  const cleanup = task("cleanup", () => {
    cleaned.push(true);
    return "cleaned";
  });
  const onCancel: TaskCondition = {
    text: "cancelled()",
    evenIfUpstreamFailed: true,
    test: (info) => info.cancelled,
  };
  const record = await flow("cancel", (f) => {
    const w = f.call(wait, [], { id: "wait" });
    f.call(echo, [w], { id: "next" });
    f.call(cleanup, [w], { id: "cleanup", condition: onCancel });
  }).run({}, { signal: controller.signal });
  assert.equal(record.status, "cancelled");
  const byId = Object.fromEntries(record.tasks.map((t) => [t.id, t]));
  assert.equal(byId.wait.status, "cancelled");
  assert.equal(byId.next.status, "cancelled");
  assert.equal(byId.cleanup.status, "succeeded");
  assert.deepEqual(cleaned, [true]);
});

Deno.test("f.map() with select computes the list from an object of references", async () => {
  const list = task("list", () => ({ rows: [3, 4, 5] }));
  const double = task("double", (x: { item: number; index: number }) => x.item * 2 + x.index);
  const record = await flow("sel", (f) =>
    f.map({ src: list() }, double, {
      id: "doubled",
      select: (v) =>
        (v as { src: { rows: number[] } }).src.rows.map((item, index) => ({ item, index })),
    })).run();
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.result, [6, 9, 12]);
  assert.deepEqual(
    record.tasks.map((t) => t.id),
    ["list", "doubled", "doubled[0]", "doubled[1]", "doubled[2]"],
  );
});

Deno.test("f.map() whose select throws fails the map", async () => {
  const record = await flow("sel", (f) =>
    f.map([1], echo, {
      select: () => {
        throw new Error("not a list");
      },
    })).run();
  assert.equal(record.status, "failed");
  assert.match(record.error!, /not a list/);
});

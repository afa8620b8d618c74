// Subflows: a flow called in another flow's body is a task of the parent whose value is the
// child's result; the child's tasks are tasks of the same run under its id (`report/extract`),
// journaled, resumed and cancelled with the parent's. A cycle of flows is a validation error.
import assert from "node:assert/strict";
import {
  flow,
  FlowValidationError,
  MemoryStore,
  planFlow,
  type RunEvent,
  task,
  type TaskContext,
} from "../../mod.ts";
import { restoredCalls } from "../../src/engine/replay.ts";

const extract = task("extract", (day: string) => [`${day}:a`, `${day}:b`]);
const count = task("count", (rows: string[]) => rows.length);
const today = task("today", () => "2026-12-03");

const report = flow(
  { name: "report", params: { day: { type: "string", required: true } } },
  (_f, p) => {
    const rows = extract(p.day!);
    return { rows, n: count(rows) };
  },
);

Deno.test("a flow called in a body runs as a subflow: its tasks under the call's id", async () => {
  const parent = flow("daily", () => report({ day: today() }));
  const record = await parent.run();
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status]), [
    ["today", "succeeded"],
    ["report/extract", "succeeded"],
    ["report/count", "succeeded"],
    ["report", "succeeded"],
  ]);
  const rows = ["2026-12-03:a", "2026-12-03:b"];
  assert.deepEqual(record.tasks[3].result, { rows, n: 2 });
  assert.deepEqual(record.result, { rows, n: 2 });
});

Deno.test("the subflow's result feeds the parent's tasks; f.call(child, params, { id })", async () => {
  const size = task("size", (r: { n: number }) => r.n * 10);
  const parent = flow("daily", (f) => {
    const a = report({ day: "mon" });
    const b = f.call(report, { day: "tue" }, { id: "tuesday" });
    return { a: size(a), b: size(b), again: report({ day: "wed" }) };
  });
  const record = await parent.run();
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "report/extract",
    "report/count",
    "report",
    "tuesday/extract",
    "tuesday/count",
    "tuesday",
    "size",
    "size#2",
    "report#2/extract",
    "report#2/count",
    "report#2",
  ]);
  assert.deepEqual(record.result, {
    a: 20,
    b: 20,
    again: { rows: ["wed:a", "wed:b"], n: 2 },
  });
});

Deno.test("subflows nest, and a child's f.map items are named under it", async () => {
  const double = task("double", (x: number) => x * 2);
  const inner = flow("inner", (f) => f.map([1, 2], double));
  const outer = flow("outer", () => ({ doubled: inner() }));
  const top = flow("top", () => outer());
  const record = await top.run();
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "outer/inner/double",
    "outer/inner/double[0]",
    "outer/inner/double[1]",
    "outer/inner",
    "outer",
  ]);
  assert.deepEqual(record.result, { doubled: [2, 4] });
});

Deno.test("a subflow's params are checked against its schema, with defaults", async () => {
  const greet = task("greet", (who: string, n: number) => `${who}×${n}`);
  const child = flow(
    {
      name: "child",
      params: { who: { type: "string", required: true }, n: { default: 2, type: "integer" } },
    },
    (_f, p) => greet(p.who, p.n),
  );
  const ok = await flow("p", () => child({ who: "Ada" })).run();
  assert.equal(ok.result, "Ada×2");
  await assert.rejects(
    () => flow("p", () => child({ who: 3 as never, nope: 1 } as never)).run(),
    (e: unknown) => {
      assert.ok(e instanceof FlowValidationError);
      assert.match(e.message, /Subflow "child" \(flow "child"\): .*unknown param "nope"/);
      assert.match(e.message, /param "who" must be string, got integer 3/);
      return true;
    },
  );
  await assert.rejects(
    () => flow("p", () => child()).run(),
    /Subflow "child" \(flow "child"\): missing required param "who"/,
  );
});

Deno.test("a child's defaults apply to its own tasks", async () => {
  let calls = 0;
  const flaky = task("flaky", () => {
    if (++calls < 2) throw new Error("once");
    return "ok";
  });
  const child = flow(
    { name: "child", defaults: { retries: { attempts: 2, delay: 0 } } },
    () => flaky(),
  );
  const record = await flow("p", () => child()).run();
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(record.tasks.find((t) => t.id === "child/flaky")?.attempts, 2);
});

Deno.test("a cycle of flows calling each other is a validation error naming the chain", async () => {
  // deno-lint-ignore prefer-const
  let b: ReturnType<typeof flow>;
  const a = flow("a", () => b());
  b = flow("b", () => a());
  await assert.rejects(() => a.run(), (e: unknown) => {
    assert.ok(e instanceof FlowValidationError);
    assert.match(e.message, /Flows call each other in a cycle: a → b → a/);
    return true;
  });
  const graph = await planFlow(a, {});
  assert.ok(
    graph.issues.some((i) => i.message.includes("a → b → a")),
    JSON.stringify(graph.issues),
  );
});

Deno.test("planning shows a subflow's tasks nested under its task", async () => {
  const parent = flow("daily", () => count(report({ day: today() }) as never));
  const graph = await planFlow(parent, {});
  assert.deepEqual(graph.issues, []);
  assert.deepEqual(graph.nodes.map((n) => [n.id, n.needs, n.subflow]), [
    ["today", [], undefined],
    ["report/extract", ["today"], undefined],
    ["report/count", ["report/extract"], undefined],
    ["report", ["report/extract", "report/count"], "report"],
    ["count", ["report"], undefined],
  ]);
});

Deno.test("calling a flow outside a body says how to run it", () => {
  assert.throws(() => report({ day: "x" }), /called outside a flow body.*report\.run\(params\)/);
});

Deno.test("a resumed run skips the child's tasks that succeeded", async () => {
  const store = new MemoryStore();
  let fail = true;
  const ran: string[] = [];
  const load = task("load", (day: string) => (ran.push("load"), day.length));
  const publish = task("publish", (n: number) => {
    ran.push("publish");
    if (fail) throw new Error("not yet");
    return n;
  });
  const child = flow(
    { name: "child", params: { day: "string" } },
    (_f, p) => publish(load(p.day!)),
  );
  const parent = flow("parent", () => child({ day: "mon" }));
  const first = await parent.run({}, { journal: store });
  assert.equal(first.status, "failed");
  assert.deepEqual(ran, ["load", "publish"]);
  fail = false;
  ran.length = 0;
  await store.reopenRun(first.runId, {});
  const restore = restoredCalls(await store.getTasks(first.runId));
  const second = await parent.run({}, { runId: first.runId, journal: store, restore });
  assert.equal(second.status, "succeeded", second.error);
  assert.deepEqual(ran, ["publish"], "child/load was restored, not run again");
  assert.equal(second.result, 3);
});

Deno.test("cancelling the run cancels the child's running tasks", async () => {
  const controller = new AbortController();
  const events: RunEvent[] = [];
  const wait = task("wait", (_x: number, ctx: TaskContext) =>
    new Promise((_, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
      controller.abort("stop");
    }));
  const child = flow("child", () => wait(1));
  const record = await flow("parent", () => child()).run({}, {
    signal: controller.signal,
    onEvent: (e) => events.push(e),
  });
  assert.equal(record.status, "cancelled");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status]), [
    ["child/wait", "cancelled"],
    ["child", "cancelled"],
  ]);
});

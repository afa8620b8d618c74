import assert from "node:assert/strict";
import { NotJsonError } from "../../src/core/errors.ts";
import type { TaskDefinition } from "../../src/core/protocol.ts";
import { CallIds, newRunId, scanArgs, substitute, TaskConfigs } from "../../src/engine/calls.ts";

class Ref {
  constructor(readonly id: string, readonly value: unknown = undefined) {}
}
const isRef = (v: object) => v instanceof Ref;

function def(options: Record<string, unknown>): TaskDefinition {
  return { [Symbol.for("orchestra.task")]: 1, options, fn: () => 1 } as unknown as TaskDefinition;
}

Deno.test("CallIds numbers repeated calls per name", () => {
  const ids = new CallIds();
  assert.deepEqual(
    ["load", "load", "save", "load", "save"].map((n) => ids.next(n)),
    ["load", "load#2", "save", "load#3", "save#2"],
  );
});

Deno.test("scanArgs() reports every reference, nested or not", () => {
  const refs: string[] = [];
  scanArgs(
    "t",
    [new Ref("a"), 1, "s", null, undefined, { x: [new Ref("b")] }],
    isRef,
    (r) => refs.push((r as Ref).id),
  );
  assert.deepEqual(refs, ["a", "b"]);
});

Deno.test("scanArgs() throws NotJsonError naming the task and the argument's path", () => {
  assert.throws(
    () => scanArgs("load", [1, { rows: [new Map()] }], isRef, () => {}),
    (e) =>
      e instanceof NotJsonError && e.taskId === "load" && e.path === "args[1].rows[0]" &&
      e.message.startsWith('Task "load": args[1].rows[0] is a Map'),
  );
  assert.throws(() => scanArgs("t", [Number.NaN], isRef, () => {}), /args\[0\] is NaN/);
  assert.throws(() => scanArgs("t", [() => 1], isRef, () => {}), /args\[0\] is a function/);
});

Deno.test("substitute() replaces references with values without touching the input", () => {
  const input = { a: new Ref("a", 1), list: [new Ref("b", { v: 2 }), 3], s: "x", n: null };
  const out = substitute(input, isRef, (r) => (r as Ref).value);
  assert.deepEqual(out, { a: 1, list: [{ v: 2 }, 3], s: "x", n: null });
  assert.ok(input.a instanceof Ref);
  assert.equal(substitute(new Ref("top", 5), isRef, (r) => (r as Ref).value), 5);
  assert.equal(substitute(7, isRef, () => 0), 7);
});

Deno.test("newRunId() makes version-7 UUIDs that sort by time", () => {
  const a = newRunId(1_000);
  const b = newRunId(2_000);
  const uuid7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(a, uuid7);
  assert.match(b, uuid7);
  assert.ok(a < b);
  assert.equal(a.slice(0, 13), "00000000-03e8");
  assert.notEqual(newRunId(1_000), a);
});

Deno.test("TaskConfigs applies the flow's defaults and caches per task", () => {
  const configs = new TaskConfigs({ retries: 2, timeout: "1m" }, undefined);
  const t = def({ name: "t", timeout: "5s" });
  const r = configs.get(t);
  assert.equal(r.config.retry.attempts, 3);
  assert.equal(r.config.timeoutMs, 5000);
  assert.deepEqual(r.issues, []);
  assert.equal(configs.get(t), r);
});

Deno.test("TaskConfigs reports bad options, missing executors and ceiling excess", () => {
  const configs = new TaskConfigs(undefined, { net: ["api.example.com"] });
  const { issues } = configs.get(
    def({ name: "t", retries: -1, executor: "process", permissions: { net: ["x.com"] } }),
  );
  assert.equal(issues.length, 3);
  assert.equal(
    issues[0].message,
    'Task "t": retries must be a whole number of extra attempts, got -1',
  );
  assert.match(issues[1].message, /asks for executor "process", which this build does not offer/);
  assert.match(issues[2].message, /requests net "x\.com", beyond the flow's ceiling/);
});

Deno.test("TaskConfigs puts the task's location on its issues", () => {
  const location = { file: "flow.ts", line: 3, col: 14 };
  const t = { ...def({ name: "t", timeout: "x" }), location } as TaskDefinition;
  const { issues } = new TaskConfigs(undefined, undefined).get(t);
  assert.deepEqual(issues[0].location, location);
});

import assert from "node:assert/strict";
import { FlowValidationError, ParamsValidationError } from "../../src/core/errors.ts";
import type { FlowDefinition } from "../../src/core/protocol.ts";
import { FakeClock } from "../../src/engine/clock.ts";
import { executeFlow, prepareParams } from "../../src/engine/execute.ts";
import type { RunEvent } from "../../src/core/events.ts";

// What another copy of the library (a JSR version, an older local copy) builds: plain values
// carrying the brands, and task calls that find the running flow through the shared scope.
const TASK = Symbol.for("orchestra.task");
const FLOW = Symbol.for("orchestra.flow");
const SCOPE = Symbol.for("orchestra.scope.v1");

type Scope = { call(def: unknown, args: unknown[]): unknown };
type Storage = { getStore(): Scope | undefined };

function foreignTask(options: { name: string } & Record<string, unknown>, fn: unknown) {
  const def = (...args: unknown[]): unknown => {
    const storage = (globalThis as unknown as Record<symbol, Storage>)[SCOPE];
    return storage.getStore()!.call(def, args);
  };
  Object.assign(def, { [TASK]: 1, options, fn });
  return def;
}

function foreignFlow(
  options: { name: string } & Record<string, unknown>,
  body: (f: never, params: never) => unknown,
): FlowDefinition {
  return { [FLOW]: 1, options, body } as unknown as FlowDefinition;
}

Deno.test("executeFlow() runs a flow and tasks built by another copy of the library", async () => {
  const hello = foreignTask({ name: "hello" }, () => "hello");
  const shout = foreignTask({ name: "shout" }, (s: string) => `${s.toUpperCase()}!`);
  const def = foreignFlow({ name: "foreign" }, () => shout(hello()));
  const events: RunEvent[] = [];
  const record = await executeFlow(def, {}, {
    clock: new FakeClock(),
    onEvent: (e) => events.push(e),
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, "HELLO!");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status]), [
    ["hello", "succeeded"],
    ["shout", "succeeded"],
  ]);
  assert.equal(events[0].type, "run.started");
  assert.equal(events.at(-1)!.type, "run.finished");
});

Deno.test("a foreign flow gets params, f.map() with a plain task object, and awaiting", async () => {
  // The task definition may also be a plain object rather than a function.
  const squareDef = { [TASK]: 1, options: { name: "square" }, fn: (n: number) => n * n };
  const count = foreignTask({ name: "count", retries: 1 }, (n: number) => n);
  const def = foreignFlow(
    { name: "foreign-map", params: { n: { type: "integer", default: 3 } } },
    (async (
      f: { map(items: unknown, task: unknown): unknown },
      p: { n: number },
    ) => {
      const n = await (count(p.n) as Promise<number>);
      return f.map(Array.from({ length: n }, (_, i) => i + 1), squareDef);
    }) as never,
  );
  const record = await executeFlow(def, {}, { clock: new FakeClock() });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.result, [1, 4, 9]);
  assert.deepEqual(record.params, { n: 3 });
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "count",
    "square",
    "square[0]",
    "square[1]",
    "square[2]",
  ]);
});

Deno.test("a foreign task's fn receives the task context after its arguments", async () => {
  let attempt = 0;
  let taskId = "";
  const t = foreignTask(
    { name: "ctx" },
    (x: number, ctx: { attempt: number; taskId: string }) => {
      attempt = ctx.attempt;
      taskId = ctx.taskId;
      return x;
    },
  );
  const record = await executeFlow(foreignFlow({ name: "f" }, () => t(5)), {}, {
    clock: new FakeClock(),
  });
  assert.equal(record.result, 5);
  assert.equal(attempt, 1);
  assert.equal(taskId, "ctx");
});

Deno.test("executeFlow() validates a foreign flow's task options before running", async () => {
  let ran = 0;
  const ok = foreignTask({ name: "ok" }, () => ran++);
  const bad = foreignTask({ name: "bad", timeout: "forever" }, () => ran++);
  const def = foreignFlow({ name: "foreign-bad" }, () => {
    ok();
    bad();
  });
  await assert.rejects(executeFlow(def, {}, { clock: new FakeClock() }), FlowValidationError);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(ran, 0);
});

Deno.test("executeFlow() rejects a foreign f.map() argument that is not a task", async () => {
  const def = foreignFlow(
    { name: "bad-map" },
    ((f: { map(i: unknown, t: unknown): unknown }) => f.map([1], (x: number) => x)) as never,
  );
  const record = await executeFlow(def, {}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(record.error!, /Expected a task made with task\(\), got function/);
});

Deno.test("prepareParams() fills defaults and coerces strings when asked", () => {
  const def = foreignFlow(
    { name: "p", params: { n: { type: "integer", default: 1 }, dry: "boolean" } },
    () => null,
  );
  assert.deepEqual(prepareParams(def, {}), { n: 1 });
  assert.deepEqual(prepareParams(def, { n: "4", dry: "no" }, true), { n: 4, dry: false });
  assert.throws(() => prepareParams(def, { n: "4" }), ParamsValidationError);
});

Deno.test("prepareParams() rejects invalid flow options with every issue", () => {
  const def = foreignFlow(
    { name: "p", params: { n: "interger" }, permissions: { nett: true }, concurency: 2 },
    () => null,
  );
  assert.throws(
    () => prepareParams(def, {}),
    (e) => {
      assert.ok(e instanceof FlowValidationError);
      assert.ok(!(e instanceof ParamsValidationError));
      assert.equal(e.issues.length, 3);
      assert.match(e.message, /unknown option "concurency" \(did you mean "concurrency"\?\)/);
      assert.match(e.message, /unknown type "interger" \(did you mean "integer"\?\)/);
      assert.match(e.message, /unknown permission "nett"/);
      return true;
    },
  );
});

Deno.test("executeFlow() rejects, rather than throws, on invalid params", async () => {
  const def = foreignFlow({ name: "p", params: { n: "integer" } }, () => null);
  let promise: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    promise = executeFlow(def, { n: "x" });
  });
  await assert.rejects(promise!, ParamsValidationError);
});

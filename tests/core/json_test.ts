import assert from "node:assert/strict";
import { findNonJson } from "../../src/core/json.ts";

Deno.test("findNonJson() accepts JSON values", () => {
  for (
    const v of [
      null,
      undefined,
      0,
      -1.5,
      "text",
      true,
      false,
      [],
      {},
      [1, "a", null, true, { b: [2] }],
      { a: { b: { c: [1, 2, { d: "x" }] } } },
      Object.create(null),
    ]
  ) {
    assert.equal(findNonJson(v, "result"), undefined, `rejected ${JSON.stringify(v)}`);
  }
});

Deno.test("findNonJson() allows undefined as an object property (JSON drops it)", () => {
  assert.equal(findNonJson({ a: undefined, b: 1 }, "result"), undefined);
});

Deno.test("findNonJson() rejects undefined inside an array and says to use null", () => {
  const p = findNonJson([1, undefined, 3], "args[0]");
  assert.deepEqual(p, { path: "args[0][1]", what: "undefined", hint: "use null in arrays" });
});

Deno.test("findNonJson() names a Date and how to convert it", () => {
  const p = findNonJson({ rows: [{ id: 1 }, { id: 2 }, { when: new Date(0) }] }, "result");
  assert.equal(p?.path, "result.rows[2].when");
  assert.equal(p?.what, "a Date");
  assert.match(p!.hint, /toISOString/);
});

Deno.test("findNonJson() names Maps, Sets, promises and class instances", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  assert.equal(findNonJson(new Map(), "v")?.what, "a Map");
  assert.match(findNonJson(new Map(), "v")!.hint, /Object\.fromEntries/);
  assert.equal(findNonJson(new Set([1]), "v")?.what, "a Set");
  assert.equal(findNonJson(Promise.resolve(1), "v")?.what, "a promise");
  assert.equal(findNonJson(new Point(1), "v")?.what, "an instance of Point");
  assert.equal(findNonJson(new Uint8Array(2), "v")?.what, "an instance of Uint8Array");
});

Deno.test("findNonJson() names functions, bigints, symbols and non-finite numbers", () => {
  assert.deepEqual(findNonJson({ f: () => 1 }, "result"), {
    path: "result.f",
    what: "a function",
    hint: "pass data, not functions",
  });
  assert.equal(findNonJson([1n], "x")?.what, "a bigint");
  assert.equal(findNonJson({ s: Symbol("s") }, "x")?.what, "a symbol");
  assert.equal(findNonJson(Number.NaN, "x")?.what, "NaN");
  assert.equal(findNonJson({ n: Infinity }, "x")?.path, "x.n");
  assert.equal(findNonJson({ n: -Infinity }, "x")?.what, "-Infinity");
});

Deno.test("findNonJson() quotes keys that are not identifiers", () => {
  assert.equal(findNonJson({ "my key": { "0": 1n } }, "result")?.path, 'result["my key"]["0"]');
  assert.equal(findNonJson({ $ok_1: 1n }, "r")?.path, "r.$ok_1");
});

Deno.test("findNonJson() reports the first offending value in order", () => {
  assert.equal(findNonJson([1, new Date(), new Map()], "r")?.path, "r[1]");
  assert.equal(findNonJson({ a: 1, b: new Set(), c: new Date() }, "r")?.path, "r.b");
});

Deno.test("findNonJson() lets references through and reports each one", () => {
  class Ref {
    constructor(readonly id: string) {}
  }
  const seen: string[] = [];
  const value = { a: new Ref("x"), list: [1, new Ref("y"), { deep: new Ref("z") }] };
  const p = findNonJson(value, "args[0]", (v) => v instanceof Ref, (r) => seen.push((r as Ref).id));
  assert.equal(p, undefined);
  assert.deepEqual(seen, ["x", "y", "z"]);
});

Deno.test("findNonJson() recognises a reference at the top level", () => {
  class Ref {}
  let calls = 0;
  assert.equal(findNonJson(new Ref(), "r", (v) => v instanceof Ref, () => calls++), undefined);
  assert.equal(calls, 1);
});

Deno.test("findNonJson() still rejects class instances when no isRef is given", () => {
  class Ref {}
  assert.equal(findNonJson({ r: new Ref() }, "r")?.what, "an instance of Ref");
});

Deno.test("findNonJson() reports a circular reference instead of overflowing the stack", () => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  const p = findNonJson({ data: o }, "result");
  assert.equal(p?.path, "result.data.self");
  assert.match(p!.what, /circular/);
  const list: unknown[] = [1];
  list.push(list);
  assert.equal(findNonJson(list, "args[0]")?.path, "args[0][1]");
});

Deno.test("findNonJson() accepts the same object twice when it is not circular", () => {
  const shared = { x: 1 };
  assert.equal(findNonJson({ a: shared, b: [shared, shared] }, "result"), undefined);
});

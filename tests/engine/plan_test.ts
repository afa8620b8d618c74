import assert from "node:assert/strict";
import { flow, planFlow, task, type TaskContext } from "../../mod.ts";

function currentLine(): number {
  const frame = new Error().stack!.split("\n")[2];
  return Number(/plan_test\.ts:(\d+):\d+/.exec(frame)![1]);
}

Deno.test("planFlow() builds the graph without running any task", async () => {
  let ran = 0;
  const extract = task("extract", () => (ran++, [1, 2]));
  const transform = task("transform", (xs: number[]) => (ran++, xs));
  const load = task("load", (a: number[], b: number[]) => (ran++, [a, b]));
  const g = await planFlow(
    flow({ name: "etl", description: "Moves data", concurrency: 2 }, () => {
      const e = extract();
      const t = transform(e);
      return load(t, e);
    }),
    {},
  );
  assert.equal(ran, 0);
  assert.equal(g.name, "etl");
  assert.equal(g.description, "Moves data");
  assert.equal(g.concurrency, 2);
  assert.deepEqual(g.issues, []);
  assert.equal(g.dynamicAfter, undefined);
  assert.deepEqual(g.nodes.map((n) => [n.id, n.name, n.kind, n.needs]), [
    ["extract", "extract", "task", []],
    ["transform", "transform", "task", ["extract"]],
    ["load", "load", "task", ["transform", "extract"]],
  ]);
});

Deno.test("planFlow() records where each task is called", async () => {
  const one = task("one", () => 1);
  const two = task("two", (x: number) => x);
  let lineOne = 0, lineTwo = 0;
  const g = await planFlow(
    flow("where", () => {
      const a = one(), l1 = currentLine();
      const b = two(a), l2 = currentLine();
      lineOne = l1;
      lineTwo = l2;
      return b;
    }),
    {},
  );
  assert.equal(g.nodes.length, 2);
  for (const [node, line] of [[g.nodes[0], lineOne], [g.nodes[1], lineTwo]] as const) {
    assert.ok(node.location, `no location for ${node.id}`);
    assert.match(node.location.file, /tests\/engine\/plan_test\.ts$/);
    assert.equal(node.location.line, line);
  }
  assert.match(g.location!.file, /plan_test\.ts$/);
});

Deno.test("planFlow() records nested references and de-duplicates needs", async () => {
  const a = task("a", () => 1);
  const b = task("b", () => 2);
  const use = task("use", (_x: unknown) => 0);
  const g = await planFlow(
    flow("nested", () => {
      const ra = a(), rb = b();
      return use({ list: [ra, rb, ra], deep: { again: rb } });
    }),
    {},
  );
  assert.deepEqual(g.nodes[2].needs, ["a", "b"]);
});

Deno.test("planFlow() marks where the body awaits a result", async () => {
  const count = task("count", () => 3);
  const big = task("big", () => "big");
  const g = await planFlow(
    flow("dynamic", async () => {
      const n = await count();
      return n > 1 ? big() : null;
    }),
    {},
  );
  assert.deepEqual(g.nodes.map((n) => n.id), ["count"]);
  assert.equal(g.dynamicAfter?.taskId, "count");
  assert.deepEqual(g.issues, []);
});

Deno.test("planFlow() describes maps over lists and over references", async () => {
  const list = task("list", () => [1, 2]);
  const square = task("square", (n: number) => n * n);
  const cube = task("cube", (n: number) => n ** 3);
  const g = await planFlow(
    flow("maps", (f) => {
      f.map([1, 2, 3], square, { concurrency: 2 });
      return f.map(list(), cube);
    }),
    {},
  );
  assert.deepEqual(g.nodes.map((n) => [n.id, n.kind, n.needs, n.map]), [
    ["square", "map", [], { items: 3, concurrency: 2 }],
    ["list", "task", [], undefined],
    ["cube", "map", ["list"], { items: "dynamic" }],
  ]);
});

Deno.test("planFlow() reports a literal map over its limit", async () => {
  const id = task("id", (n: number) => n);
  const g = await planFlow(flow("limit", (f) => f.map([1, 2, 3], id, { maxItems: 2 })), {});
  assert.equal(g.issues.length, 1);
  assert.equal(g.issues[0].message, 'Task "id": map over 3 items exceeds the limit of 2');
  assert.equal(g.issues[0].taskId, "id");
});

Deno.test("planFlow() reports bad task options, non-JSON arguments and a throwing body", async () => {
  const bad = task({ name: "bad", retries: -2 }, () => 1);
  const date = task("date", (_d: unknown) => 1);
  const g = await planFlow(
    flow("broken", () => {
      bad();
      bad();
      date({ at: new Date(0) });
      throw new Error("unexpected");
    }),
    {},
  );
  assert.deepEqual(g.issues.map((i) => [i.taskId, i.message]), [
    ["bad", 'Task "bad": retries must be a whole number of extra attempts, got -2'],
    [
      "date",
      'Task "date": args[0].at is a Date, which is not JSON-compatible (task inputs and outputs ' +
      "must be JSON values); convert it with .toISOString()",
    ],
    [undefined, 'The body of flow "broken" threw while being planned: unexpected'],
  ]);
  assert.deepEqual(g.nodes.map((n) => n.id), ["bad", "bad#2", "date"]);
});

Deno.test("planFlow() reports each problem once", async () => {
  const w = task({ name: "w", executor: "process", permissions: { net: ["evil.com"] } }, () => 1);
  const g = await planFlow(
    flow({ name: "once", permissions: { net: ["api.example.com"] }, concurrency: 0 }, () => {
      w();
    }),
    {},
  );
  const messages = g.issues.map((i) => i.message);
  assert.equal(new Set(messages).size, messages.length, messages.join("\n"));
  assert.equal(messages.filter((m) => m.includes("concurrency")).length, 1);
  assert.equal(messages.filter((m) => m.includes('executor "process"')).length, 1);
  assert.equal(messages.filter((m) => m.includes('"evil.com"')).length, 1);
});

Deno.test("planFlow() passes params to the body", async () => {
  const t = task("t", (n: number) => n);
  const g = await planFlow(
    flow({ name: "p", params: { n: "integer" } }, (_f, p) => {
      for (let i = 0; i < (p.n ?? 0); i++) t(i);
    }),
    { n: 3 },
  );
  assert.deepEqual(g.nodes.map((n) => n.id), ["t", "t#2", "t#3"]);
  assert.deepEqual(g.params, { n: "integer" });
});

Deno.test("planFlow() leaves the ambient scope when done", async () => {
  const t = task("t", (_ctx: TaskContext) => 1);
  await planFlow(flow("scope", () => t()), {});
  assert.throws(() => t(), /called outside a flow body/);
});

Deno.test("planFlow() does not mark a body that only returns references as dynamic", async () => {
  const a = task("a", () => 1);
  const b = task("b", () => 2);
  const single = await planFlow(flow("single", () => a()), {});
  assert.equal(single.dynamicAfter, undefined);
  const object = await planFlow(flow("object", () => ({ a: a(), list: [b()] })), {});
  assert.equal(object.dynamicAfter, undefined);
  assert.deepEqual(object.nodes.map((n) => n.id), ["a", "b"]);
});

Deno.test("planning keeps explicit call ids, and reports a repeated one", async () => {
  const one = task("one", () => 1);
  const graph = await planFlow(
    flow("ids", (f) => {
      const a = f.call(one, [], { id: "first" });
      f.call(one, [a], { id: "second" });
      f.call(one, [], { id: "first" });
    }),
    {},
  );
  assert.deepEqual(graph.nodes.map((n) => n.id), ["first", "second", "one"]);
  assert.deepEqual(graph.nodes[1].needs, ["first"]);
  assert.equal(graph.issues.length, 1);
  assert.match(graph.issues[0].message, /Duplicate task id "first"/);
});

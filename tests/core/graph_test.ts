import assert from "node:assert/strict";
import { findCycles, type GraphNode, layers } from "../../src/core/graph.ts";

const n = (id: string, ...needs: string[]): GraphNode => ({ id, needs });

Deno.test("findCycles() finds nothing in a DAG", () => {
  assert.deepEqual(findCycles([]), []);
  assert.deepEqual(findCycles([n("a"), n("b", "a"), n("c", "a", "b"), n("d", "c")]), []);
});

Deno.test("findCycles() returns the cycle's path in execution order", () => {
  // a runs before b, b before c, c before a.
  const cycles = findCycles([n("a", "c"), n("b", "a"), n("c", "b")]);
  assert.deepEqual(cycles, [["a", "b", "c", "a"]]);
  assert.equal(cycles[0].join(" → "), "a → b → c → a");
});

Deno.test("findCycles() starts the path at the first node in declaration order", () => {
  const cycles = findCycles([n("x"), n("c", "b"), n("a", "c"), n("b", "a")]);
  assert.deepEqual(cycles, [["c", "a", "b", "c"]]);
});

Deno.test("findCycles() reports a two-node cycle", () => {
  assert.deepEqual(findCycles([n("a", "b"), n("b", "a")]), [["a", "b", "a"]]);
});

Deno.test("findCycles() reports a task that needs itself", () => {
  assert.deepEqual(findCycles([n("a"), n("self", "a", "self")]), [["self", "self"]]);
});

Deno.test("findCycles() reports each of several separate cycles", () => {
  const cycles = findCycles([
    n("a", "b"),
    n("b", "a"),
    n("ok"),
    n("x", "z", "ok"),
    n("y", "x"),
    n("z", "y"),
    n("s", "s"),
  ]);
  const sorted = cycles.map((c) => c.join(" → ")).sort();
  assert.deepEqual(sorted, ["a → b → a", "s → s", "x → y → z → x"]);
});

Deno.test("findCycles() gives the shortest way around a component with several loops", () => {
  // a → b → a and a → c → d → a share a; the shortest loop through a is reported.
  const cycles = findCycles([n("a", "b", "d"), n("b", "a"), n("c", "a"), n("d", "c")]);
  assert.equal(cycles.length, 1);
  assert.deepEqual(cycles[0], ["a", "b", "a"]);
});

Deno.test("findCycles() ignores edges to unknown ids", () => {
  assert.deepEqual(findCycles([n("a", "missing"), n("b", "a")]), []);
});

Deno.test("findCycles() ignores nodes that only lead into a cycle", () => {
  const cycles = findCycles([n("start"), n("a", "start", "b"), n("b", "a"), n("after", "b")]);
  assert.deepEqual(cycles, [["a", "b", "a"]]);
});

Deno.test("findCycles() handles a 50,000-node chain and a 50,000-node cycle", () => {
  const chain: GraphNode[] = [n("t0")];
  for (let i = 1; i < 50_000; i++) chain.push(n(`t${i}`, `t${i - 1}`));
  assert.deepEqual(findCycles(chain), []);
  chain[0] = n("t0", "t49999");
  const cycles = findCycles(chain);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0].length, 50_001);
  assert.equal(cycles[0][0], "t0");
  assert.equal(cycles[0][1], "t1");
  assert.equal(cycles[0].at(-1), "t0");
});

Deno.test("layers() groups nodes that can run at the same time", () => {
  const l = layers([n("a"), n("b", "a"), n("c", "a"), n("d", "b", "c"), n("e")]);
  assert.deepEqual(l, [["a", "e"], ["b", "c"], ["d"]]);
});

Deno.test("layers() puts a node after the last of its dependencies", () => {
  const l = layers([n("d", "a", "c"), n("a"), n("b", "a"), n("c", "b")]);
  assert.deepEqual(l, [["a"], ["b"], ["c"], ["d"]]);
});

Deno.test("layers() leaves out nodes on or behind a cycle", () => {
  const l = layers([n("a"), n("b", "a", "c"), n("c", "b"), n("d", "c"), n("e", "a")]);
  assert.deepEqual(l, [["a"], ["e"]]);
});

Deno.test("layers() ignores dependencies on unknown ids", () => {
  assert.deepEqual(layers([n("a", "ghost"), n("b", "a")]), [["a"], ["b"]]);
});

Deno.test("layers() returns nothing for an empty graph", () => {
  assert.deepEqual(layers([]), []);
});

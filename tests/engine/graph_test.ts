import assert from "node:assert/strict";
import { FlowValidationError, NotJsonError, RunCancelledError } from "../../src/core/errors.ts";
import { task } from "../../mod.ts";
import { GraphBuilder, type GraphSink, taskDefinitionOf } from "../../src/engine/graph.ts";
import type { Node } from "../../src/engine/node.ts";
import { SUCCEEDED } from "../../src/engine/node.ts";

const load = task("load", (..._a: unknown[]) => 1);
const save = task("save", (..._a: unknown[]) => 1);

function builder() {
  const added: Node[] = [];
  const expanded: [Node, unknown][] = [];
  const sink: GraphSink = {
    add: (n) => void added.push(n),
    expand: (g, list) => void expanded.push([g, list]),
  };
  const graph = new GraphBuilder(
    { flow: "f", runId: "r", defaults: undefined, ceiling: undefined, sandbox: undefined },
    sink,
  );
  return { graph, added, expanded };
}

Deno.test("GraphBuilder gives calls deterministic ids and hands each to the sink", () => {
  const { graph, added } = builder();
  const ids = [graph.call(load, []), graph.call(load, []), graph.call(save, [])].map((n) => n.id);
  assert.deepEqual(ids, ["load", "load#2", "save"]);
  assert.deepEqual(added.map((n) => n.id), ids);
  assert.deepEqual(added.map((n) => n.seq), [0, 1, 2]);
  assert.equal(graph.call(load, [], { id: "mine" }).id, "mine");
});

Deno.test("GraphBuilder links references at the top level and nested, once each", () => {
  const { graph } = builder();
  const a = graph.call(load, []);
  const b = graph.call(load, []);
  const c = graph.call(save, [a, { x: [b, a] }, 3, "s"]);
  assert.deepEqual(c.deps?.map((d) => d.id), ["load", "load#2"]);
  assert.equal(c.pending, 2);
  assert.equal(c.nestedRefs, true);
  assert.deepEqual(a.dependents?.map((d) => d.id), ["save"]);
  // A settled dependency is an edge, but nothing to wait for.
  a.state = SUCCEEDED;
  a.value = 10;
  const d = graph.call(save, [a]);
  assert.equal(d.pending, 0);
  assert.equal(d.nestedRefs, false);
});

Deno.test("GraphBuilder.resolve() replaces references by their values in place", () => {
  const { graph } = builder();
  const a = graph.call(load, []);
  const args = [a, { nested: [a] }];
  const c = graph.call(save, args);
  a.value = 7;
  graph.resolve(c);
  assert.equal(c.args, args);
  assert.deepEqual(args, [7, { nested: [7] }]);
  assert.equal(c.deps, null);
});

Deno.test("GraphBuilder rejects arguments that are not JSON, naming the path", () => {
  const { graph } = builder();
  assert.throws(() => graph.call(load, [1, { when: new Date(0) }]), (e) => {
    assert.ok(e instanceof NotJsonError);
    assert.match(e.message, /args\[1\]\.when is a Date/);
    return true;
  });
});

Deno.test("GraphBuilder refuses a task with invalid options with every problem", () => {
  const { graph } = builder();
  const bad = task({ name: "bad", timeout: "soon", retries: -1 } as never, () => 1);
  assert.throws(() => graph.call(bad, []), (e) => {
    assert.ok(e instanceof FlowValidationError);
    assert.ok(e.issues.length >= 2);
    return true;
  });
});

Deno.test("GraphBuilder.map() expands a literal list at once and waits for a reference", () => {
  const { graph, added, expanded } = builder();
  const literal = graph.map([1, 2], load);
  assert.deepEqual(expanded.map(([g, l]) => [g.id, l]), [["load", [1, 2]]]);
  assert.equal(literal.map?.limit, Infinity);
  const list = graph.call(save, []);
  const over = graph.map(list, load, { concurrency: 2, maxItems: 5 });
  assert.deepEqual(over.deps?.map((d) => d.id), ["save"]);
  assert.equal(over.map?.limit, 2);
  assert.equal(over.map?.maxItems, 5);
  assert.equal(expanded.length, 1, "a map over a reference expands when the list is known");
  assert.deepEqual(added.map((n) => n.id), ["load", "save", "load#2"]);
});

Deno.test("GraphBuilder.map() items are named after their group and linked to references", () => {
  const { graph } = builder();
  const dep = graph.call(save, []);
  const group = graph.map([1], load);
  const item = graph.item(group, 3, { ref: dep });
  assert.equal(item.id, "load[3]");
  assert.equal(item.group, group);
  assert.deepEqual(item.deps?.map((d) => d.id), ["save"]);
  dep.value = 9;
  assert.deepEqual(graph.mapInput(graph.map(dep, load)), 9);
});

Deno.test("GraphBuilder.map() rejects a bad concurrency and an input that is no list", () => {
  const { graph } = builder();
  assert.throws(() => graph.map([1], load, { concurrency: 0 }), RangeError);
  assert.throws(() => graph.map(42, load), /needs a list or a task reference, got number/);
});

Deno.test("a closed GraphBuilder refuses new calls", () => {
  const { graph } = builder();
  graph.close();
  assert.throws(() => graph.call(load, []), RunCancelledError);
});

Deno.test("taskDefinitionOf() explains what is not a task", () => {
  assert.equal(taskDefinitionOf(load), load);
  assert.throws(() => taskDefinitionOf(() => 1), /wrap the function with task\("name", fn\)/);
});

import assert from "node:assert/strict";
import { FlowValidationError } from "../../src/core/errors.ts";
import { type FlowGraph, normalizeTaskOptions, type TaskNode } from "../../src/core/model.ts";
import { validateFlowGraph } from "../../src/core/validate.ts";

function node(id: string, needs: string[] = [], extra: Partial<TaskNode> = {}): TaskNode {
  return {
    id,
    name: id,
    kind: "task",
    needs,
    config: normalizeTaskOptions({ name: id }).config,
    ...extra,
  };
}

function graph(nodes: TaskNode[], extra: Partial<FlowGraph> = {}): FlowGraph {
  return { name: "etl", nodes, issues: [], ...extra };
}

Deno.test("validateFlowGraph() finds nothing wrong with a valid graph", () => {
  const g = graph([node("extract"), node("transform", ["extract"]), node("load", ["transform"])]);
  assert.deepEqual(validateFlowGraph(g), []);
});

Deno.test("validateFlowGraph() reports a duplicate id once, with how many use it", () => {
  const issues = validateFlowGraph(graph([node("a"), node("a"), node("a"), node("b")]));
  assert.equal(issues.length, 1);
  assert.equal(issues[0].message, 'Duplicate task id "a" (3 tasks use it)');
  assert.equal(issues[0].taskId, "a");
  assert.equal(issues[0].hint, "give each task a unique id");
});

Deno.test("validateFlowGraph() reports an unknown dependency with did-you-mean", () => {
  const issues = validateFlowGraph(graph([node("extract"), node("load", ["extrct"])]));
  assert.equal(issues.length, 1);
  assert.equal(
    issues[0].message,
    'Task "load" needs unknown task "extrct" (did you mean "extract"?)',
  );
  assert.equal(issues[0].taskId, "load");
  assert.equal(issues[0].hint, "known tasks: extract, load");
});

Deno.test("validateFlowGraph() reports an unknown dependency without a suggestion", () => {
  const issues = validateFlowGraph(graph([node("load", ["zzzzzz"])]));
  assert.equal(issues[0].message, 'Task "load" needs unknown task "zzzzzz"');
});

Deno.test("validateFlowGraph() reports a cycle with its path", () => {
  const issues = validateFlowGraph(
    graph([node("a", ["c"]), node("b", ["a"]), node("c", ["b"]), node("d", ["c"])]),
  );
  assert.equal(issues.length, 1);
  assert.equal(issues[0].message, "Cycle: a → b → c → a");
  assert.equal(issues[0].taskId, "a");
  assert.equal(issues[0].hint, "remove one of these dependencies");
});

Deno.test("validateFlowGraph() reports a task that needs itself", () => {
  const issues = validateFlowGraph(graph([node("loop", ["loop"])]));
  assert.deepEqual(issues.map((i) => i.message), ["Cycle: loop → loop"]);
});

Deno.test("validateFlowGraph() reports requests beyond the permission ceiling", () => {
  const config = normalizeTaskOptions({
    name: "fetch",
    permissions: { net: ["api.example.com", "evil.com"], read: true },
  }).config;
  const issues = validateFlowGraph(
    graph([node("fetch", [], { config })], { permissions: { net: ["api.example.com"] } }),
  );
  assert.deepEqual(issues.map((i) => i.message), [
    'Task "fetch" requests read all, beyond the flow\'s ceiling (net=api.example.com)',
    'Task "fetch" requests net "evil.com", beyond the flow\'s ceiling (net=api.example.com)',
  ]);
  assert.ok(issues.every((i) => i.taskId === "fetch"));
});

Deno.test("validateFlowGraph() allows any request when the flow has no ceiling", () => {
  const config = normalizeTaskOptions({ name: "fetch", permissions: { net: true } }).config;
  assert.deepEqual(validateFlowGraph(graph([node("fetch", [], { config })])), []);
});

Deno.test("validateFlowGraph() reports executors this build does not offer", () => {
  const config = normalizeTaskOptions({ name: "w", executor: "worker" }).config;
  const g = graph([node("w", [], { config }), node("i")]);
  assert.deepEqual(validateFlowGraph(g), []);
  const issues = validateFlowGraph(g, { executors: ["inline"] });
  assert.equal(issues.length, 1);
  assert.match(issues[0].message, /Task "w" asks for executor "worker"/);
  assert.equal(issues[0].hint, "use one of: inline");
});

Deno.test("validateFlowGraph() rejects task names that ids cannot be built from", () => {
  const issues = validateFlowGraph(graph([node("a b"), node(""), node("x#1")]));
  assert.deepEqual(issues.map((i) => i.message), [
    'Task name "a b" is not valid',
    'Task name "" is not valid',
    'Task name "x#1" is not valid',
  ]);
});

Deno.test("validateFlowGraph() checks the params schema, ceiling and concurrency", () => {
  const issues = validateFlowGraph(graph([], {
    params: { n: "interger" as never },
    permissions: { nett: true } as never,
    concurrency: 0,
  }));
  assert.deepEqual(issues.map((i) => i.message), [
    'Param "n" has unknown type "interger" (did you mean "integer"?)',
    'the flow\'s permissions has unknown permission "nett" (known: read, write, net, env, run, ffi, sys, import)',
    "concurrency must be a whole number ≥ 1, got 0",
  ]);
});

Deno.test("validateFlowGraph() keeps the front end's issues first", () => {
  const issues = validateFlowGraph(
    graph([node("load", ["missing"])], { issues: [{ message: "front end problem" }] }),
  );
  assert.deepEqual(issues.map((i) => i.message), [
    "front end problem",
    'Task "load" needs unknown task "missing"',
  ]);
});

Deno.test("validateFlowGraph() points at the task's location, else the flow's", () => {
  const flowLoc = { file: "flow.ts", line: 1, col: 1 };
  const taskLoc = { file: "flow.ts", line: 7, col: 3 };
  const issues = validateFlowGraph(
    graph([node("a", ["x"], { location: taskLoc }), node("b", ["y"])], {
      location: flowLoc,
      concurrency: -1,
    }),
  );
  assert.deepEqual(issues.map((i) => i.location), [flowLoc, taskLoc, flowLoc]);
});

Deno.test("validateFlowGraph() reports every problem in one pass", () => {
  const config = normalizeTaskOptions({ name: "net", permissions: { net: true } }).config;
  const issues = validateFlowGraph(
    graph([
      node("a"),
      node("a"),
      node("b", ["c"]),
      node("c", ["b"]),
      node("d", ["lod"]),
      node("load"),
      node("net", [], { config }),
    ], { permissions: {} }),
  );
  assert.deepEqual(issues.map((i) => i.message), [
    'Duplicate task id "a" (2 tasks use it)',
    'Task "d" needs unknown task "lod" (did you mean "load"?)',
    'Task "net" requests net all, beyond the flow\'s ceiling (none)',
    "Cycle: b → c → b",
  ]);
  const err = new FlowValidationError("etl", issues);
  assert.match(err.message, /^Flow "etl" is invalid \(4 problems\):\n {2}- Duplicate/);
  assert.equal(err.issues, issues);
});

Deno.test("validateFlowGraph() never suggests a task's own id", () => {
  const issues = validateFlowGraph({ name: "f", issues: [], nodes: [node("a", ["b"])] });
  assert.equal(issues.length, 1);
  assert.doesNotMatch(issues[0].message, /did you mean/);
});

import assert from "node:assert/strict";
import {
  calledFunctions,
  checkExpression,
  parseExpression,
  references,
  STATUS_FUNCTIONS,
} from "../../../../src/loaders/yaml/expressions/mod.ts";

function refs(source: string) {
  return references(parseExpression(source)).map((
    r,
  ) => [r.root, r.path, source.slice(r.start, r.end)]);
}

const known = { roots: ["params", "tasks", "env"], functions: STATUS_FUNCTIONS };

function check(source: string) {
  return checkExpression(parseExpression(source), known).map((i) => ({
    ...i,
    text: source.slice(i.start, i.end),
  }));
}

Deno.test("references() gives each member chain's root and static path", () => {
  assert.deepEqual(refs("tasks.extract.result.rows[0]"), [
    ["tasks", ["extract", "result", "rows", 0], "tasks.extract.result.rows[0]"],
  ]);
  assert.deepEqual(refs("params"), [["params", [], "params"]]);
  assert.deepEqual(refs("tasks['my task'].result"), [[
    "tasks",
    ["my task", "result"],
    "tasks['my task'].result",
  ]]);
  assert.deepEqual(refs("tasks.my-task.result"), [[
    "tasks",
    ["my-task", "result"],
    "tasks.my-task.result",
  ]]);
});

Deno.test("references() stops a path at a dynamic key and reports the key's references", () => {
  assert.deepEqual(refs("a[i].b"), [["a", [], "a"], ["i", [], "i"]]);
  assert.deepEqual(refs("a.b[c.d].e[0]"), [["a", ["b"], "a.b"], ["c", ["d"], "c.d"]]);
  assert.deepEqual(refs("a[-1]"), [["a", [], "a"]]);
  assert.deepEqual(refs("a[true].b"), [["a", [], "a"]]);
});

Deno.test("references() finds names in every kind of expression, in source order", () => {
  assert.deepEqual(
    refs("contains(params.tags, env.X) && !tasks.a.ok || [x, {k: y.z}][0] == -n").map((r) => r[2]),
    ["params.tags", "env.X", "tasks.a.ok", "x", "y.z", "n"],
  );
  assert.deepEqual(refs("fromJSON(params.json).rows[0]"), [["params", ["json"], "params.json"]]);
  assert.deepEqual(refs("1 + 'a' + null"), []);
});

Deno.test("references() gives offsets shifted like the parsed expression", () => {
  const [ref] = references(parseExpression(" tasks.a.b", 100));
  assert.deepEqual([ref.start, ref.end], [101, 110]);
});

Deno.test("calledFunctions() lists every call with the offsets of its name", () => {
  const source = "always() || contains(format('{0}', x), lower(y)) && success()";
  const calls = calledFunctions(parseExpression(source));
  assert.deepEqual(calls.map((c) => [c.name, source.slice(c.start, c.end)]), [
    ["always", "always"],
    ["contains", "contains"],
    ["format", "format"],
    ["lower", "lower"],
    ["success", "success"],
  ]);
  assert.deepEqual(calledFunctions(parseExpression("a.b")), []);
});

Deno.test("checkExpression() accepts known names, built-ins and given functions", () => {
  assert.deepEqual(check("success() && contains(params.tags, 'x') || failure()"), []);
  assert.deepEqual(check("format('{0}', tasks.a.result, env.HOME) == toJSON(1, 2)"), []);
});

Deno.test("checkExpression() reports unknown names with did-you-mean", () => {
  assert.deepEqual(check("parms.x == 1"), [{
    message: 'Unknown name "parms" (did you mean "params"?)',
    hint: 'expressions can use "params", "tasks", "env"',
    start: 0,
    end: 5,
    text: "parms",
  }]);
  assert.equal(check("zzz")[0].message, 'Unknown name "zzz"');
  assert.equal(check("success")[0].hint, "call the function as success()");
  assert.equal(
    checkExpression(parseExpression("a"), { roots: [], functions: [] })[0].hint,
    undefined,
  );
});

Deno.test("checkExpression() reports unknown functions with did-you-mean", () => {
  const [issue] = check("params.a && tojson(params)");
  assert.equal(issue.message, 'Unknown function "tojson" (did you mean "toJSON"?)');
  assert.equal(issue.text, "tojson");
  assert.match(
    issue.hint ?? "",
    /^available functions: contains, .*, success, failure, always, cancelled$/,
  );
  assert.equal(check("sucess()")[0].message, 'Unknown function "sucess" (did you mean "success"?)');
  const bare = checkExpression(parseExpression("success()"), { roots: [], functions: [] });
  assert.equal(bare[0].message, 'Unknown function "success"');
});

Deno.test("checkExpression() reports wrong numbers of arguments", () => {
  assert.deepEqual(check("contains(params.x)"), [{
    message: "contains() takes 2 arguments, got 1",
    hint: "call it as contains(haystack, needle)",
    start: 0,
    end: 18,
    text: "contains(params.x)",
  }]);
  assert.equal(check("format()")[0].message, "format() takes at least 1 argument, got 0");
  assert.equal(check("round(1, 2, 3)")[0].message, "round() takes 1 or 2 arguments, got 3");
  assert.equal(check("always(1)")[0].message, "always() takes no arguments, got 1");
});

Deno.test("checkExpression() reports every issue, sorted by offset", () => {
  const issues = check("lenght(parms) && contains(tasks) || envv");
  assert.deepEqual(issues.map((i) => i.text), ["lenght", "parms", "contains(tasks)", "envv"]);
});

Deno.test("checkExpression() lists each function once when known.functions repeats built-ins", () => {
  const [issue] = checkExpression(parseExpression("nope()"), {
    roots: [],
    functions: ["contains", "success"],
  });
  assert.equal(issue.hint?.match(/contains/g)?.length, 1);
});

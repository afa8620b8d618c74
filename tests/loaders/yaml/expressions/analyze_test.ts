import assert from "node:assert/strict";
import {
  calledFunctions,
  checkExpression,
  parseExpression,
  references,
  STATUS_FUNCTIONS,
} from "../../../../src/loaders/yaml/expressions/mod.ts";

const refs = (source: string) =>
  references(parseExpression(source)).map((r) =>
    `${r.root}${r.path.map((k) => `.${k}`).join("")}${r.filtered ? ".*" : ""}@${r.start}-${r.end}`
  );

Deno.test("references() gives each member chain once, with its static path", () => {
  assert.deepEqual(refs("tasks.extract.result.rows[0]"), ["tasks.extract.result.rows.0@0-28"]);
  assert.deepEqual(refs("tasks['my-task'].result"), ["tasks.my-task.result@0-23"]);
  assert.deepEqual(refs("a[b].c"), ["a@0-1", "b@2-3"]);
  assert.deepEqual(refs("a.b.*.c"), ["a.b.*@0-3"]);
  assert.deepEqual(refs("a[*]"), ["a.*@0-1"]);
  assert.deepEqual(refs("fromJSON(x).y && PARAMS.Z"), ["x@9-10", "PARAMS.Z@17-25"]);
  assert.deepEqual(refs("'params.x' == 1"), []);
});

Deno.test("calledFunctions() gives calls as written, with the offsets of their names", () => {
  const calls = calledFunctions(parseExpression("always() || contains(a, Success())"));
  assert.deepEqual(calls.map((c) => [c.name, c.start, c.end]), [
    ["always", 0, 6],
    ["contains", 12, 20],
    ["Success", 24, 31],
  ]);
});

Deno.test("checkExpression() finds unknown names, without regard to case", () => {
  const known = { roots: ["params", "tasks"], functions: [] };
  assert.deepEqual(checkExpression(parseExpression("PARAMS.x && Tasks.y"), known), []);
  const [issue] = checkExpression(parseExpression("1 == parms.x"), known);
  assert.equal(issue.message, 'Unknown name "parms" (did you mean "params"?)');
  assert.deepEqual([issue.start, issue.end], [5, 10]);
  assert.equal(issue.hint, 'expressions can use "params", "tasks"');
  const [bare] = checkExpression(parseExpression("join"), known);
  assert.equal(bare.hint, "call the function as join()");
});

Deno.test("checkExpression() finds status functions where they are not offered", () => {
  const outside = checkExpression(parseExpression("format('{0}', FAILURE())"), {
    roots: [],
    functions: [],
  });
  assert.equal(outside.length, 1);
  assert.equal(outside[0].message, 'Unknown function "FAILURE"');
  assert.deepEqual([outside[0].start, outside[0].end], [14, 21]);
  const inside = checkExpression(parseExpression("success() || Always()"), {
    roots: [],
    functions: STATUS_FUNCTIONS,
  });
  assert.deepEqual(inside, []);
});

import assert from "node:assert/strict";
import {
  checkParamsSchema,
  coerceParam,
  paramSpec,
  validateParams,
} from "../../src/core/params.ts";

Deno.test("coerceParam() converts command-line strings to integers", () => {
  assert.deepEqual(coerceParam("integer", "42"), { value: 42 });
  assert.deepEqual(coerceParam("integer", " -7 "), { value: -7 });
  assert.deepEqual(coerceParam("integer", "+3"), { value: 3 });
  for (const bad of ["4.5", "", "abc", "1e3", "0x10"]) {
    assert.deepEqual(coerceParam("integer", bad), { error: `"${bad}" is not an integer` });
  }
});

Deno.test("coerceParam() converts command-line strings to numbers", () => {
  assert.deepEqual(coerceParam("number", "2.5"), { value: 2.5 });
  assert.deepEqual(coerceParam("number", "-1e3"), { value: -1000 });
  for (const bad of ["", "  ", "abc", "Infinity", "NaN"]) {
    assert.deepEqual(coerceParam("number", bad), { error: `"${bad}" is not a number` });
  }
});

Deno.test("coerceParam() reads the usual spellings of booleans", () => {
  for (const t of ["true", "TRUE", "1", "yes", "on", " True "]) {
    assert.deepEqual(coerceParam("boolean", t), { value: true }, t);
  }
  for (const f of ["false", "0", "no", "off", "Off"]) {
    assert.deepEqual(coerceParam("boolean", f), { value: false }, f);
  }
  assert.deepEqual(coerceParam("boolean", "maybe"), {
    error: '"maybe" is not a boolean (use true or false)',
  });
});

Deno.test("coerceParam() keeps strings exactly as given", () => {
  assert.deepEqual(coerceParam("string", "  padded "), { value: "  padded " });
  assert.deepEqual(coerceParam("string", "42"), { value: "42" });
});

Deno.test("coerceParam() parses arrays and objects as JSON of the right shape", () => {
  assert.deepEqual(coerceParam("array", "[1,2]"), { value: [1, 2] });
  assert.deepEqual(coerceParam("object", '{"a":1}'), { value: { a: 1 } });
  const notArray = coerceParam("array", '{"a":1}');
  assert.ok("error" in notArray && notArray.error.includes("is not a JSON array"));
  assert.ok("error" in notArray && notArray.error.includes("[1,2]"));
  const notObject = coerceParam("object", "[1]");
  assert.ok("error" in notObject && notObject.error.includes('{"a":1}'));
  assert.ok("error" in coerceParam("object", "null"));
  assert.ok("error" in coerceParam("array", "not json"));
});

Deno.test("paramSpec() expands the type shorthand", () => {
  assert.deepEqual(paramSpec("integer"), { type: "integer" });
  const spec = { type: "string" as const, default: "x" };
  assert.equal(paramSpec(spec), spec);
});

Deno.test("validateParams() without a schema takes no params: each given is unknown", () => {
  assert.deepEqual(validateParams(undefined, {}), { values: {}, issues: [] });
  const { values, issues } = validateParams(undefined, { anything: 1 });
  assert.deepEqual(values, {});
  assert.deepEqual(issues, [{
    param: "anything",
    message: 'Unknown param "anything"',
    hint: "this flow takes no params",
  }]);
});

Deno.test("validateParams() fills defaults and leaves optional params out", () => {
  const { values, issues } = validateParams(
    { factor: { type: "integer", default: 2 }, label: "string", tags: { type: "array" } },
    {},
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(values, { factor: 2 });
});

Deno.test("validateParams() gives each run its own copy of a default", () => {
  const schema = { list: { type: "array" as const, default: [1] } };
  const first = validateParams(schema, {}).values.list as number[];
  first.push(2);
  assert.deepEqual(validateParams(schema, {}).values.list, [1]);
  assert.deepEqual(schema.list.default, [1]);
});

Deno.test("validateParams() prefers a given value over the default", () => {
  const { values } = validateParams({ n: { type: "integer", default: 2 } }, { n: 5 });
  assert.deepEqual(values, { n: 5 });
});

Deno.test("validateParams() coerces command-line strings only when asked", () => {
  const schema = {
    n: "integer" as const,
    ratio: "number" as const,
    dry: "boolean" as const,
    ids: "array" as const,
    name: "string" as const,
  };
  const input = { n: "3", ratio: "0.5", dry: "yes", ids: "[1,2]", name: "x" };
  const coerced = validateParams(schema, input, { coerceStrings: true });
  assert.deepEqual(coerced.issues, []);
  assert.deepEqual(coerced.values, { n: 3, ratio: 0.5, dry: true, ids: [1, 2], name: "x" });

  const strict = validateParams(schema, input);
  assert.equal(strict.issues.length, 4);
  assert.equal(strict.issues[0].message, 'Param "n" must be integer, got string "3"');
});

Deno.test("validateParams() reports a coercion failure with the param's name", () => {
  const { issues, values } = validateParams({ n: "integer" }, { n: "three" }, {
    coerceStrings: true,
  });
  assert.deepEqual(issues.map((i) => i.message), ['Param "n": "three" is not an integer']);
  assert.equal("n" in values, false);
});

Deno.test("validateParams() reports a missing required param and how to pass it", () => {
  const { issues } = validateParams({ date: { type: "string", required: true } }, {});
  assert.equal(issues.length, 1);
  assert.equal(issues[0].message, 'Missing required param "date" (string)');
  assert.equal(issues[0].hint, "pass it with --param date=VALUE");
});

Deno.test("validateParams() does not require a param that has a default", () => {
  const { issues, values } = validateParams(
    { mode: { type: "string", required: true, default: "fast" } },
    {},
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(values, { mode: "fast" });
});

Deno.test("validateParams() checks enum membership after coercion", () => {
  const schema = { mode: { type: "string" as const, enum: ["fast", "slow"] } };
  assert.deepEqual(validateParams(schema, { mode: "slow" }).issues, []);
  const { issues } = validateParams(schema, { mode: "medium" });
  assert.equal(issues[0].message, 'Param "mode" must be one of "fast", "slow", got "medium"');
  const level = { level: { type: "integer" as const, enum: [1, 2, 3] } };
  assert.deepEqual(
    validateParams(level, { level: "2" }, { coerceStrings: true }).values,
    { level: 2 },
  );
  assert.equal(validateParams(level, { level: "4" }, { coerceStrings: true }).issues.length, 1);
});

Deno.test("validateParams() rejects an unknown param and suggests the likely one", () => {
  const { issues } = validateParams({ factor: "integer", label: "string" }, { factr: 3 });
  assert.equal(issues.length, 1);
  assert.equal(issues[0].message, 'Unknown param "factr" (did you mean "factor"?)');
  assert.equal(issues[0].hint, "this flow takes: factor, label");
});

Deno.test("validateParams() says when a flow takes no params", () => {
  const { issues } = validateParams({}, { x: 1 });
  assert.equal(issues[0].message, 'Unknown param "x"');
  assert.equal(issues[0].hint, "this flow takes no params");
});

Deno.test("validateParams() treats names of Object.prototype members as unknown", () => {
  const { issues } = validateParams({ factor: "integer" }, { constructor: 1, toString: "x" });
  assert.deepEqual(issues.map((i) => i.message), [
    'Unknown param "constructor"',
    'Unknown param "toString"',
  ]);
});

Deno.test("validateParams() reports every problem at once", () => {
  const { issues } = validateParams(
    {
      n: "integer",
      ratio: "number",
      date: { type: "string", required: true },
      mode: { type: "string", enum: ["a", "b"] },
      opts: "object",
    },
    { n: 1.5, ratio: "x", mode: "c", opts: [1], extra: true },
  );
  assert.deepEqual(issues.map((i) => i.message), [
    'Unknown param "extra"',
    'Param "n" must be integer, got number 1.5',
    'Param "ratio" must be number, got string "x"',
    'Missing required param "date" (string)',
    'Param "mode" must be one of "a", "b", got "c"',
    'Param "opts" must be object, got array [1]',
  ]);
});

Deno.test("validateParams() rejects null, non-finite numbers and bigints, showing the value", () => {
  const { issues } = validateParams(
    { a: "string", b: "number", c: "integer" },
    { a: null, b: Infinity, c: 10n },
  );
  assert.deepEqual(issues.map((i) => i.message), [
    'Param "a" must be string, got null null',
    'Param "b" must be number, got number Infinity',
    'Param "c" must be integer, got bigint 10',
  ]);
});

Deno.test("checkParamsSchema() accepts a valid schema and no schema", () => {
  assert.deepEqual(checkParamsSchema(undefined), []);
  assert.deepEqual(
    checkParamsSchema({ n: "integer", mode: { type: "string", enum: ["a"], default: "a" } }),
    [],
  );
});

Deno.test("checkParamsSchema() rejects a schema that is not an object", () => {
  for (const bad of [null, [], "integer"]) {
    const issues = checkParamsSchema(bad);
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /params must be an object/);
  }
});

Deno.test("checkParamsSchema() reports every bad spec with did-you-mean on types", () => {
  const issues = checkParamsSchema({
    a: "interger",
    b: { type: "strng" },
    c: 5,
    d: { type: "integer", default: "two" },
    e: { type: "string", enum: "a,b" },
  });
  assert.deepEqual(issues.map((i) => i.message), [
    'Param "a" has unknown type "interger" (did you mean "integer"?)',
    'Param "b" has unknown type "strng" (did you mean "string"?)',
    'Param "c" must be a type name or an object with "type"',
    'Param "d": default "two" is not of type integer',
    'Param "e": enum must be a list of values',
  ]);
  assert.equal(issues[0].hint, "use one of string, integer, number, boolean, array, object");
});

Deno.test("validateParams() names the param of each problem, for forms to show by field", () => {
  const { issues } = validateParams(
    {
      region: { type: "string", enum: ["eu", "us"] },
      n: { type: "integer", required: true },
      when: "string",
      big: "number",
    },
    { region: "mars", when: 3, extra: 1, big: "x" },
    { coerceStrings: false },
  );
  assert.deepEqual(
    issues.map((i) => [i.param, i.message.split(" ").slice(0, 3).join(" ")]),
    [
      ["extra", 'Unknown param "extra"'],
      ["region", 'Param "region" must'],
      ["n", "Missing required param"],
      ["when", 'Param "when" must'],
      ["big", 'Param "big" must'],
    ],
  );
  const coerced = validateParams({ n: "integer" }, { n: "three" }, { coerceStrings: true });
  assert.equal(coerced.issues[0].param, "n");
});

Deno.test("checkParamsSchema() reports a default that is not one of the enum values", () => {
  const issues = checkParamsSchema({
    mode: { type: "string", enum: ["fast", "slow"], default: "medium" },
    ok: { type: "string", enum: ["a", "b"], default: "b" },
  });
  assert.equal(issues.length, 1);
  assert.match(
    issues[0].message,
    /Param "mode": default "medium" is not one of its enum values "fast", "slow"/,
  );
});

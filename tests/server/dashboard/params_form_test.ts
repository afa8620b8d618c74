// The Run form's logic: controls from a params schema, typed text to JSON, 422 errors by field.
import assert from "node:assert/strict";
import {
  errorsByField,
  fieldsOf,
  initialText,
  paramsOf,
  readField,
} from "../../../src/server/dashboard/assets/params_form.js";

const SCHEMA = {
  region: { type: "string", default: "all", enum: ["all", "eu", "us"], description: "Where" },
  level: { type: "integer", enum: [1, 2, 3] },
  n: { type: "integer", required: true },
  ratio: "number",
  dry: { type: "boolean", default: false },
  force: "boolean",
  tags: { type: "array", default: ["a"] },
  opts: "object",
  who: { type: "string", default: "world" },
};

Deno.test("params form: each param gets a control for its type, enum, default and required", () => {
  const fields = fieldsOf(SCHEMA);
  assert.deepEqual(
    fields.map((f: { name: string; control: string; required: boolean; unset: boolean }) => [
      f.name,
      f.control,
      f.required,
      f.unset,
    ]),
    [
      ["region", "select", false, false],
      ["level", "select", false, true],
      ["n", "text", true, false],
      ["ratio", "text", false, false],
      ["dry", "checkbox", false, false],
      ["force", "select", false, true],
      ["tags", "json", false, false],
      ["opts", "json", false, false],
      ["who", "text", false, false],
    ],
  );
  assert.equal(fields[0].description, "Where");
  assert.deepEqual(fields[5].options, [true, false]);
  assert.deepEqual(fields.map(initialText), [
    "0",
    "",
    "",
    "",
    "false",
    "",
    '[\n  "a"\n]',
    "",
    "world",
  ]);
});

Deno.test("params form: typed text becomes JSON of the param's type; empty means the default", () => {
  const f = Object.fromEntries(fieldsOf(SCHEMA).map((x) => [x.name, x]));
  assert.deepEqual(readField(f.n, " 42 "), { value: 42 });
  assert.deepEqual(readField(f.n, "x"), { value: "x" }, "sent as typed: the API says why not");
  assert.deepEqual(readField(f.n, ""), { omit: true });
  assert.deepEqual(readField(f.level, "2"), { value: 3 }, "a select gives its option's value");
  assert.deepEqual(readField(f.level, ""), { omit: true });
  assert.deepEqual(readField(f.force, "1"), { value: false });
  assert.deepEqual(readField(f.dry, true), { value: true });
  assert.deepEqual(readField(f.tags, '["x", 1]'), { value: ["x", 1] });
  assert.deepEqual(readField(f.opts, "{bad"), { value: "{bad" });
  assert.deepEqual(readField(f.who, "  spaced "), { value: "  spaced " });
  assert.deepEqual(
    paramsOf(fieldsOf(SCHEMA), { region: "1", n: "7", dry: false, tags: "", who: "" }),
    { region: "eu", n: 7, dry: false },
  );
});

Deno.test("params form: a 422's problems go to their fields; the rest to the form", () => {
  const problem = {
    status: 422,
    detail: 'Invalid params for flow "x"',
    errors: [
      { message: 'Missing required param "n" (integer)', hint: "pass it", param: "n" },
      { message: 'Param "ratio" must be number, got string "x"', param: "ratio" },
      { message: 'Unknown param "color"', hint: "this flow takes: n, ratio", param: "color" },
      { message: "Something about the whole request" },
    ],
  };
  assert.deepEqual(errorsByField(problem, ["n", "ratio"]), {
    byField: {
      n: ['Missing required param "n" (integer)'],
      ratio: ['Param "ratio" must be number, got string "x"'],
    },
    general: [
      'Unknown param "color" (this flow takes: n, ratio)',
      "Something about the whole request",
    ],
  });
  assert.deepEqual(errorsByField({ detail: "The server is stopping" }, ["n"]), {
    byField: {},
    general: ["The server is stopping"],
  });
});

import assert from "node:assert/strict";
import {
  evaluate,
  ExpressionError,
  isTruthy,
  parseExpression,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { OrchestraError } from "../../../../src/core/errors.ts";
import { deepFreeze, evalError, run } from "./_helpers.ts";

const values = deepFreeze({
  params: {
    Factor: 3,
    name: "etl",
    tags: ["a", "B"],
    empty: "",
    zero: 0,
    nothing: null,
    yes: true,
  },
  tasks: {
    extract: { result: { rows: [{ id: 1, name: "x" }, { id: 2, name: "y" }], count: 2 } },
    "my-task": { result: "done" },
  },
});

Deno.test("== is loose, with GitHub's coercions to numbers", () => {
  const truths = [
    "1 == '1'",
    "1 == ' 1 '",
    "0 == ''",
    "null == false",
    "null == 0",
    "null == ''",
    "true == 1",
    "true == '1'",
    "false == '0'",
    "'0x10' == 16",
    "2 != '3'",
    "1 != 'one'",
    "NaN != NaN",
  ];
  for (const source of truths) assert.equal(run(source), true, source);
  const falsehoods = ["true == 'true'", "null == 'null'", "NaN == NaN", "'a' == 1", "1 == 'one'"];
  for (const source of falsehoods) assert.equal(run(source), false, source);
});

Deno.test("text is compared without regard to case, in ==, ordering and the functions", () => {
  assert.equal(run("'ABC' == 'abc'"), true);
  assert.equal(run("'a' < 'B'"), true);
  assert.equal(run("'B' >= 'b'"), true);
  assert.equal(run("contains('Hello World', 'WORLD')"), true);
  assert.equal(run("startsWith('Release-1', 'release')"), true);
  assert.equal(run("endsWith('a.YAML', '.yaml')"), true);
  assert.equal(run("contains(params.tags, 'b')", values), true);
});

Deno.test("ordering compares numbers, coerced as for ==; otherwise it is false", () => {
  assert.equal(run("2 > '10'"), false);
  assert.equal(run("'2' < '10'"), false); // two texts: compared as text
  assert.equal(run("true > false"), true);
  assert.equal(run("null < 1"), true);
  assert.equal(run("params.tags > 0", values), false);
  assert.equal(run("'a' < 1"), false);
  assert.equal(run("'a' >= 1"), false);
});

Deno.test("arrays and objects are equal only to themselves", () => {
  assert.equal(run("params.tags == params.tags", values), true);
  assert.equal(run("tasks.extract.result == tasks.extract.result", values), true);
  assert.equal(run("fromJSON('[1]') == fromJSON('[1]')"), false);
  assert.equal(run("params.tags == 'a'", values), false);
  assert.equal(run("params.tags != params.tags", values), false);
});

Deno.test("&& and || give one of their operands, ! gives a boolean", () => {
  assert.equal(run("params.name && params.Factor", values), 3);
  assert.equal(run("params.empty && params.Factor", values), "");
  assert.equal(run("params.zero || 'fallback'", values), "fallback");
  assert.equal(run("params.nothing || params.empty", values), "");
  assert.equal(run("!params.empty", values), true);
  assert.equal(run("!!params.tags", values), true);
});

Deno.test("context names and members are case-insensitive", () => {
  assert.equal(run("PARAMS.factor", values), 3);
  assert.equal(run("params.FACTOR", values), 3);
  assert.equal(run("Tasks.Extract.Result.Count", values), 2);
  assert.equal(run("tasks['MY-TASK'].result", values), "done");
  // The first of keys that differ only in case wins, as in GitHub's dictionaries.
  assert.equal(run("o.key", { o: { Key: 1, key: 2 } }), 1);
  assert.equal(run("o.KEY", { o: { key: 2, Key: 1 } }), 2);
});

Deno.test("members, indexes and their coercions", () => {
  assert.equal(run("tasks.extract.result.rows[1].id", values), 2);
  assert.equal(run("tasks.my-task.result", values), "done");
  assert.equal(run("params.tags['1']", values), "B");
  assert.equal(run("params.tags[1.7]", values), "B");
  assert.equal(run("params.tags[true]", values), "B");
  assert.equal(run("o[1]", { o: { "1": "one" } }), "one");
  assert.equal(run("params.tags[-1]", values), null);
  assert.equal(run("params.tags[9]", values), null);
  assert.equal(run("params.tags['x']", values), null);
  assert.equal(run("params.missing.deeper", values), null);
  assert.equal(run("params.name.length", values), null);
  assert.equal(run("params.tags.length", values), null);
});

Deno.test("filters: .* and [*] collect members of every item", () => {
  assert.deepEqual(run("tasks.extract.result.rows.*.id", values), [1, 2]);
  assert.deepEqual(run("tasks.extract.result.rows[*].name", values), ["x", "y"]);
  assert.deepEqual(run("tasks.extract.result.*", values), [[{ id: 1, name: "x" }, {
    id: 2,
    name: "y",
  }], 2]);
  assert.deepEqual(run("params.nothing.*", values), []);
  assert.equal(run("join(tasks.extract.result.rows.*.name, '+')", values), "x+y");
  assert.equal(run("contains(tasks.extract.result.rows.*.id, 2)", values), true);
});

Deno.test("case() gives the value of the first true condition, or the default", () => {
  assert.equal(
    run("case(params.Factor > 5, 'big', params.Factor > 1, 'medium', 'small')", values),
    "medium",
  );
  assert.equal(run("case(false, 1, 2)"), 2);
  const e = evalError(() => run("case(params.name, 1, 2)", values));
  assert.match(e.message, /^case\(\) failed: case predicate must evaluate to a boolean value/);
  assert.match(e.hint!, /must be true or false/);
});

Deno.test("NaN and Infinity are numbers", () => {
  assert.equal(run("NaN == NaN"), false);
  assert.equal(run("Infinity > 1e308"), true);
  assert.equal(run("format('{0} {1}', NaN, -Infinity)"), "NaN -Infinity");
  assert.equal(isTruthy(run("NaN")), false);
  assert.equal(run("toJSON(NaN)"), "null");
});

Deno.test("truthiness is GitHub's: empty text, 0, NaN and null are false; 'false' and [] are true", () => {
  for (const v of [false, 0, -0, NaN, "", null, undefined]) {
    assert.equal(isTruthy(v), false, String(v));
  }
  for (const v of [true, 1, -1, "false", "0", " ", [], {}]) {
    assert.equal(isTruthy(v), true, String(v));
  }
});

Deno.test("evaluate() never reaches prototypes, getters or non-JSON objects", () => {
  let ran = false;
  const ctx = {
    obj: { a: 1 },
    arr: [1, 2],
    date: new Date(0),
    getter: {
      get boom() {
        ran = true;
        return 1;
      },
    },
  };
  for (
    const source of [
      "obj.constructor",
      "obj.__proto__",
      "obj['toString']",
      "arr.push",
      "getter.boom",
    ]
  ) {
    assert.equal(run(source, ctx), null, source);
  }
  assert.equal(ran, false);
  const e = evalError(() => run("date", ctx));
  assert.match(e.message, /not a JSON value/);
});

Deno.test("keys named like Object.prototype members are ordinary keys", () => {
  // @actions/expressions' own dictionaries drop them; GitHub's runner keeps them.
  const o = JSON.parse('{"constructor": 1, "toString": 2, "__proto__": 3}');
  assert.equal(run("o.constructor", { o }), 1);
  assert.equal(run("o.tostring", { o }), 2);
  assert.equal(run("o.__proto__", { o }), 3);
  assert.equal(run("fromJSON('{\"constructor\": 1}').constructor"), 1);
  assert.equal(run("toJSON(fromJSON('{\"__proto__\": 1}'))"), '{\n  "__proto__": 1\n}');
});

Deno.test("contexts are read lazily: only the members an expression reads are looked up", () => {
  const asked: string[] = [];
  const secrets = new Proxy({}, {
    getOwnPropertyDescriptor: (_t, name) => {
      asked.push(String(name));
      return { value: `value of ${String(name)}`, enumerable: true, configurable: true };
    },
  });
  assert.equal(run("secrets.TOKEN", { secrets }), "value of TOKEN");
  assert.deepEqual(asked, ["TOKEN"]);
  const failing = new Proxy({}, {
    getOwnPropertyDescriptor: () => {
      throw new Error('secret "X" is not set');
    },
  });
  const e = evalError(() => run("format('{0}', s.X)", { s: failing }));
  assert.match(e.message, /secret "X" is not set/);
  assert.equal(e.offset, 14);
});

Deno.test("a whole value from the context is given back as it is, not copied", () => {
  const rows = values.tasks.extract.result.rows;
  assert.equal(run("tasks.extract.result.rows", values), rows);
  assert.deepEqual(run('fromJSON(\'{"a": [1, {"b": null}]}\')'), { a: [1, { b: null }] });
});

Deno.test("an unknown name is an ExpressionError at the name, with did-you-mean", () => {
  const e = evalError(() => run("1 == parms.x", { params: {} }));
  assert.ok(e instanceof OrchestraError && e instanceof ExpressionError);
  assert.equal(
    e.message,
    'Unknown name "parms" (did you mean "params"?); expressions can use "params"',
  );
  assert.equal(e.offset, 5);
  assert.equal(e.length, 5);
});

Deno.test("a function's failure is an ExpressionError at the call, with the cause kept", () => {
  const e = evalError(() => run("'a' == fromJSON('{')"));
  assert.match(e.reason, /^fromJSON\(\) could not parse its argument/);
  assert.equal(e.offset, 7);
  assert.equal(e.length, 13);
  const boom = new TypeError("boom");
  const custom = evalError(() =>
    run("x || custom(1)", { x: false }, {
      custom: () => {
        throw boom;
      },
    })
  );
  assert.equal(custom.message, "custom() failed: boom");
  assert.equal(custom.cause, boom);
});

Deno.test("the caller's functions get and give plain values; built-ins win over them", () => {
  const got: unknown[] = [];
  const fns = {
    custom: (...args: unknown[]) => {
      got.push(...args);
      return { ok: args.length };
    },
    contains: () => "never called",
  };
  assert.deepEqual(run("custom(params.tags, 1, 'a')", values, fns), { ok: 3 });
  assert.deepEqual(got, [["a", "B"], 1, "a"]);
  assert.equal(run("contains('abc', 'b')", {}, fns), true);
});

Deno.test("evaluate() does not change its inputs", () => {
  const frozen = deepFreeze({ params: { a: [1, { b: 2 }] } });
  assert.deepEqual(
    evaluate(parseExpression("toJSON(params.a.*.b)"), { values: frozen }),
    "[\n  2\n]",
  );
});

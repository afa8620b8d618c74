import assert from "node:assert/strict";
import {
  evaluate,
  type Expr,
  ExpressionError,
  isTruthy,
  parseExpression,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { OrchestraError } from "../../../../src/core/errors.ts";
import { deepFreeze, evalError, run } from "./_helpers.ts";

const values = {
  params: { factor: 3, name: "etl", tags: ["a", "b"], empty: "", zero: 0, nothing: null },
  tasks: {
    extract: { result: { rows: [{ id: 1 }, { id: 2 }], count: 2 } },
    "my-task": { result: "done" },
  },
  i: 1,
  k: "count",
};

Deno.test("evaluate() gives literals, arrays and objects", () => {
  assert.equal(run("null"), null);
  assert.equal(run("true"), true);
  assert.equal(run("false"), false);
  assert.equal(run("42"), 42);
  assert.equal(run("0x10"), 16);
  assert.equal(run("'it''s'"), "it's");
  assert.deepEqual(run("[1, 'a', [null], {b: true}]"), [1, "a", [null], { b: true }]);
  assert.deepEqual(run("{a: params.factor, 'b c': [i]}", values), { a: 3, "b c": [1] });
});

Deno.test("evaluate() reads members, indexes and dynamic keys", () => {
  assert.equal(run("params.factor", values), 3);
  assert.equal(run("tasks.extract.result.rows[1].id", values), 2);
  assert.equal(run("tasks.extract.result.rows[i]['id']", values), 2);
  assert.equal(run("tasks.extract.result[k]", values), 2);
  assert.equal(run("tasks.my-task.result", values), "done");
  assert.equal(run("tasks['my-task'].result", values), "done");
  assert.equal(run("{'1': 'one'}[1]"), "one");
  assert.equal(run("[10, 20][1]"), 20);
  assert.equal(run("{a: {b: 5}}.a.b"), 5);
});

Deno.test("evaluate() gives null for missing members instead of throwing", () => {
  const missing = [
    "params.missing",
    "params.missing.deeper.still",
    "params.nothing.x",
    "params.factor.x",
    "params.name.x",
    "params.tags[2]",
    "params.tags[-1]",
    "params.tags[0.5]",
    "params.tags['0']",
    "params.tags[null]",
    "params[true]",
    "params[['factor']]",
    "'abc'[0]",
    "null[0]",
    "tasks.extract.result.rows[0].id.x",
  ];
  for (const source of missing) assert.equal(run(source, values), null, source);
});

Deno.test("evaluate() never reaches prototypes, constructors or built-in properties", () => {
  const ctx = {
    obj: { a: 1 },
    arr: [1, 2],
    str: "abc",
    date: new Date(0),
    map: new Map([["a", 1]]),
  };
  const blocked = [
    "obj.constructor",
    "obj.constructor.constructor",
    "obj.__proto__",
    "obj['__proto__']",
    "obj.prototype",
    "obj.toString",
    "obj.hasOwnProperty",
    "obj.valueOf",
    "arr.length",
    "arr.constructor",
    "arr.map",
    "arr['length']",
    "str.length",
    "str.constructor",
    "date.getTime",
    "date.constructor",
    "map.a",
    "map.size",
    "{}.constructor",
    "[].constructor",
    "fromJSON('{}').constructor",
  ];
  for (const source of blocked) assert.equal(run(source, ctx), null, source);
});

Deno.test("evaluate() reads own data properties only and never runs a getter", () => {
  let calls = 0;
  const tricky = {
    get secret() {
      calls++;
      return "leak";
    },
  };
  const arr: unknown[] = [1];
  Object.defineProperty(arr, 0, {
    get() {
      calls++;
      return "leak";
    },
  });
  const withProto = Object.create({ inherited: "leak" });
  assert.equal(run("t.secret", { t: tricky }), null);
  assert.equal(run("a[0]", { a: arr }), null);
  assert.equal(run("p.inherited", { p: withProto }), null);
  assert.equal(run("length(a) == 1 && contains(a, 'leak') == false", { a: arr }), true);
  assert.equal(calls, 0);
  assert.equal(run("n.a", { n: Object.assign(Object.create(null), { a: 1 }) }), 1);
});

Deno.test("evaluate() keeps a '__proto__' key an ordinary own property", () => {
  const out = run("{'__proto__': {polluted: true}, a: 1}") as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__", "a"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(run("fromJSON('{\"__proto__\": 7}').__proto__"), 7);
  assert.equal(run('fromJSON(\'{"__proto__": {"x": 1}}\').x'), null);
});

Deno.test("evaluate() requires names to be own properties of the context", () => {
  const err = evalError(() => run("parms.factor", values));
  assert.equal(err.reason, 'Unknown name "parms" (did you mean "params"?)');
  assert.match(err.hint ?? "", /expressions can use "params", "tasks", "i", "k"/);
  assert.deepEqual([err.offset, err.length], [0, 5]);
  assert.equal(evalError(() => run("toString", {})).reason, 'Unknown name "toString"');
  assert.equal(evalError(() => run("constructor", {})).reason, 'Unknown name "constructor"');
  assert.equal(run("x", { x: undefined }), null);
});

Deno.test("evaluate() applies ! and unary - by the truthiness rules", () => {
  const falsy = ["false", "0", "-0", "''", "null"];
  const truthy = ["true", "1", "-1", "'0'", "'false'", "[]", "{}"];
  for (const s of falsy) assert.equal(run(`!${s}`), true, s);
  for (const s of truthy) assert.equal(run(`!${s}`), false, s);
  assert.equal(run("-params.factor", values), -3);
  assert.equal(run("--2"), 2);
  const err = evalError(() => run("-params.name", values));
  assert.equal(err.message, 'Cannot negate string with "-"; "-" works on numbers only');
  assert.deepEqual([err.offset, err.length], [0, 12]);
  assert.ok([NaN, 0, "", null, undefined, false].every((v) => !isTruthy(v)));
});

Deno.test("evaluate() does arithmetic on numbers and names the operator and types otherwise", () => {
  assert.equal(run("7 * 6"), 42);
  assert.equal(run("7 / 2"), 3.5);
  assert.equal(run("7 % 3"), 1);
  assert.equal(run("-7 % 3"), -1);
  assert.equal(run("1 + 2"), 3);
  assert.equal(run("1 - 2 - 3"), -4);
  assert.equal(run("2 + 3 * 4"), 14);
  assert.equal(run("(2 + 3) * 4"), 20);
  const cases: [string, string][] = [
    ["1 - 'a'", 'Cannot subtract number and string with "-"; "-" works on numbers only'],
    ["'a' * 2", 'Cannot multiply string and number with "*"'],
    ["null / 2", 'Cannot divide null and number with "/"'],
    ["[1] % 2", 'Cannot take the remainder of array and number with "%"'],
    ["1 + null", 'Cannot add number and null with "+"; "+" adds numbers, or joins text'],
    ["true + 1", 'Cannot add boolean and number with "+"'],
    ["[1] + [2]", 'Cannot add array and array with "+"'],
    ["{} + 1", 'Cannot add object and number with "+"'],
  ];
  for (const [source, message] of cases) {
    const err = evalError(() => run(source));
    assert.ok(err.message.startsWith(message), `${source}: ${err.message}`);
    assert.deepEqual([err.offset, err.length], [0, source.length], source);
  }
});

Deno.test("evaluate() rejects division by zero and overflow instead of giving Infinity or NaN", () => {
  assert.match(evalError(() => run("1 / 0")).message, /"\/" gave Infinity \(division by zero\)/);
  assert.match(evalError(() => run("1 % 0")).message, /"%" gave NaN \(division by zero\)/);
  assert.match(evalError(() => run("1e308 * 10")).message, /"\*" gave Infinity \(overflow\)/);
  assert.match(evalError(() => run("-1e308 - 1e308")).message, /overflow/);
});

Deno.test("evaluate() concatenates with + when either side is a string", () => {
  assert.equal(run("'a' + 'b'"), "ab");
  assert.equal(run("'n=' + 1"), "n=1");
  assert.equal(run("1 + '2'"), "12");
  assert.equal(run("'x' + null"), "x");
  assert.equal(run("'x' + true"), "xtrue");
  assert.equal(run("'x' + [1, 'a']"), 'x[1,"a"]');
  assert.equal(run("{a: 1} + ''"), '{"a":1}');
  assert.equal(run("1 + 2 + 'x'"), "3x");
  const err = evalError(() => run("'x' + f", { f: () => 1 }));
  assert.match(err.message, /A function is not a JSON value/);
});

Deno.test("evaluate() compares two numbers or two strings and nothing else", () => {
  assert.deepEqual(["1 < 2", "2 <= 2", "3 > 2", "2 >= 3"].map((s) => run(s)), [
    true,
    true,
    true,
    false,
  ]);
  assert.deepEqual(["'a' < 'b'", "'B' < 'a'", "'ab' >= 'ab'", "'b' > 'abc'"].map((s) => run(s)), [
    true,
    true,
    true,
    true,
  ]);
  for (const source of ["1 < '2'", "null < 1", "[1] > [0]", "true >= false"]) {
    const err = evalError(() => run(source));
    assert.match(err.message, /^Cannot compare \w+ and \w+ with "[<>]=?"; .* use "==" for other/);
    assert.deepEqual([err.offset, err.length], [0, source.length]);
  }
});

Deno.test("evaluate() compares with == and != deeply and without coercion", () => {
  const equal = [
    "1 == 1",
    "'a' == 'a'",
    "null == null",
    "0 == -0",
    "[1, [2]] == [1, [2]]",
    "{a: 1, b: [2]} == {b: [2], a: 1}",
    "params.tags == ['a', 'b']",
    "params.missing == null",
  ];
  const unequal = [
    "1 == '1'",
    "0 == false",
    "'' == null",
    "0 == null",
    "null == false",
    "[1] == [1, 2]",
    "{a: 1} == {a: 1, b: 2}",
    "{a: null} == {}",
    "[] == {}",
    "'a' == 'A'",
  ];
  for (const s of equal) {
    assert.equal(run(s, values), true, s);
    assert.equal(run(s.replace("==", "!="), values), false, s);
  }
  for (const s of unequal) {
    assert.equal(run(s, values), false, s);
    assert.equal(run(s.replace("==", "!="), values), true, s);
  }
});

Deno.test("evaluate() returns an operand from && and || and short-circuits", () => {
  assert.equal(run("params.name && params.factor", values), 3);
  assert.equal(run("params.empty && params.factor", values), "");
  assert.equal(run("params.missing || 'default'", values), "default");
  assert.equal(run("params.zero || params.empty", values), "");
  assert.deepEqual(run("params.tags || 'x'", values), ["a", "b"]);
  let calls = 0;
  const functions = { count: () => ++calls };
  assert.equal(run("false && count()", {}, functions), false);
  assert.equal(run("true || count()", {}, functions), true);
  assert.equal(run("false && (1 - 'a')"), false);
  assert.equal(calls, 0);
  assert.equal(run("true && count()", {}, functions), 1);
});

Deno.test("evaluate() calls context functions with evaluated arguments; built-ins win", () => {
  const seen: unknown[][] = [];
  const functions = {
    success: (...args: unknown[]) => (seen.push(args), true),
    contains: () => {
      throw new Error("a built-in must win");
    },
    nothing: () => undefined,
  };
  assert.equal(run("success(1 + 1, params.name)", values, functions), true);
  assert.deepEqual(seen, [[2, "etl"]]);
  assert.equal(run("contains('abc', 'b')", values, functions), true);
  assert.equal(run("nothing()", values, functions), null);
});

Deno.test("evaluate() wraps what a context function throws in an ExpressionError", () => {
  const cause = new TypeError("boom");
  const err = evalError(() =>
    run("x && fail(1)", { x: 1 }, {
      fail: () => {
        throw cause;
      },
    })
  );
  assert.equal(err.message, "fail() failed: boom");
  assert.equal(err.cause, cause);
  assert.deepEqual([err.offset, err.length], [5, 7]);
  assert.equal(
    evalError(() =>
      run("f()", {}, {
        f: () => {
          throw "text";
        },
      })
    ).message,
    "f() failed: text",
  );
  const inner = evalError(() => run("f()", {}, { f: () => run("1 - 'a'") }));
  assert.match(inner.message, /Cannot subtract/);
});

Deno.test("evaluate() reports unknown functions with did-you-mean", () => {
  const err = evalError(() => run("contain('a', 'b')"));
  assert.equal(err.reason, 'Unknown function "contain" (did you mean "contains"?)');
  assert.match(err.hint ?? "", /available functions: contains, startsWith/);
  assert.deepEqual([err.offset, err.length], [0, 17]);
  const status = evalError(() => run("sucess()", {}, { success: () => true }));
  assert.equal(status.reason, 'Unknown function "sucess" (did you mean "success"?)');
  assert.equal(evalError(() => run("toString()", {}, {})).reason, 'Unknown function "toString"');
  assert.equal(evalError(() => run("f()", {}, { f: 1 as never })).reason, 'Unknown function "f"');
});

Deno.test("evaluate() shifts error offsets with the parsed expression", () => {
  const err = evalError(() => evaluate(parseExpression("1 + (2 - 'x')", 40), { values: {} }));
  assert.deepEqual([err.offset, err.length], [45, 7]);
});

Deno.test("evaluate() never mutates the context", () => {
  const ctx = deepFreeze(structuredClone(values));
  const before = structuredClone(ctx);
  const sources = [
    "keys(tasks.extract.result)",
    "values(params)",
    "join(params.tags, '-')",
    "sum([1, 2]) + max(params.tags == [] && 1 || 2, 0)",
    "fromJSON(toJSON(tasks)).extract",
    "{a: params.tags}.a",
    "contains(params.tags, 'a') && length(params) > 0",
    "format('{0}', params)",
  ];
  for (const s of sources) run(s, ctx);
  assert.deepEqual(ctx, before);
});

Deno.test("evaluate() returns context values as they are, not copies", () => {
  assert.equal(run("params.tags", values), values.params.tags);
});

Deno.test("evaluate() bounds hand-built trees and unknown node kinds with ExpressionError", () => {
  let deep: Expr = { kind: "literal", value: 1, start: 0, end: 1 };
  for (let i = 0; i < 10_000; i++) {
    deep = { kind: "unary", operator: "-", operand: deep, start: 0, end: 1 };
  }
  assert.match(evalError(() => evaluate(deep, { values: {} })).message, /nested more than/);
  const odd = { kind: "lambda", start: 0, end: 1 } as unknown as Expr;
  assert.match(evalError(() => evaluate(odd, { values: {} })).message, /Unknown expression node/);
});

Deno.test("ExpressionError is an OrchestraError with reason, hint and position", () => {
  const err = new ExpressionError("Bad", 3, 4, { hint: "fix it", cause: 1 });
  assert.ok(err instanceof OrchestraError);
  assert.deepEqual([err.name, err.message, err.reason, err.hint, err.offset, err.length], [
    "ExpressionError",
    "Bad; fix it",
    "Bad",
    "fix it",
    3,
    4,
  ]);
  assert.equal(err.cause, 1);
});

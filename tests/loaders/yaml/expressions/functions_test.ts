import assert from "node:assert/strict";
import {
  BUILTIN_FUNCTIONS,
  STATUS_FUNCTIONS,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { arityText, BUILTINS } from "../../../../src/loaders/yaml/expressions/functions.ts";
import { evalError, run } from "./_helpers.ts";

const ctx = {
  s: "Hello World",
  list: ["a", "b", 3, null, { x: 1 }],
  obj: { b: 1, a: [2] },
  nums: [3, 1, 2],
};

function fails(source: string, message: RegExp | string, values: Record<string, unknown> = ctx) {
  const err = evalError(() => run(source, values));
  if (typeof message === "string") assert.equal(err.message, message, source);
  else assert.match(err.message, message, source);
  return err;
}

Deno.test("BUILTIN_FUNCTIONS lists the documented functions; status functions are separate", () => {
  assert.deepEqual([...BUILTIN_FUNCTIONS].sort(), [
    "contains",
    "endsWith",
    "format",
    "fromJSON",
    "join",
    "keys",
    "length",
    "lower",
    "max",
    "min",
    "round",
    "startsWith",
    "sum",
    "toJSON",
    "trim",
    "upper",
    "values",
  ]);
  assert.deepEqual([...STATUS_FUNCTIONS], ["success", "failure", "always", "cancelled"]);
  assert.ok(STATUS_FUNCTIONS.every((f) => !BUILTIN_FUNCTIONS.includes(f)));
  assert.equal(Object.getPrototypeOf(BUILTINS), null);
});

Deno.test("contains() searches strings case-sensitively and arrays by deep equality", () => {
  assert.equal(run("contains(s, 'World')", ctx), true);
  assert.equal(run("contains(s, 'world')", ctx), false);
  assert.equal(run("contains(s, '')", ctx), true);
  assert.equal(run("contains(list, 'a')", ctx), true);
  assert.equal(run("contains(list, 3)", ctx), true);
  assert.equal(run("contains(list, '3')", ctx), false);
  assert.equal(run("contains(list, null)", ctx), true);
  assert.equal(run("contains(list, {x: 1})", ctx), true);
  assert.equal(run("contains(list, {x: 2})", ctx), false);
  assert.equal(run("contains(null, 'a')", ctx), false);
  fails("contains(s, 1)", "contains() needs a string as its second argument, got number");
  fails(
    "contains(obj, 'a')",
    /needs a string or an array as its first argument, got object; use keys\(\)/,
  );
  fails("contains(1, 1)", /got number/);
});

Deno.test("startsWith() and endsWith() test strings case-sensitively", () => {
  assert.equal(run("startsWith(s, 'Hello')", ctx), true);
  assert.equal(run("startsWith(s, 'hello')", ctx), false);
  assert.equal(run("endsWith(s, 'World')", ctx), true);
  assert.equal(run("endsWith(s, 'Hello')", ctx), false);
  assert.equal(run("startsWith(null, 'x')", ctx), false);
  fails("startsWith(1, 'x')", "startsWith() needs a string as its first argument, got number");
  fails("endsWith(s, null)", "endsWith() needs a string as its second argument, got null");
});

Deno.test("join() joins items as text with ',' by default", () => {
  assert.equal(run("join(['a', 1, true, null, [2], {k: 'v'}])"), 'a,1,true,,[2],{"k":"v"}');
  assert.equal(run("join(nums, ' + ')", ctx), "3 + 1 + 2");
  assert.equal(run("join([], '-')"), "");
  assert.equal(run("join('already text')"), "already text");
  assert.equal(run("join(null)"), "");
  fails("join(1)", "join() needs an array as its first argument, got number");
  fails("join(nums, 1)", "join() needs a string as its second argument, got number", ctx);
});

Deno.test("toJSON() writes compact or indented JSON without calling toJSON methods", () => {
  assert.equal(run("toJSON(obj)", ctx), '{"b":1,"a":[2]}');
  assert.equal(run("toJSON(obj, 2)", ctx), '{\n  "b": 1,\n  "a": [\n    2\n  ]\n}');
  assert.equal(run("toJSON('x')"), '"x"');
  assert.equal(run("toJSON(null)"), "null");
  assert.equal(run("toJSON([[], {}], 1)"), "[\n []\n {}\n]".replace("[]\n", "[],\n"));
  assert.equal(run("toJSON(o)", { o: { a: undefined, b: 1 } }), '{"b":1}');
  fails("toJSON(d)", /A non-JSON object is not a JSON value/, { d: new Date(0) });
  fails("toJSON(f)", /A function is not a JSON value/, { f: () => 1 });
  fails("toJSON(n)", /The number NaN has no JSON form/, { n: NaN });
  fails("toJSON(1, 11)", "toJSON() needs an indent from 0 to 10, got 11");
  fails("toJSON(1, 'x')", "toJSON() needs an indent from 0 to 10, got string");
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  fails("toJSON(c)", /nested more than 512 levels deep \(or contains itself\)/, { c: circular });
});

Deno.test("fromJSON() parses JSON text and reports bad text", () => {
  assert.deepEqual(run("fromJSON('{\"a\": [1, true, null]}')"), { a: [1, true, null] });
  assert.equal(run("fromJSON('42')"), 42);
  assert.equal(run("fromJSON(toJSON(obj)).a[0]", ctx), 2);
  const err = fails("x + fromJSON('{oops')", /^fromJSON\(\) could not parse its argument: /, {
    x: 1,
  });
  assert.match(err.hint ?? "", /pass JSON text/);
  assert.deepEqual([err.offset, err.length], [4, 17]);
  fails("fromJSON(1)", "fromJSON() needs a string as its first argument, got number");
});

Deno.test("length() counts characters, items and keys", () => {
  assert.equal(run("length('héllo😀')"), 6);
  assert.equal(run("length('')"), 0);
  assert.equal(run("length(list)", ctx), 5);
  assert.equal(run("length(obj)", ctx), 2);
  assert.equal(run("length(null)"), 0);
  fails(
    "length(1)",
    "length() needs a string, an array or an object as its first argument, got number",
  );
});

Deno.test("format() replaces {N} placeholders as GitHub does", () => {
  assert.equal(run("format('{0} and {1}', 'a', 2)"), "a and 2");
  assert.equal(run("format('{1}{0}{1}', 'x', 'y')"), "yxy");
  assert.equal(run("format('{{0}} is {0}', [1])"), "{0} is [1]");
  assert.equal(run("format('}}{{')"), "}{");
  assert.equal(run("format('{0}', null)"), "");
  assert.equal(run("format('plain')"), "plain");
  fails(
    "format('{0} {1}', 'a')",
    "format() has no value for {1}: it was given 1; pass at least 2 values after the template",
  );
  fails("format('{x}', 1)", /invalid "\{" at position 0/);
  fails("format('{', 1)", /invalid "\{" at position 0/);
  fails("format('a}', 1)", /unmatched "\}" at position 1/);
  fails("format(1)", "format() needs a string as its first argument, got number");
});

Deno.test("lower(), upper() and trim() change strings", () => {
  assert.equal(run("lower(s)", ctx), "hello world");
  assert.equal(run("upper(s)", ctx), "HELLO WORLD");
  assert.equal(run("trim('  a b \\n')".replace("\\n", "\n")), "a b");
  assert.equal(run("lower(null) + upper(null) + trim(null)"), "");
  fails("upper(1)", "upper() needs a string as its first argument, got number");
});

Deno.test("keys() and values() list an object's own keys and values in order", () => {
  assert.deepEqual(run("keys(obj)", ctx), ["b", "a"]);
  assert.deepEqual(run("values(obj)", ctx), [1, [2]]);
  assert.deepEqual(run("keys(null)"), []);
  assert.deepEqual(run("values({})"), []);
  fails("keys(list)", "keys() needs an object as its first argument, got array", ctx);
  fails("values('x')", "values() needs an object as its first argument, got string");
});

Deno.test("min(), max() and sum() work on numbers", () => {
  assert.equal(run("min(nums)", ctx), 1);
  assert.equal(run("max(nums)", ctx), 3);
  assert.equal(run("min(4, 2, 8)"), 2);
  assert.equal(run("max(4, 2, 8)"), 8);
  assert.equal(run("max(-1)"), -1);
  assert.equal(run("min([])"), null);
  assert.equal(run("max(null)"), null);
  assert.equal(run("sum(nums)", ctx), 6);
  assert.equal(run("sum([])"), 0);
  assert.equal(run("sum(null)"), 0);
  fails("min(1, 'a')", "min() works on numbers, got string");
  fails("max(['a'])", "max() works on numbers, got string");
  fails("sum([1, null])", "sum() works on numbers, got null");
  fails("sum(1)", "sum() needs an array as its first argument, got number");
  fails("sum([1e308, 1e308])", "sum() gave Infinity, which is no number");
});

Deno.test("round() rounds half away from zero to 0-15 decimals", () => {
  assert.equal(run("round(2.5)"), 3);
  assert.equal(run("round(-2.5)"), -3);
  assert.equal(run("round(2.4)"), 2);
  assert.equal(run("round(1.005, 2)"), 1.01);
  assert.equal(run("round(1234.5678, 2)"), 1234.57);
  assert.equal(run("round(1e21, 2)"), 1e21);
  assert.equal(run("round(1e-7, 3)"), 0);
  assert.ok(Object.is(run("round(-0.4)"), 0));
  fails("round('1')", "round() needs a number as its first argument, got string");
  fails("round(1, 1.5)", "round() needs a whole number of digits from 0 to 15, got 1.5");
  fails("round(1, 16)", "round() needs a whole number of digits from 0 to 15, got 16");
});

Deno.test("evaluate() checks the number of arguments of built-in functions", () => {
  const err = fails(
    "contains('a')",
    "contains() takes 2 arguments, got 1; call it as contains(haystack, needle)",
  );
  assert.deepEqual([err.offset, err.length], [0, 13]);
  fails("toJSON()", "toJSON() takes 1 or 2 arguments, got 0; call it as toJSON(value, indent)");
  fails("format()", /format\(\) takes at least 1 argument, got 0/);
  fails("length(1, 2)", /length\(\) takes 1 argument, got 2/);
});

Deno.test("arityText() says how many arguments in words", () => {
  assert.deepEqual(
    [
      arityText(0, 0),
      arityText(1, 1),
      arityText(2, 2),
      arityText(1, 2),
      arityText(1, Infinity),
      arityText(1, 3),
    ],
    [
      "no arguments",
      "1 argument",
      "2 arguments",
      "1 or 2 arguments",
      "at least 1 argument",
      "1 to 3 arguments",
    ],
  );
});

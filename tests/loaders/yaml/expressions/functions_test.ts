import assert from "node:assert/strict";
import {
  GITHUB_FUNCTIONS,
  KNOWN_FUNCTIONS,
  signatureOf,
  STATUS_FUNCTIONS,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { evalError, run } from "./_helpers.ts";

const values = {
  list: ["a", "B", 3, null],
  nums: [3, 1, 2],
  obj: { one: 1, Two: 2, two: 22 },
  text: "  Mixed Case  ",
  emoji: "a😀b",
};

Deno.test("GitHub's functions coerce their arguments to text", () => {
  assert.equal(run("contains(12345, 34)"), true);
  assert.equal(run("contains('true', true)"), true);
  assert.equal(run("startsWith(null, '')"), true);
  assert.equal(run("endsWith(1.50, '.5')"), true);
  assert.equal(run("contains(obj, 'one')", values), false); // an object contains nothing
  assert.equal(run("contains(list, 3)", values), true);
  assert.equal(run("contains(list, '3')", values), true); // items compared as by ==
  assert.equal(run("contains(list, 'b')", values), true);
  assert.equal(run("join(list, '-')", values), "a-B-3-");
  assert.equal(run("join(list)", values), "a,B,3,");
  assert.equal(run("join('text', '-')"), "text");
  assert.equal(run("join(obj)", values), "");
});

Deno.test("format() writes values as GitHub writes them into text", () => {
  assert.equal(run("format('{0}|{1}|{2}|{3}', null, true, 1.50, 'x')"), "|true|1.5|x");
  assert.equal(run("format('{0} {1}', list, obj)", values), "Array Object");
  assert.equal(run("format('{0}', 0.1 == 0.1)"), "true");
  assert.equal(run("format('{0}', 123456789.123456789)"), "123456789.12345679");
  assert.equal(run("format('{0}', 1e21)"), "1e+21");
  assert.equal(run("format('{0}', -0)"), "0");
  assert.equal(run("format('{{literal}} {0}', 'x')"), "{literal} x");
  const e = evalError(() => run("format(t, 1)", { t: "{0" }));
  assert.match(e.message, /format\(\) failed: The following format string is invalid/);
  assert.match(e.hint!, /placeholders are \{0\}/);
});

Deno.test("toJSON() lays out like GitHub's: two spaces, empty containers on one line", () => {
  assert.equal(run("toJSON(obj)", values), '{\n  "one": 1,\n  "Two": 2\n}');
  assert.equal(run("toJSON(fromJSON('[[], {}, [1]]'))"), "[\n  [],\n  {},\n  [\n    1\n  ]\n]");
  assert.equal(run("toJSON('a\"b')"), '"a\\"b"');
  assert.equal(run("toJSON(null)"), "null");
});

Deno.test("toJSON() refuses values nested too deeply instead of overflowing the stack", () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const e = evalError(() => run("toJSON(c)", { c: circular }));
  assert.match(e.message, /nested more than 512 levels deep \(or contains itself\)/);
});

Deno.test("fromJSON() parses any JSON value; bad or empty text is an error at the call", () => {
  assert.deepEqual(run("fromJSON('[1, \"a\", null]')"), [1, "a", null]);
  assert.equal(run("fromJSON('true')"), true);
  assert.equal(run("fromJSON(' 42 ')"), 42);
  assert.match(evalError(() => run("fromJSON('')")).message, /needs JSON text, got an empty text/);
  assert.match(evalError(() => run("fromJSON('{a}')")).message, /could not parse its argument/);
});

Deno.test("length() counts characters, items and keys", () => {
  assert.equal(run("length(emoji)", values), 3);
  assert.equal(run("length(list)", values), 4);
  assert.equal(run("length(obj)", values), 2); // Two and two are one key, as on GitHub
  assert.equal(run("length(null)"), 0);
  assert.match(
    evalError(() => run("length(1)")).message,
    /needs a string, an array or an object, got number/,
  );
});

Deno.test("lower(), upper() and trim() change text; numbers and booleans are text first", () => {
  assert.equal(run("lower(text)", values), "  mixed case  ");
  assert.equal(run("upper(text)", values), "  MIXED CASE  ");
  assert.equal(run("trim(text)", values), "Mixed Case");
  assert.equal(run("upper(true)"), "TRUE");
  assert.equal(run("trim(null)"), "");
  assert.match(
    evalError(() => run("upper(list)", values)).message,
    /upper\(\) needs text, got array/,
  );
});

Deno.test("keys() and values() of an object", () => {
  assert.deepEqual(run("keys(obj)", values), ["one", "Two"]);
  assert.deepEqual(run("values(obj)", values), [1, 2]);
  assert.deepEqual(run("keys(null)"), []);
  assert.match(
    evalError(() => run("keys(list)", values)).message,
    /keys\(\) needs an object, got array/,
  );
});

Deno.test("min(), max(), sum() and round() of numbers", () => {
  assert.equal(run("min(nums)", values), 1);
  assert.equal(run("max(3, 7, 5)"), 7);
  assert.equal(run("sum(nums)", values), 6);
  assert.equal(run("max(fromJSON('[]'))"), null);
  assert.equal(run("round(2.5)"), 3);
  assert.equal(run("round(-2.5)"), -3);
  assert.equal(run("round(1.005, 2)"), 1.01);
  assert.match(
    evalError(() => run("sum(list)", values)).message,
    /sum\(\) works on numbers, got string/,
  );
  assert.match(evalError(() => run("round(1, 16)")).message, /0 to 15/);
});

Deno.test("the function lists name GitHub's, Orchestra's and the status functions", () => {
  assert.deepEqual([...GITHUB_FUNCTIONS], [
    "contains",
    "startsWith",
    "endsWith",
    "format",
    "join",
    "toJSON",
    "fromJSON",
    "case",
  ]);
  for (const f of [...GITHUB_FUNCTIONS, ...STATUS_FUNCTIONS, "length", "round"]) {
    assert.ok(KNOWN_FUNCTIONS.includes(f), f);
  }
  assert.equal(signatureOf("toJson"), "toJSON(value)");
  assert.equal(signatureOf("nope"), "nope(…)");
});

import assert from "node:assert/strict";
import {
  ExpressionSyntaxError,
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING,
  parseExpression,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { show, syntaxError } from "./_helpers.ts";

function tree(source: string): string {
  return show(parseExpression(source));
}

Deno.test("parseExpression() applies the usual precedence and left associativity", () => {
  const cases: [string, string][] = [
    ["1 + 2 * 3", "(1 + (2 * 3))"],
    ["1 * 2 + 3", "((1 * 2) + 3)"],
    ["1 - 2 - 3", "((1 - 2) - 3)"],
    ["6 / 3 % 2", "((6 / 3) % 2)"],
    ["(1 + 2) * 3", "((1 + 2) * 3)"],
    ["a + b < c - d", "((a + b) < (c - d))"],
    ["1 < 2 == true", "((1 < 2) == true)"],
    ["a == b && c != d", "((a == b) && (c != d))"],
    ["a || b && c", "(a || (b && c))"],
    ["a && b || c && d", "((a && b) || (c && d))"],
    ["!a == b", "((!a) == b)"],
    ["!!x", "(!(!x))"],
    ["-a.b * 2", "((-a.b) * 2)"],
    ["- -1", "(-(-1))"],
    ["a <= b >= c", "((a <= b) >= c)"],
    ["a > 1 || a < 0", "((a > 1) || (a < 0))"],
  ];
  for (const [source, expected] of cases) assert.equal(tree(source), expected, source);
});

Deno.test("parseExpression() reads literals, arrays and objects", () => {
  assert.equal(tree("null"), "null");
  assert.equal(tree("true"), "true");
  assert.equal(tree("false"), "false");
  assert.equal(tree("0xff"), "255");
  assert.equal(tree("'it''s'"), '"it\'s"');
  assert.equal(tree('"a\\tb"'), '"a\\tb"');
  assert.equal(tree("[]"), "[]");
  assert.equal(tree("[1, [2, 'x'],]"), '[1 [2 "x"]]');
  assert.equal(tree("{}"), "{}");
  assert.equal(tree("{a: 1, 'b c': [2], \"d\": {e: null},}"), "{a: 1, b c: [2], d: {e: null}}");
  assert.equal(tree("{null: 1, true: 2}"), "{null: 1, true: 2}");
});

Deno.test("parseExpression() reads members, indexes and calls", () => {
  assert.equal(tree("tasks.extract.result"), "tasks.extract.result");
  assert.equal(tree("a['key'][0][i].b"), 'a["key"][0][i].b');
  assert.equal(tree("a.null.true"), "a.null.true");
  assert.equal(tree("tasks.my-task.result"), "tasks.my-task.result");
  assert.equal(tree("a.b - 1"), "(a.b - 1)");
  assert.equal(tree("a.b-1"), "a.b-1");
  assert.equal(tree("a-b"), "(a - b)");
  assert.equal(tree("f()"), "f()");
  assert.equal(tree("contains(a, format('{0}', b.c),)"), 'contains(a, format("{0}", b.c))');
  assert.equal(tree("fromJSON(x).rows[0]"), "fromJSON(x).rows[0]");
  assert.equal(tree("[1, 2][0]"), "[1 2][0]");
  assert.equal(tree("{a: 1}.a"), "{a: 1}.a");
});

Deno.test("parseExpression() records the offsets of every node, shifted by the offset", () => {
  const e = parseExpression(" a.b + f(x, 'y')", 10);
  assert.equal(e.kind, "binary");
  if (e.kind !== "binary") return;
  assert.deepEqual([e.start, e.end], [11, 26]);
  const { left, right } = e;
  assert.deepEqual([left.start, left.end], [11, 14]);
  if (left.kind !== "member" || right.kind !== "call") throw new Error("unexpected shape");
  assert.deepEqual([left.object.start, left.object.end, left.key.start, left.key.end], [
    11,
    12,
    13,
    14,
  ]);
  assert.deepEqual([right.start, right.nameEnd, right.end], [17, 18, 26]);
  assert.deepEqual(right.args.map((a) => [a.start, a.end]), [[19, 20], [22, 25]]);
  const obj = parseExpression("{k: -1}");
  if (obj.kind !== "object") throw new Error("unexpected shape");
  assert.deepEqual([obj.entries[0].start, obj.entries[0].end], [1, 2]);
  assert.deepEqual([obj.entries[0].value.start, obj.entries[0].value.end], [4, 6]);
  assert.deepEqual([obj.start, obj.end], [0, 7]);
});

Deno.test("parseExpression() reports every syntax error at its offset, with a hint", () => {
  const cases: [string, number, number, string, string?][] = [
    ["", 0, 0, "Empty expression", "${{ params.name }}"],
    ["   ", 0, 3, "Empty expression"],
    ["a +", 3, 0, 'Expected a value after "+", found the end of the expression'],
    ["a + * b", 4, 1, 'Expected a value after "+", found "*"'],
    [")", 0, 1, 'Expected a value, found ")"'],
    ["a = b", 2, 1, 'Unexpected character "="', "=="],
    ["a & b", 2, 1, 'Unexpected character "&"', "&&"],
    ["a | b", 2, 1, 'Unexpected character "|"', "||"],
    ["x ? 1 : 2", 2, 1, 'Unexpected character "?"', "condition && a || b"],
    ["${{ a }}", 0, 1, 'Unexpected character "$"', "do not nest"],
    ["'abc", 0, 4, "Unterminated string", "''"],
    ["a b", 2, 1, 'Unexpected name "b" after a complete expression', "operator"],
    ["a and b", 2, 3, 'Unexpected name "and" after a complete expression', '"&&"'],
    ["a or b", 2, 2, 'Unexpected name "or"', '"||"'],
    ["a 'x'", 2, 3, "Unexpected string 'x' after a complete expression"],
    ["a)", 1, 1, 'Unexpected ")" after a complete expression'],
    ["(a", 0, 1, 'Unclosed "("', 'add ")"'],
    ["(a b)", 3, 1, 'Unexpected name "b" in parentheses (expected ")")'],
    ["f(a, b", 1, 1, 'Unclosed "("'],
    ["f(a b)", 4, 1, 'Unexpected name "b" in the arguments of f() (expected "," or ")")'],
    ["f(,)", 2, 1, 'Expected a value after "(", found ","'],
    ["[1, 2", 0, 1, 'Unclosed "["'],
    ["[1 2]", 3, 1, 'Unexpected number 2 in the array (expected "," or "]")'],
    ["a[1", 1, 1, 'Unclosed "["'],
    ["a[1 2]", 4, 1, 'Unexpected number 2 in the index (expected "]")'],
    ["a[]", 2, 1, 'Expected a value after "[", found "]"'],
    ["{a: 1", 0, 1, 'Unclosed "{"'],
    ["{a: 1, a: 2}", 7, 1, 'Duplicate key "a" in the object', "once"],
    ["{1: 2}", 1, 1, "Expected a key in the object, found number 1", "quoted strings"],
    ["{a 1}", 3, 1, 'Unexpected number 1 after the key "a" (expected ":")'],
    ["{a: 1 b: 2}", 6, 1, 'Unexpected name "b" in the object (expected "," or "}")'],
    ["a.", 2, 0, 'Unexpected end of the expression after "." (expected a property name)'],
    ["a.1", 2, 1, 'Unexpected number 1 after "."'],
    ["a.'b'", 2, 3, "Unexpected string 'b' after \".\""],
    ["a.b(1)", 3, 1, "Only functions can be called", "by its name"],
    ["true(1)", 4, 1, "Only functions can be called"],
    ["1abc", 0, 4, 'Invalid number "1abc"', "0xff"],
  ];
  for (const [source, offset, length, message, hint] of cases) {
    const err = syntaxError(() => parseExpression(source));
    assert.equal(err.name, "ExpressionSyntaxError");
    assert.ok(err instanceof SyntaxError);
    assert.deepEqual([err.offset, err.length], [offset, length], `${source}: ${err.message}`);
    assert.ok(err.message.startsWith(message), `${source}: ${err.message}`);
    assert.ok(err.reason.startsWith(message), source);
    if (hint) {
      assert.ok(err.hint?.includes(hint), `${source}: hint ${err.hint}`);
      assert.ok(err.message.endsWith(`; ${err.hint}`), source);
    }
  }
});

Deno.test("parseExpression() shifts error offsets by the offset argument", () => {
  assert.equal(syntaxError(() => parseExpression("a +", 100)).offset, 103);
  assert.equal(syntaxError(() => parseExpression("(a", 7)).offset, 7);
  assert.equal(syntaxError(() => parseExpression("a @", 7)).offset, 9);
  assert.equal(syntaxError(() => parseExpression("'x", 7)).offset, 7);
});

Deno.test("parseExpression() rejects an expression longer than the limit", () => {
  const source = "1" + "+1".repeat(MAX_EXPRESSION_LENGTH);
  const err = syntaxError(() => parseExpression(source));
  assert.deepEqual([err.offset, err.length], [0, source.length]);
  assert.match(err.message, /characters long, more than the limit of 4096; compute the value/);
  parseExpression("'" + "x".repeat(MAX_EXPRESSION_LENGTH - 2) + "'");
});

Deno.test("parseExpression() rejects deep nesting with a syntax error, not a stack overflow", () => {
  const n = 1000;
  const deep = [
    "(".repeat(n) + "1" + ")".repeat(n),
    "[".repeat(n) + "]".repeat(n),
    "{a:".repeat(n) + "1" + "}".repeat(n),
    "f(".repeat(n) + ")".repeat(n),
    "!".repeat(n) + "x",
    "-".repeat(n) + "1",
    "a" + ".b".repeat(n),
    "a" + "[0]".repeat(n),
    "1" + "+1".repeat(n),
    "a" + " || a".repeat(300),
  ];
  for (const source of deep) {
    const err = syntaxError(() => parseExpression(source));
    assert.match(err.message, /nested more than 128 levels deep/, source.slice(0, 20));
    assert.ok(err.offset >= 0 && err.offset + err.length <= source.length);
  }
  assert.equal(syntaxError(() => parseExpression("(".repeat(n) + "1")).offset, MAX_NESTING);
  parseExpression("(".repeat(MAX_NESTING) + "1" + ")".repeat(MAX_NESTING));
  parseExpression("1" + "+1".repeat(MAX_NESTING - 1));
});

Deno.test("ExpressionSyntaxError carries reason, hint, offset and length", () => {
  const err = new ExpressionSyntaxError("Bad", 1, 2, { hint: "fix it" });
  assert.deepEqual([err.name, err.message, err.reason, err.hint, err.offset, err.length], [
    "ExpressionSyntaxError",
    "Bad; fix it",
    "Bad",
    "fix it",
    1,
    2,
  ]);
  assert.equal(new ExpressionSyntaxError("Bad", 0, 0).hint, undefined);
});

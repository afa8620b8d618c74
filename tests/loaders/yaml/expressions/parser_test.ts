import assert from "node:assert/strict";
import {
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING,
  parseExpression,
  spanOf,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { run, syntaxError } from "./_helpers.ts";

/** The located message of the syntax error `source` gives: `offset+length: message`. */
function failure(source: string, offset = 0): string {
  const e = syntaxError(() => parseExpression(source, offset));
  return `${e.offset}+${e.length}: ${e.reason}`;
}

Deno.test("parseExpression() gives the tree, its tokens and their offsets in the caller's text", () => {
  const expr = parseExpression("params.x == 'a'", 10);
  assert.equal(expr.source, "params.x == 'a'");
  assert.equal(expr.offset, 10);
  assert.deepEqual(expr.tokens.map((t) => t.lexeme), ["params", ".", "x", "==", "'a'", ""]);
  assert.deepEqual(expr.tokens.map((t) => expr.tokenStarts.get(t)), [10, 16, 17, 19, 22, 25]);
  assert.deepEqual(spanOf(expr, expr.tree), { start: 10, end: 25 });
});

Deno.test("offsets count line breaks and tabs, and strings with line breaks in them", () => {
  const source = "a &&\n\t'x\ny' == \n b";
  const expr = parseExpression(source);
  const at = (lexeme: string) =>
    expr.tokenStarts.get(expr.tokens.find((t) => t.lexeme === lexeme)!);
  assert.equal(at("b"), source.indexOf("b"));
  assert.equal(at("'x\ny'"), source.indexOf("'"));
  assert.equal(at("=="), source.indexOf("=="));
});

Deno.test("an empty expression is an error, as on GitHub", () => {
  for (const source of ["", " ", "\n\t "]) {
    const e = syntaxError(() => parseExpression(source, 3));
    assert.equal(e.reason, "An expression was expected");
    assert.equal(e.offset, 3);
    assert.match(e.hint!, /write a value between/);
  }
});

Deno.test("syntax other languages have is refused with the GitHub way to write it", () => {
  const cases: [string, RegExp][] = [
    ["a + 1", /no arithmetic/],
    ["a - 1", /no arithmetic/],
    ["a -1", /no arithmetic/],
    ["a * 2", /no arithmetic/],
    ["a / 2", /no arithmetic/],
    ["a % 2", /no arithmetic/],
    ['"text"', /single quotes/],
    ["[1, 2]", /fromJSON\('\[1, 2\]'\)/],
    ["{a: 1}", /fromJSON/],
    ["a = 1", /"=="/],
    ["a & b", /"&&"/],
    ["a | b", /"\|\|"/],
    ["a and b", /"&&"/],
    ["a ? b : c", /case\(condition, a, b\)/],
    ["$a", /without "\$"/],
    ["1a", /write numbers as/],
  ];
  for (const [source, hint] of cases) {
    const e = syntaxError(() => parseExpression(source, 0, { contexts: ["a", "b", "c"] }));
    assert.match(e.hint ?? "", hint, `${source}: ${e.message}`);
  }
});

Deno.test("syntax errors point at what is wrong", () => {
  assert.equal(failure("a + 1", 5), '7+1: Unexpected "+"');
  assert.equal(failure("'it''s"), "0+6: Unterminated string");
  assert.equal(failure("a.1"), "2+1: Unexpected number 1");
  assert.equal(failure("foo.b@r"), '4+3: Unexpected "b@r"');
  assert.equal(failure("a ==", 3), '7+0: Unexpected end of the expression after "=="');
  assert.equal(failure("(a == b"), '0+1: Unclosed "("');
  assert.equal(failure("a[0"), '1+1: Unclosed "["');
  assert.equal(failure("f(a, b"), '1+1: Unclosed "("');
  assert.equal(failure(")"), '0+1: Unexpected ")"');
  assert.equal(failure("a b"), '2+1: Unexpected name "b"');
  assert.equal(failure("'a' 'b'"), "4+3: Unexpected string \"'b'\"");
});

Deno.test("unknown functions and wrong numbers of arguments are syntax errors, as on GitHub", () => {
  const unknown = syntaxError(() => parseExpression("contain(a, 'x')"));
  assert.equal(unknown.reason, 'Unknown function "contain" (did you mean "contains"?)');
  assert.equal(unknown.offset, 0);
  assert.match(unknown.hint!, /^available functions: contains, startsWith/);
  assert.equal(failure("join()"), "0+4: join() takes 1 or 2 arguments, got 0");
  assert.equal(failure("join(a, 'x', b)"), "0+4: join() takes 1 or 2 arguments, got 3");
  assert.equal(failure("contains(join(a, b))"), "0+8: contains() takes 2 arguments, got 1");
  assert.equal(failure("success(1)"), "0+7: success() takes no arguments, got 1");
  const even = syntaxError(() => parseExpression("case(true, 'a', false, 'b')"));
  assert.match(even.reason, /^case\(\) takes an odd number of arguments/);
  assert.equal(
    syntaxError(() => parseExpression("join()")).hint,
    "call it as join(array, separator)",
  );
});

Deno.test("function names are case-insensitive", () => {
  assert.equal(run("TOJSON('a')"), '"a"');
  assert.equal(run("startswith('Hello', 'HE')"), true);
  assert.equal(run("Length('abc')"), 3);
});

Deno.test("a literal format() template is checked when parsed, as GitHub checks it", () => {
  assert.match(
    failure("format('{0', 1)"),
    /^7\+4: Invalid format string "\{0": "\{" at 0 is not closed$/,
  );
  assert.match(failure("format('a}', 1)"), /Invalid format string "a\}"/);
  assert.match(failure("format('{x}', 1)"), /"\{x\}" at 0 is not a placeholder/);
  assert.equal(
    failure("format('{0}{1}', 'a')"),
    "7+8: Format string references {1} but only 1 argument(s) provided",
  );
  // Escaped braces are fine; a template that is not a literal is checked when it runs.
  assert.equal(run("format('{{0}} {0}', 'x')"), "{0} x");
  assert.equal(run("format(t, 'x')", { t: "<{0}>" }), "<x>");
});

Deno.test("doubled quotes are quotes, all of them", () => {
  // @actions/expressions turns only the first '' into ' (its lexer uses String.replace).
  assert.equal(run("'it''s Bob''s'"), "it's Bob's");
  assert.equal(run("''''''"), "''");
  assert.equal(run("'a''''b'"), "a''b");
});

Deno.test("GitHub's number literals", () => {
  assert.equal(run("0xff"), 255);
  assert.equal(run("0o10"), 8);
  assert.equal(run("0b101"), 5);
  assert.equal(run("1.2e-2"), 0.012);
  assert.equal(run(".5"), 0.5);
  assert.equal(run("-.5"), -0.5);
  assert.equal(run("+12"), 12);
  assert.ok(Number.isNaN(run("NaN") as number));
  assert.equal(run("-Infinity"), -Infinity);
  // After a dot they are names: `foo.NaN` reads the member NaN.
  assert.equal(run("foo.NaN", { foo: { NaN: 1 } }), 1);
});

Deno.test("expressions are limited in depth and length, as on GitHub", () => {
  assert.equal(MAX_NESTING, 50);
  assert.equal(MAX_EXPRESSION_LENGTH, 21000);
  const deep = (n: number) => "(".repeat(n) + "1" + ")".repeat(n);
  assert.equal(run(deep(MAX_NESTING - 2)), 1);
  const tooDeep = syntaxError(() => parseExpression(deep(MAX_NESTING + 5)));
  assert.match(tooDeep.reason, /nested more than 50 levels/);
  const long = "'" + "a".repeat(MAX_EXPRESSION_LENGTH) + "'";
  const tooLong = syntaxError(() => parseExpression(long, 4));
  assert.match(
    tooLong.reason,
    /^Expression is 21002 characters long, more than the limit of 21000$/,
  );
  assert.equal(tooLong.offset, 4);
});

Deno.test("names are left for the checks unless the caller says which exist", () => {
  assert.equal(parseExpression("whatever.x").source, "whatever.x");
  const e = syntaxError(() => parseExpression("whatever.x", 0, { contexts: ["params"] }));
  assert.equal(e.reason, 'Unknown name "whatever"');
});

Deno.test("functions the caller names are accepted with any number of arguments", () => {
  assert.equal(run("custom(1, 2, 3)", {}, { custom: (...a: unknown[]) => a.length }), 3);
  assert.match(syntaxError(() => parseExpression("custom()")).reason, /Unknown function "custom"/);
});

import assert from "node:assert/strict";
import { Lexer, tokenize } from "../../../../src/loaders/yaml/expressions/lexer.ts";
import { ExpressionSyntaxError } from "../../../../src/loaders/yaml/expressions/errors.ts";
import { syntaxError } from "./_helpers.ts";

function values(source: string): unknown[] {
  return tokenize(source).slice(0, -1).map((t) => t.value);
}

Deno.test("tokenize() reads numbers in every form", () => {
  assert.deepEqual(values("0 42 1.5 2e3 1E-2 3e+1 0xff 0XFF"), [
    0,
    42,
    1.5,
    2000,
    0.01,
    30,
    255,
    255,
  ]);
});

Deno.test("tokenize() decodes single-quoted strings with '' as a quote", () => {
  assert.deepEqual(values("'' 'a' 'it''s' '''' 'a\\nb'"), ["", "a", "it's", "'", "a\\nb"]);
});

Deno.test("tokenize() decodes double-quoted strings with JSON escapes", () => {
  assert.deepEqual(values(String.raw`"a\"b" "\\ \/ \b\f\n\r\t" "\u00e9" "it's"`), [
    'a"b',
    "\\ / \b\f\n\r\t",
    "é",
    "it's",
  ]);
});

Deno.test("tokenize() reads two-character operators before one-character ones", () => {
  assert.deepEqual(values("a==b!=c<=d>=e&&f||!g<h>i"), [
    "a",
    "==",
    "b",
    "!=",
    "c",
    "<=",
    "d",
    ">=",
    "e",
    "&&",
    "f",
    "||",
    "!",
    "g",
    "<",
    "h",
    ">",
    "i",
  ]);
});

Deno.test("tokenize() allows '-' inside a name only right after '.'", () => {
  assert.deepEqual(values("tasks.my-task.result"), ["tasks", ".", "my-task", ".", "result"]);
  assert.deepEqual(values("a-b"), ["a", "-", "b"]);
  assert.deepEqual(values("a.b - c"), ["a", ".", "b", "-", "c"]);
  assert.deepEqual(values("a. b-c"), ["a", ".", "b-c"]);
  assert.deepEqual(values("a.b-"), ["a", ".", "b", "-"]);
});

Deno.test("tokenize() gives offsets shifted by the offset argument, ending with eof", () => {
  const tokens = tokenize(" ab + 'x'", 10);
  assert.deepEqual(tokens.map((t) => [t.kind, t.start, t.end]), [
    ["name", 11, 13],
    ["punct", 14, 15],
    ["string", 16, 19],
    ["eof", 19, 19],
  ]);
});

Deno.test("Lexer keeps returning eof at the end", () => {
  const lexer = new Lexer("x");
  lexer.next();
  assert.equal(lexer.next().kind, "eof");
  assert.equal(lexer.next().kind, "eof");
});

Deno.test("tokenize() reports bad characters, numbers and strings at their offsets", () => {
  const cases: [string, number, number, string][] = [
    ["a = b", 2, 1, 'Unexpected character "="; use "==" to compare values'],
    ["a @", 2, 1, 'Unexpected character "@"'],
    ["a 😀", 2, 2, 'Unexpected character "😀"'],
    ["1abc", 0, 4, 'Invalid number "1abc"'],
    ["0x", 0, 2, 'Invalid number "0x"'],
    ["0xfg", 0, 4, 'Invalid number "0xfg"'],
    ["1e", 0, 2, 'Invalid number "1e"'],
    ["1.", 0, 2, 'Invalid number "1."'],
    ["1.2.3", 0, 5, 'Invalid number "1.2.3"'],
    ["1e999", 0, 5, "Number 1e999 is too large"],
    ["x 'abc", 2, 4, "Unterminated string"],
    ['x "abc', 2, 4, "Unterminated string"],
    ['"a\\qb"', 2, 2, 'Invalid escape "\\q" in a string'],
    ['"\\u12"', 1, 2, 'Invalid escape "\\u" in a string'],
  ];
  for (const [source, offset, length, message] of cases) {
    const err = syntaxError(() => tokenize(source));
    assert.ok(err instanceof ExpressionSyntaxError);
    assert.deepEqual([err.offset, err.length], [offset, length], source);
    assert.ok(err.message.startsWith(message), `${source}: ${err.message}`);
  }
});

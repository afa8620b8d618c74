// Property tests: whatever text or tree comes in, the parser throws only ExpressionSyntaxError
// (with an offset inside the text) and evaluation throws only ExpressionError.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BUILTIN_FUNCTIONS,
  type EvalContext,
  evaluate,
  type Expr,
  ExpressionError,
  ExpressionSyntaxError,
  parseExpression,
  parseTemplate,
  renderTemplate,
  shellQuote,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { deepFreeze, show } from "./_helpers.ts";

// Either parses or throws an ExpressionSyntaxError located inside the text.
function parsesOrFailsWell<T>(text: string, parse: (text: string) => T): T | undefined {
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof ExpressionSyntaxError)) throw e;
    assert.ok(e.offset >= 0 && e.offset <= text.length, `offset ${e.offset} in ${text.length}`);
    assert.ok(e.length >= 0 && e.offset + e.length <= text.length, `length ${e.length}`);
    return undefined;
  }
}

// Either gives a value (never undefined) or throws an ExpressionError.
function evaluatesOrFailsWell(f: () => unknown): void {
  try {
    assert.notEqual(f(), undefined);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    assert.ok(Number.isInteger(e.offset) && e.length >= 0);
  }
}

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

const WEIRD: unknown[] = [
  () => 1,
  new Date(0),
  new Map([["a", 1]]),
  NaN,
  Infinity,
  undefined,
  10n,
  Symbol("s"),
  circular,
  Object.assign(Object.create(null), { a: 1, constructor: 2 }),
  {
    get boom() {
      throw new Error("a getter ran");
    },
  },
  JSON.parse('{"__proto__": {"polluted": 1}, "a": [1, {"b": null}]}'),
];

const value = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(...WEIRD) },
);

const NAMES = ["a", "b", "params", "tasks", "missing"];

const context: fc.Arbitrary<EvalContext> = fc.dictionary(fc.constantFrom(...NAMES), value, {
  maxKeys: 4,
}).map((values) =>
  deepFreeze({
    values,
    functions: {
      custom: (...args: unknown[]) => args.length,
      boom: () => {
        throw new TypeError("boom");
      },
      nothing: () => undefined,
      success: () => true,
    },
  })
);

const FIXED: EvalContext = deepFreeze({
  values: {
    a: 1,
    b: "text",
    params: { tags: ["x", 1, null], obj: { k: [true] }, f: () => 1, n: NaN },
    tasks: { "x-y": { result: circular } },
  },
  functions: { custom: () => 1, success: () => true },
});

const CHARS = [..."${}'\"\\ab1_ .,:()[]!=&|<>+-*/%\n\t?#@`~0xe", "é", "😀", "\u2028", "\0"];
const TOKENS = [
  "a",
  "b",
  "params",
  "tasks",
  "x-y",
  "null",
  "true",
  "false",
  "and",
  "f",
  "n",
  "obj",
  "tags",
  "0",
  "1",
  "1.5",
  "2e3",
  "0xff",
  "1e999",
  "1.",
  "0x",
  "'a'",
  "'it''s'",
  "''",
  '"b\\n"',
  '"\\q"',
  "'",
  '"',
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  ".",
  "!",
  "-",
  "+",
  "*",
  "/",
  "%",
  "<",
  "<=",
  ">",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "=",
  "&",
  "|",
  "?",
  "$",
  "${{",
  "}}",
  "contains",
  "format",
  "length",
  "toJSON",
  "fromJSON",
  "join",
  "keys",
  "min",
  "round",
  "success",
  "custom",
  "nope",
  "'{0}'",
  "'{'",
];

// Tokens that are all valid on their own, so that more soups parse.
const VALID = TOKENS.filter((t) =>
  !/^(and|1e999|1\.|0x|'|"|=|&|\||\?|\$|\$\{\{|\}\}|"\\q")$/.test(t)
);

function soupOf(tokens: string[]): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fc.constantFrom(...tokens), fc.boolean()), { maxLength: 24 }).map(
    (parts) => parts.map(([t, space]) => (space ? t + " " : t)).join(""),
  );
}

function at<T extends object>(node: T): T & { start: number; end: number } {
  return { ...node, start: 0, end: 0 };
}

const KEYS = ["a", "b-c", "null", "x1", "__proto__", "constructor", "length"];
const FUNCTIONS = [...BUILTIN_FUNCTIONS, "custom", "boom", "nothing", "success", "nope"];
const OPERATORS = ["*", "/", "%", "+", "-", "<", "<=", ">", ">=", "==", "!=", "&&", "||"] as const;

const { expr: exprArb } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(
      fc.constantFrom(null, true, false, 0, 1, 2.5, 1e300, "", "a", "{0}", "[1]", '{"a":1}'),
      fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 6 }),
    ).map((value) => at({ kind: "literal" as const, value })),
    fc.constantFrom(...NAMES).map((name) => at({ kind: "name" as const, name })),
    fc.array(tie("expr"), { maxLength: 3 }).map((items) => at({ kind: "array" as const, items })),
    fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie("expr")), {
      maxLength: 3,
      selector: ([k]) => k,
    }).map((pairs) =>
      at({
        kind: "object" as const,
        entries: pairs.map(([key, value]) => at({ key, value })),
      })
    ),
    fc.tuple(tie("expr"), fc.constantFrom(...KEYS)).map(([object, key]) =>
      at({
        kind: "member" as const,
        object,
        key: at({ kind: "literal" as const, value: key }),
        computed: false,
      })
    ),
    fc.tuple(tie("expr"), tie("expr")).map(([object, key]) =>
      at({ kind: "member" as const, object, key, computed: true })
    ),
    fc.tuple(fc.constantFrom(...FUNCTIONS), fc.array(tie("expr"), { maxLength: 3 })).map((
      [name, args],
    ) => at({ kind: "call" as const, name, nameEnd: 0, args })),
    fc.tuple(fc.constantFrom("!" as const, "-" as const), tie("expr")).map(([operator, operand]) =>
      at({ kind: "unary" as const, operator, operand })
    ),
    fc.tuple(fc.constantFrom(...OPERATORS), tie("expr"), tie("expr")).map((
      [operator, left, right],
    ) => at({ kind: "binary" as const, operator, left, right })),
  ),
}));

// Source text for a tree, fully parenthesised, so that parsing it must give the tree back.
function print(e: Expr): string {
  switch (e.kind) {
    case "literal":
      return JSON.stringify(e.value);
    case "name":
      return e.name;
    case "array":
      return `[${e.items.map(print).join(", ")}]`;
    case "object":
      return `{${e.entries.map((x) => `${JSON.stringify(x.key)}: ${print(x.value)}`).join(", ")}}`;
    case "member":
      return e.computed
        ? `(${print(e.object)})[${print(e.key)}]`
        : `(${print(e.object)}).${(e.key as { value: string }).value}`;
    case "call":
      return `${e.name}(${e.args.map(print).join(", ")})`;
    case "unary":
      return `${e.operator}(${print(e.operand)})`;
    case "binary":
      return `(${print(e.left)}) ${e.operator} (${print(e.right)})`;
  }
}

Deno.test("parseTemplate() on any text either parses or throws a located syntax error", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 60 }),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.string({ maxLength: 40 }).map((s) => `x \${{ ${s} }} y`),
      ),
      (text) => {
        const t = parsesOrFailsWell(text, parseTemplate);
        if (t === undefined) return;
        assert.equal(t.text, text);
        evaluatesOrFailsWell(() => renderTemplate(t, FIXED));
        evaluatesOrFailsWell(() => renderTemplate(t, FIXED, { quote: shellQuote }));
      },
    ),
    { numRuns: 1500 },
  );
});

// Printed trees with a few characters replaced, inserted or removed: nearly valid text.
const mutated = fc.tuple(
  exprArb,
  fc.array(fc.tuple(fc.nat(), fc.constantFrom(...CHARS, ""), fc.boolean()), { maxLength: 3 }),
).map(([expr, edits]) => {
  let text = print(expr);
  for (const [at, ch, replace] of edits) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + ch + text.slice(replace ? i + 1 : i);
  }
  return text;
});

Deno.test("token soups parse or fail with a located syntax error, and evaluate safely", () => {
  const source = fc.oneof(soupOf(TOKENS), soupOf(VALID), mutated);
  fc.assert(
    fc.property(source, fc.nat(1000), (source, offset) => {
      const expr = parsesOrFailsWell(source, parseExpression);
      if (expr !== undefined) {
        evaluatesOrFailsWell(() => evaluate(expr, FIXED));
        const shifted = parseExpression(source, offset);
        assert.equal(shifted.start, expr.start + offset);
      }
      const text = `run \${{ ${source} }} done`;
      const t = parsesOrFailsWell(text, parseTemplate);
      if (t !== undefined) evaluatesOrFailsWell(() => renderTemplate(t, FIXED));
    }),
    { numRuns: 1500 },
  );
});

Deno.test("evaluate() on random trees and contexts throws only ExpressionError", () => {
  fc.assert(
    fc.property(exprArb, context, (expr, ctx) => {
      evaluatesOrFailsWell(() => evaluate(expr, ctx));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseExpression() reads back any printed tree", () => {
  fc.assert(
    fc.property(exprArb, (expr) => {
      assert.equal(show(parseExpression(print(expr))), show(expr));
    }),
    { numRuns: 1000 },
  );
});

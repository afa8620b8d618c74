// Property tests: whatever text or context comes in, parsing throws only ExpressionSyntaxError
// (located inside the text) and evaluation throws only ExpressionError (located inside the
// expression) — never a stack overflow, a TypeError of the library, or a getter run.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type EvalContext,
  evaluate,
  ExpressionError,
  ExpressionSyntaxError,
  parseExpression,
  parseTemplate,
  references,
  renderTemplate,
  shellQuote,
  spanOf,
  walk,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { deepFreeze } from "./_helpers.ts";

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

function evaluatesOrFailsWell(f: () => unknown, length: number): void {
  try {
    assert.notEqual(f(), undefined);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.length >= 0, e.message);
    assert.ok(
      e.offset + e.length <= length,
      `${e.message} at ${e.offset}+${e.length} of ${length}`,
    );
  }
}

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
let getterRan = false;

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
      getterRan = true;
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
      weird: () => new Date(0),
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
  "NaN",
  "Infinity",
  "f",
  "n",
  "obj",
  "tags",
  "0",
  "1",
  "-1.5",
  "2e3",
  "0xff",
  "1e999",
  "'a'",
  "'it''s'",
  "''",
  "'{0}'",
  "'{'",
  "'[1, {\"a\": 2}]'",
  "(",
  ")",
  "[",
  "]",
  "*",
  ",",
  ".",
  "!",
  "<",
  "<=",
  ">",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "contains",
  "startsWith",
  "format",
  "join",
  "toJSON",
  "fromJSON",
  "case",
  "length",
  "keys",
  "min",
  "round",
  "success",
  "custom",
  "boom",
  "nothing",
  "weird",
];

function soup(): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fc.constantFrom(...TOKENS), fc.boolean()), { maxLength: 24 }).map(
    (parts) => parts.map(([t, space]) => (space ? t + " " : t)).join(""),
  );
}

const FUNCTIONS = ["custom", "boom", "nothing", "weird"];

Deno.test("parseTemplate() on any text either parses or throws a located syntax error", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 60 }),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.string({ maxLength: 40 }).map((s) => `x \${{ ${s} }} y`),
      ),
      (text) => {
        const t = parsesOrFailsWell(text, (s) => parseTemplate(s, { functions: FUNCTIONS }));
        if (t === undefined) return;
        assert.equal(t.text, text);
        evaluatesOrFailsWell(() => renderTemplate(t, FIXED), text.length);
        evaluatesOrFailsWell(() => renderTemplate(t, FIXED, { quote: shellQuote }), text.length);
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("token soups parse or fail located, evaluate safely, and every span is in the text", () => {
  fc.assert(
    fc.property(soup(), fc.nat(1000), context, (source, offset, ctx) => {
      const expr = parsesOrFailsWell(
        source,
        (s) => parseExpression(s, 0, { functions: FUNCTIONS }),
      );
      if (expr === undefined) return;
      evaluatesOrFailsWell(() => evaluate(expr, FIXED), source.length);
      evaluatesOrFailsWell(() => evaluate(expr, ctx), source.length);
      const shifted = parseExpression(source, offset, { functions: FUNCTIONS });
      walk(shifted.tree, (node) => {
        const span = spanOf(shifted, node);
        assert.ok(
          span.start >= offset && span.end <= offset + source.length && span.start <= span.end,
        );
      });
      for (const ref of references(shifted)) {
        assert.equal(source.slice(ref.start - offset).slice(0, ref.root.length), ref.root);
      }
    }),
    { numRuns: 2000 },
  );
  assert.equal(getterRan, false);
});

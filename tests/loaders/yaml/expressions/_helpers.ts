// Shared helpers of the expression tests (private: not a test file).
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import { kindStr } from "@actions/expressions/data/expressiondata";
import { truthy } from "@actions/expressions/result";
import {
  type EvalContext,
  evaluate,
  ExpressionError,
  ExpressionSyntaxError,
  parseExpression,
} from "../../../../src/loaders/yaml/expressions/mod.ts";

/** Parses and evaluates `source` with these root values and functions. */
export function run(
  source: string,
  values: Record<string, unknown> = {},
  functions?: EvalContext["functions"],
): unknown {
  const expr = parseExpression(source, 0, { functions: Object.keys(functions ?? {}) });
  return evaluate(expr, functions ? { values, functions } : { values });
}

/** The ExpressionSyntaxError that `f` throws (fails if it throws nothing or something else). */
export function syntaxError(f: () => unknown): ExpressionSyntaxError {
  try {
    f();
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) return e;
    throw e;
  }
  throw new Error("Expected an ExpressionSyntaxError, but nothing was thrown");
}

/** The ExpressionError that `f` throws (fails if it throws nothing or something else). */
export function evalError(f: () => unknown): ExpressionError {
  try {
    f();
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error("Expected an ExpressionError, but nothing was thrown");
}

/** What GitHub's evaluator says about an expression: a value (as JSON, with its kind) or an error. */
export type GitHubResult =
  | {
    kind: "Null" | "Boolean" | "Number" | "String" | "Array" | "Object";
    value: unknown;
    text: string;
    truthy: boolean;
  }
  | { error: "syntax" | "evaluation"; message: string };

/**
 * `expr` evaluated by `@actions/expressions` itself, over contexts given as JSON, exactly as its
 * own cross-implementation tests do: the oracle of the differential tests.
 */
export function github(expr: string, contexts: Record<string, unknown>): GitHubResult {
  const dict = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  let tree;
  try {
    const tokens = new Lexer(expr).lex().tokens;
    tree = new Parser(tokens, dict.pairs().map((p) => p.key), []).parse();
  } catch (e) {
    return { error: "syntax", message: (e as Error).message };
  }
  if (tree === undefined) return { error: "syntax", message: "empty" };
  try {
    const r = new Evaluator(tree, dict).evaluate();
    return {
      kind: kindStr(r.kind) as "Null",
      value: JSON.parse(JSON.stringify(r, data.replacer) ?? "null"),
      text: r.coerceString(),
      truthy: truthy(r),
    };
  } catch (e) {
    return { error: "evaluation", message: (e as Error).message };
  }
}

/** The kind GitHub gives a plain value. */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "Null";
  if (Array.isArray(v)) return "Array";
  switch (typeof v) {
    case "boolean":
      return "Boolean";
    case "number":
      return "Number";
    case "string":
      return "String";
  }
  return "Object";
}

/** Deep-freezes a value so that any mutation throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      const desc = Object.getOwnPropertyDescriptor(value, key);
      if (desc && "value" in desc) deepFreeze(desc.value);
    }
  }
  return value;
}

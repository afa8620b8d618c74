// Shared helpers of the expression tests (private: not a test file).
import {
  type EvalContext,
  evaluate,
  type Expr,
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
  return evaluate(parseExpression(source), functions ? { values, functions } : { values });
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

/** A compact, fully parenthesised rendering of a tree, to assert its shape. */
export function show(e: Expr): string {
  switch (e.kind) {
    case "literal":
      return JSON.stringify(e.value);
    case "name":
      return e.name;
    case "array":
      return `[${e.items.map(show).join(" ")}]`;
    case "object":
      return `{${e.entries.map((x) => `${x.key}: ${show(x.value)}`).join(", ")}}`;
    case "member":
      return e.computed
        ? `${show(e.object)}[${show(e.key)}]`
        : `${show(e.object)}.${e.key.kind === "literal" ? e.key.value : "?"}`;
    case "call":
      return `${e.name}(${e.args.map(show).join(", ")})`;
    case "unary":
      return `(${e.operator}${show(e.operand)})`;
    case "binary":
      return `(${show(e.left)} ${e.operator} ${show(e.right)})`;
  }
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

/**
 * Evaluates a parsed expression with GitHub's own evaluator (`@actions/expressions`), over the
 * values of a flow. No JavaScript is evaluated: the only code that runs is the library, the
 * functions of `functions.ts` and the functions the caller passes in the context.
 *
 * What is ours: the context (names and members are read case-insensitively and lazily from
 * plain values, see `values.ts`), errors located at the part of the expression that failed,
 * and the conversion of the result back to a plain value.
 *
 * @module
 */

import { Evaluator } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";
import {
  type ContextAccess,
  type Expr,
  type FunctionCall,
  type IndexAccess,
  type Node,
  spanOf,
} from "./ast.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { ExpressionError } from "./errors.ts";
import { implementations } from "./functions.ts";
import { type Data, fromData, toData, typeName, ValueError } from "./values.ts";

/** What an expression can see. */
export interface EvalContext {
  /**
   * The names an expression may start with (`params`, `tasks`…) and their values, plain JSON.
   * Names and members are matched without regard to case. A name that is not here is an
   * `ExpressionError`.
   */
  values: Record<string, unknown>;
  /**
   * Extra functions, called with evaluated arguments as plain values; e.g. the status
   * functions `success()`, `failure()`, `always()`, `cancelled()`. A built-in function of the
   * same name wins. What they throw is wrapped in an `ExpressionError` (the original is its
   * `cause`). Their names must be known to the parser too (`parseExpression`'s `functions`),
   * unless they are the status functions.
   */
  functions?: Record<string, (...args: unknown[]) => unknown>;
}

const HINTS: [RegExp, string][] = [
  [/^case predicate/, "each condition of case() must be true or false, e.g. case(x == 'a', 1, 2)"],
  [/format string is invalid/, "placeholders are {0}, {1}…; write {{ and }} for literal braces"],
  [/format string references more arguments/, "pass one value after the template per placeholder"],
];

function located(e: unknown, expr: Expr, node: Node, what: string): ExpressionError {
  // The innermost failure already says where; the library wraps some errors in its own.
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if (c instanceof ExpressionError) return c;
  }
  const span = spanOf(expr, node);
  const message = e instanceof Error ? e.message : typeof e === "string" ? e : typeName(e);
  const hint = e instanceof ValueError ? e.hint : HINTS.find(([re]) => re.test(message))?.[1];
  const reason = e instanceof ValueError ? message : `${what}: ${message}`;
  return new ExpressionError(reason, span.start, span.end - span.start, { hint, cause: e });
}

class LocatedEvaluator extends Evaluator {
  #expr: Expr;
  #names: string[];

  constructor(expr: Expr, root: Data, names: string[], functions: Map<string, FunctionDefinition>) {
    super(expr.tree, root as never, functions);
    this.#expr = expr;
    this.#names = names;
  }

  override visitContextAccess(node: ContextAccess): Data {
    let value: Data | undefined;
    try {
      value = super.visitContextAccess(node);
    } catch (e) {
      throw located(e, this.#expr, node, `Cannot read "${node.name.lexeme}"`);
    }
    if (value !== undefined) return value;
    const name = node.name.lexeme;
    const span = spanOf(this.#expr, node);
    const names = this.#names;
    throw new ExpressionError(
      `Unknown name "${name}"${didYouMean(name, names)}`,
      span.start,
      span.end - span.start,
      names.length ? { hint: `expressions can use ${names.map((n) => `"${n}"`).join(", ")}` } : {},
    );
  }

  override visitIndexAccess(node: IndexAccess): Data {
    try {
      return super.visitIndexAccess(node);
    } catch (e) {
      throw located(e, this.#expr, node, "Cannot read the value");
    }
  }

  override visitFunctionCall(node: FunctionCall): Data {
    try {
      return super.visitFunctionCall(node);
    } catch (e) {
      throw located(e, this.#expr, node, `${node.functionName.lexeme}() failed`);
    }
  }
}

// The caller's functions, over plain values.
function wrap(name: string, f: (...args: unknown[]) => unknown): FunctionDefinition {
  return {
    name,
    minArgs: 0,
    maxArgs: Number.MAX_SAFE_INTEGER,
    call: (...args: Data[]) => {
      const result = Reflect.apply(f, undefined, args.map((a) => fromData(a)));
      return toData(result);
    },
  };
}

/**
 * The value of `expr` in `ctx`, as a plain value. Reading a missing member gives `null`;
 * members are only own data properties of plain objects and arrays. Inputs are never mutated;
 * arrays and objects from the context are returned as they are, not copied.
 *
 * @throws {ExpressionError} for an unknown name, a function given values it cannot use, a
 *   value that is not JSON, or a context function that threw.
 *
 * @example
 * ```ts
 * import { evaluate } from "./evaluate.ts";
 * import { parseExpression } from "./parser.ts";
 * const ctx = { values: { params: { Factor: 3, tags: ["a"] } } };
 * console.assert(evaluate(parseExpression("params.factor == '3'"), ctx) === true);
 * console.assert(evaluate(parseExpression("contains(PARAMS.tags, 'A')"), ctx) === true);
 * console.assert(evaluate(parseExpression("params.missing.deeper"), ctx) === null);
 * ```
 */
export function evaluate(expr: Expr, ctx: EvalContext): unknown {
  const functions = implementations();
  for (const [name, f] of Object.entries(ctx.functions ?? {})) {
    const lower = name.toLowerCase();
    if (typeof f === "function" && !functions.has(lower) && !BUILTIN.has(lower)) {
      functions.set(lower, wrap(lower, f));
    }
  }
  const names = Object.keys(ctx.values ?? {});
  const evaluator = new LocatedEvaluator(expr, toData(ctx.values ?? {}), names, functions);
  let result: Data;
  try {
    result = evaluator.evaluate();
  } catch (e) {
    throw located(e, expr, expr.tree, "Cannot evaluate the expression");
  }
  try {
    return fromData(result);
  } catch (e) {
    throw located(e, expr, expr.tree, "Cannot use the value");
  }
}

const BUILTIN = new Set([
  "case",
  "contains",
  "endswith",
  "format",
  "fromjson",
  "join",
  "startswith",
  "tojson",
]);

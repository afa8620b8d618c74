/**
 * Evaluates an {@linkcode Expr} against a context. No JavaScript is evaluated: the only code
 * that runs is the built-in functions and the functions the caller passes in the context.
 *
 * @module
 */

import type { BinaryExpr, Expr } from "./ast.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { ExpressionError } from "./errors.ts";
import { arityText, BUILTIN_FUNCTIONS, BUILTINS } from "./functions.ts";
import { MAX_NESTING } from "./parser.ts";
import { deepEqual, getMember, isTruthy, toText, typeName, ValueError } from "./values.ts";

/** What an expression can see. */
export interface EvalContext {
  /**
   * The names an expression may start with (`params`, `tasks`…) and their values. Only own
   * properties count: a name that is not here is an `ExpressionError`.
   */
  values: Record<string, unknown>;
  /**
   * Extra functions, called with evaluated arguments; e.g. the status functions `success()`,
   * `failure()`, `always()`, `cancelled()`. A built-in function of the same name wins. What
   * they throw is wrapped in an `ExpressionError` (the original is its `cause`).
   */
  functions?: Record<string, (...args: unknown[]) => unknown>;
}

function fail(expr: Expr, reason: string, hint?: string, cause?: unknown): ExpressionError {
  const options = hint === undefined && cause === undefined ? undefined : { hint, cause };
  return new ExpressionError(reason, expr.start, Math.max(0, expr.end - expr.start), options);
}

// Runs `f`, turning a ValueError into an ExpressionError located at `expr`.
function at<T>(expr: Expr, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ValueError) throw fail(expr, e.message, e.hint);
    throw e;
  }
}

function own(target: object | undefined, key: string): { value: unknown } | undefined {
  if (target === undefined || target === null) return undefined;
  const desc = Object.getOwnPropertyDescriptor(target, key);
  return desc !== undefined && "value" in desc ? { value: desc.value } : undefined;
}

function number(n: number, expr: BinaryExpr): number {
  if (!Number.isFinite(n)) {
    const why = expr.operator === "/" || expr.operator === "%" ? "division by zero" : "overflow";
    throw fail(expr, `"${expr.operator}" gave ${n} (${why}), which is no number`);
  }
  return n;
}

const VERBS: Record<string, string> = {
  "-": "subtract",
  "*": "multiply",
  "/": "divide",
  "%": "take the remainder of",
  "+": "add",
};

function arithmetic(expr: BinaryExpr, a: unknown, b: unknown): unknown {
  const op = expr.operator;
  if (op === "+" && (typeof a === "string" || typeof b === "string")) {
    return at(expr, () => toText(a) + toText(b));
  }
  if (typeof a !== "number" || typeof b !== "number") {
    throw fail(
      expr,
      `Cannot ${VERBS[op]} ${typeName(a)} and ${typeName(b)} with "${op}"`,
      op === "+"
        ? '"+" adds numbers, or joins text when either side is a string'
        : `"${op}" works on numbers only`,
    );
  }
  switch (op) {
    case "+":
      return number(a + b, expr);
    case "-":
      return number(a - b, expr);
    case "*":
      return number(a * b, expr);
    case "/":
      return number(a / b, expr);
    default:
      return number(a % b, expr);
  }
}

function compare(expr: BinaryExpr, a: unknown, b: unknown): boolean {
  const same = (typeof a === "number" && typeof b === "number") ||
    (typeof a === "string" && typeof b === "string");
  if (!same) {
    throw fail(
      expr,
      `Cannot compare ${typeName(a)} and ${typeName(b)} with "${expr.operator}"`,
      `"${expr.operator}" compares two numbers or two strings; use "==" for other values`,
    );
  }
  const [x, y] = [a as number | string, b as number | string];
  switch (expr.operator) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

class Evaluator {
  #ctx: EvalContext;
  #depth = 0;

  constructor(ctx: EvalContext) {
    this.#ctx = ctx;
  }

  eval(expr: Expr): unknown {
    // Parsed trees are already bounded; this guards trees built by hand.
    if (++this.#depth > MAX_NESTING * 4) {
      throw fail(expr, `Expression is nested more than ${MAX_NESTING * 4} levels deep`);
    }
    try {
      const value = this.#eval(expr);
      return value === undefined ? null : value;
    } finally {
      this.#depth--;
    }
  }

  #eval(expr: Expr): unknown {
    switch (expr.kind) {
      case "literal":
        return expr.value;
      case "array":
        return expr.items.map((item) => this.eval(item));
      case "object": {
        const out: Record<string, unknown> = {};
        for (const entry of expr.entries) {
          // defineProperty keeps a key such as "__proto__" an ordinary own property.
          Object.defineProperty(out, entry.key, {
            value: this.eval(entry.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
      case "name":
        return this.#name(expr);
      case "member": {
        const target = this.eval(expr.object);
        return getMember(target, this.eval(expr.key));
      }
      case "call":
        return this.#call(expr);
      case "unary": {
        const v = this.eval(expr.operand);
        if (expr.operator === "!") return !isTruthy(v);
        if (typeof v !== "number") {
          throw fail(expr, `Cannot negate ${typeName(v)} with "-"`, '"-" works on numbers only');
        }
        return -v;
      }
      case "binary":
        return this.#binary(expr);
    }
    const kind = (expr as { kind?: unknown }).kind;
    throw fail(expr, `Unknown expression node kind ${JSON.stringify(String(kind))}`);
  }

  #name(expr: Expr & { kind: "name" }): unknown {
    const found = own(this.#ctx.values, expr.name);
    if (found !== undefined) return found.value;
    const names = Object.keys(this.#ctx.values ?? {});
    throw fail(
      expr,
      `Unknown name "${expr.name}"${didYouMean(expr.name, names)}`,
      names.length ? `expressions can use ${names.map((n) => `"${n}"`).join(", ")}` : undefined,
    );
  }

  #binary(expr: BinaryExpr): unknown {
    const left = this.eval(expr.left);
    switch (expr.operator) {
      case "&&":
        return isTruthy(left) ? this.eval(expr.right) : left;
      case "||":
        return isTruthy(left) ? left : this.eval(expr.right);
    }
    const right = this.eval(expr.right);
    switch (expr.operator) {
      case "==":
        return at(expr, () => deepEqual(left, right));
      case "!=":
        return at(expr, () => !deepEqual(left, right));
      case "<":
      case "<=":
      case ">":
      case ">=":
        return compare(expr, left, right);
      case "+":
      case "-":
      case "*":
      case "/":
      case "%":
        return arithmetic(expr, left, right);
    }
    throw fail(expr, `Unknown operator ${JSON.stringify(String(expr.operator))}`);
  }

  #call(expr: Expr & { kind: "call" }): unknown {
    const name = expr.name;
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    const custom = builtin ? undefined : own(this.#ctx.functions, name)?.value;
    if (!builtin && typeof custom !== "function") {
      const fns = this.#ctx.functions ?? {};
      const extra = Object.keys(fns).filter((n) => typeof own(fns, n)?.value === "function");
      const names = [...BUILTIN_FUNCTIONS, ...extra];
      throw fail(
        expr,
        `Unknown function "${name}"${didYouMean(name, names)}`,
        `available functions: ${names.join(", ")}`,
      );
    }
    const args = expr.args.map((arg) => this.eval(arg));
    if (builtin) {
      if (args.length < builtin.min || args.length > builtin.max) {
        throw fail(
          expr,
          `${name}() takes ${arityText(builtin.min, builtin.max)}, got ${args.length}`,
          `call it as ${builtin.signature}`,
        );
      }
      return at(expr, () => builtin.call(args));
    }
    try {
      return Reflect.apply(custom as (...a: unknown[]) => unknown, undefined, args);
    } catch (e) {
      if (e instanceof ExpressionError) throw e;
      const why = e instanceof Error ? e.message : typeof e === "string" ? e : typeName(e);
      throw fail(expr, `${name}() failed: ${why}`, undefined, e);
    }
  }
}

/**
 * Evaluates `expr` in `ctx`. Reading a missing member gives `null`; members are only own data
 * properties of plain objects (string keys) and arrays (integer indexes), so `x.constructor`,
 * `x.__proto__` and `x.length` are `null`. Inputs are never mutated; arrays and objects from
 * the context are returned as they are, not copied.
 *
 * @throws {ExpressionError} for an unknown name or function, an operator or function given
 *   values of the wrong type, or a context function that threw.
 *
 * @example
 * ```ts
 * import { evaluate } from "./evaluate.ts";
 * import { parseExpression } from "./parser.ts";
 * const ctx = { values: { params: { factor: 3, tags: ["a"] } } };
 * console.assert(evaluate(parseExpression("params.factor * 2"), ctx) === 6);
 * console.assert(evaluate(parseExpression("contains(params.tags, 'a')"), ctx) === true);
 * console.assert(evaluate(parseExpression("params.missing.deeper"), ctx) === null);
 * ```
 */
export function evaluate(expr: Expr, ctx: EvalContext): unknown {
  return new Evaluator(ctx).eval(expr);
}

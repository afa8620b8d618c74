/**
 * Checks beyond GitHub's, in the spirit of actionlint: expressions GitHub accepts but that
 * cannot mean what their author meant, found before anything runs.
 *
 * - a comparison of a value whose type is known with a literal of another type, which GitHub's
 *   loose comparison turns into a comparison of numbers that is always false (a boolean param
 *   compared with `'true'`, a number param with `'abc'`, a list with a text);
 * - a condition whose value is fixed (`if: ${{ 'false' }}`, a non-empty text, is always true);
 * - a list or mapping put into text, which GitHub writes as `Array` or `Object`.
 *
 * @module
 */

import { data } from "@actions/expressions";
import { TokenType } from "@actions/expressions/lexer";
import { type Reference, references } from "./analyze.ts";
import {
  Binary,
  ContextAccess,
  type Expr,
  FunctionCall,
  Grouping,
  IndexAccess,
  Literal,
  Logical,
  type Node,
  spanOf,
  Star,
  Unary,
  walk,
} from "./ast.ts";
import { evaluate } from "./evaluate.ts";
import type { ExpressionIssue } from "./analyze.ts";
import { isTruthy } from "./values.ts";
import { STATUS_FUNCTIONS } from "./functions.ts";

const STATUS: readonly string[] = STATUS_FUNCTIONS;

/** A type an expression's value is known to have. */
export type StaticType = "null" | "boolean" | "number" | "string" | "array" | "object";

/**
 * The type of the value a reference reads, when it is known (a param declared `boolean`, the
 * text of an `env` value…), else `undefined`.
 */
export type TypeOf = (ref: Reference) => StaticType | undefined;

const RETURNS: Record<string, StaticType> = {
  contains: "boolean",
  startswith: "boolean",
  endswith: "boolean",
  format: "string",
  join: "string",
  tojson: "string",
  length: "number",
  lower: "string",
  upper: "string",
  trim: "string",
  keys: "array",
  values: "array",
  sum: "number",
  round: "number",
  success: "boolean",
  failure: "boolean",
  always: "boolean",
  cancelled: "boolean",
};

function literalType(node: Literal): StaticType {
  switch (node.literal.kind) {
    case data.Kind.Null:
      return "null";
    case data.Kind.Boolean:
      return "boolean";
    case data.Kind.Number:
      return "number";
    default:
      return "string";
  }
}

/** The reference a member chain or context name reads, if it reads one statically. */
function referenceOf(expr: Expr, node: Node): Reference | undefined {
  if (!(node instanceof ContextAccess) && !(node instanceof IndexAccess)) return undefined;
  const [ref] = references({ ...expr, tree: node });
  if (ref === undefined) return undefined;
  // `a[b]` reads `a` and then `b`: only a chain of literal keys is one value.
  let keys = 0;
  for (let n: Node = node; n instanceof IndexAccess; n = n.expr) {
    if (n.index instanceof Star) return { ...ref, filtered: true };
    if (!(n.index instanceof Literal)) return undefined;
    keys++;
  }
  return ref.path.length === keys ? ref : undefined;
}

/**
 * The type `node`'s value is known to have, or `undefined`.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { staticType } from "./lint.ts";
 * const expr = parseExpression("contains(a, 'x')");
 * console.assert(staticType(expr, expr.tree, () => undefined) === "boolean");
 * ```
 */
export function staticType(expr: Expr, node: Node, typeOf: TypeOf): StaticType | undefined {
  if (node instanceof Literal) return literalType(node);
  if (node instanceof Grouping) return staticType(expr, node.group, typeOf);
  if (node instanceof Unary || node instanceof Binary) return "boolean";
  if (node instanceof FunctionCall) return RETURNS[node.functionName.lexeme.toLowerCase()];
  if (node instanceof Logical) {
    const types = node.args.map((a) => staticType(expr, a, typeOf));
    return types.every((t) => t !== undefined && t === types[0]) ? types[0] : undefined;
  }
  const ref = referenceOf(expr, node);
  if (ref === undefined) return undefined;
  return ref.filtered ? "array" : typeOf(ref);
}

function text(expr: Expr, node: Node): string {
  const span = spanOf(expr, node);
  return expr.source.slice(span.start - expr.offset, span.end - expr.offset);
}

const EQUALITY = new Set([TokenType.EQUAL_EQUAL, TokenType.BANG_EQUAL]);

// Why comparing a value of type `known` with the literal `lit` is constant, if it is.
function mismatch(known: StaticType, lit: Literal): { why: string; hint: string } | undefined {
  const litType = literalType(lit);
  if (known === litType || litType === "null" || known === "null") return undefined;
  const value = lit.literal;
  const numeric = value.kind === data.Kind.String && !Number.isNaN(value.number());
  if (known === "array" || known === "object") {
    return {
      why: `${known === "array" ? "a list" : "an object"} equals nothing but itself`,
      hint: known === "array"
        ? `to test for an item, write contains(…, ${lit.token.lexeme})`
        : "compare one of its members",
    };
  }
  if (litType === "string" && numeric) return undefined;
  if (known === "boolean" && litType === "string") {
    const bare = value.coerceString().toLowerCase();
    return {
      why: `GitHub compares a boolean and a text as numbers, and ${lit.token.lexeme} is no number`,
      hint: bare === "true" || bare === "false"
        ? `compare with ${bare} (no quotes)`
        : "compare with true or false",
    };
  }
  if (known === "number" && litType === "string") {
    return {
      why: `GitHub compares a number and a text as numbers, and ${lit.token.lexeme} is no number`,
      hint: "compare with a number",
    };
  }
  if (known === "string" && litType === "boolean") {
    const word = value.coerceString();
    return {
      why: "GitHub compares a text and a boolean as numbers, and the text is then no number " +
        "unless it is one",
      hint: `compare with '${word}' (in quotes) if the text is "${word}"`,
    };
  }
  return undefined;
}

/**
 * Comparisons in `expr` of a value whose type `typeOf` knows with a literal of another type
 * that GitHub's loose comparison makes always false (or, with `!=`, always true).
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { comparisonIssues } from "./lint.ts";
 * const expr = parseExpression("params.dry == 'true'");
 * const [issue] = comparisonIssues(expr, () => "boolean");
 * console.assert(issue.message.startsWith("params.dry == 'true' is always false"));
 * ```
 */
export function comparisonIssues(expr: Expr, typeOf: TypeOf): ExpressionIssue[] {
  const issues: ExpressionIssue[] = [];
  walk(expr.tree, (n) => {
    if (!(n instanceof Binary)) return;
    const sides: [Node, Node][] = [[n.left, n.right], [n.right, n.left]];
    for (const [value, lit] of sides) {
      if (!(lit instanceof Literal) || value instanceof Literal) continue;
      const known = staticType(expr, value, typeOf);
      if (known === undefined) continue;
      const problem = mismatch(known, lit);
      if (!problem) continue;
      const op = n.operator.type;
      const always = op === TokenType.BANG_EQUAL ? "true" : "false";
      const described = EQUALITY.has(op) ? `is always ${always}` : "is always false";
      const span = spanOf(expr, n);
      issues.push({
        message: `${text(expr, n)} ${described}: ${text(expr, value)} is ${article(known)} ` +
          `and ${problem.why}`,
        start: span.start,
        end: span.end,
        hint: problem.hint,
      });
      break;
    }
  });
  return issues;
}

function article(t: StaticType): string {
  return t === "array"
    ? "a list"
    : t === "object"
    ? "an object"
    : `a ${t === "string" ? "text" : t}`;
}

/**
 * Whether `expr` reads no context and calls no function that depends on the run: its value is
 * the same every time.
 */
export function isConstant(expr: Expr): boolean {
  let constant = true;
  walk(expr.tree, (n) => {
    if (n instanceof ContextAccess) constant = false;
    if (n instanceof FunctionCall && STATUS.includes(n.functionName.lexeme.toLowerCase())) {
      constant = false;
    }
  });
  return constant;
}

/**
 * The problem of a condition whose value never changes (`${{ 'false' }}` is a non-empty text,
 * so always true), or `undefined`.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { constantCondition } from "./lint.ts";
 * const issue = constantCondition(parseExpression("'false'"));
 * console.assert(issue?.message === "The condition is always true: 'false' is a non-empty text");
 * ```
 */
export function constantCondition(expr: Expr): ExpressionIssue | undefined {
  if (!isConstant(expr)) return undefined;
  let value: unknown;
  try {
    value = evaluate(expr, { values: {} });
  } catch {
    return undefined; // it fails when it runs: evaluation says why
  }
  const span = spanOf(expr, expr.tree);
  const source = text(expr, expr.tree);
  const truthy = isTruthy(value);
  const why = typeof value === "string"
    ? value === "" ? "an empty text" : "a non-empty text"
    : `always ${JSON.stringify(value)}`;
  const isLiteralBoolean = expr.tree instanceof Literal && typeof value === "boolean";
  if (isLiteralBoolean) return undefined; // `if: false` says what it means
  return {
    message: `The condition is always ${truthy}: ${source} is ${why}`,
    start: span.start,
    end: span.end,
    hint: typeof value === "string"
      ? "a text is true unless it is empty; compare it, e.g. ${{ params.x == 'false' }}"
      : "write the condition over params, tasks or status functions, or remove `if:`",
  };
}

/**
 * Where `expr`, put into a longer text, has a list or an object as its value: GitHub writes
 * them as `Array` and `Object`, which is rarely what was meant.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { containerInText } from "./lint.ts";
 * const issue = containerInText(parseExpression("params.tags"), () => "array");
 * console.assert(issue?.hint === "write ${{ toJSON(params.tags) }} or ${{ join(params.tags, ' ') }}");
 * ```
 */
export function containerInText(expr: Expr, typeOf: TypeOf): ExpressionIssue | undefined {
  const type = staticType(expr, expr.tree, typeOf);
  if (type !== "array" && type !== "object") return undefined;
  const span = spanOf(expr, expr.tree);
  const source = text(expr, expr.tree);
  return {
    message: `${source} is ${article(type)}: in text it becomes "${
      type === "array" ? "Array" : "Object"
    }"`,
    start: span.start,
    end: span.end,
    hint: type === "array"
      ? `write \${{ toJSON(${source}) }} or \${{ join(${source}, ' ') }}`
      : `write \${{ toJSON(${source}) }}, or read one of its members`,
  };
}

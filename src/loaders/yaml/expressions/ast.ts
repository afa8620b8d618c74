/**
 * The syntax tree of an expression. Every node carries `start` and `end`: UTF-16 offsets of
 * the text it was parsed from (`end` is exclusive), shifted by the `offset` given to
 * `parseExpression()`.
 *
 * @module
 */

/** A range of source text: `start` inclusive, `end` exclusive. */
export interface Span {
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/** `null`, `true`, `false`, a number or a string. */
export interface LiteralExpr extends Span {
  /** The node's kind. */
  kind: "literal";
  /** The value written. */
  value: null | boolean | number | string;
}

/** `[a, b]`. */
export interface ArrayExpr extends Span {
  /** The node's kind. */
  kind: "array";
  /** The items, in order. */
  items: Expr[];
}

/** One `key: value` of an object literal; its span is the key's. */
export interface ObjectEntry extends Span {
  /** The key, unquoted. */
  key: string;
  /** The value. */
  value: Expr;
}

/** `{a: 1, 'b c': 2}`. */
export interface ObjectExpr extends Span {
  /** The node's kind. */
  kind: "object";
  /** The entries, in order; keys are unique. */
  entries: ObjectEntry[];
}

/** A name at the root of an expression, such as `params` or `tasks`. */
export interface NameExpr extends Span {
  /** The node's kind. */
  kind: "name";
  /** The name. */
  name: string;
}

/** `object.key` (then `key` is a string literal spanning the name) or `object[key]`. */
export interface MemberExpr extends Span {
  /** The node's kind. */
  kind: "member";
  /** The value whose member is read. */
  object: Expr;
  /** The key: a string literal for `.name`, any expression for `[…]`. */
  key: Expr;
  /** `true` for `[…]`, `false` for `.name`. */
  computed: boolean;
}

/** `name(args…)`: only named functions can be called. The name starts at `start`. */
export interface CallExpr extends Span {
  /** The node's kind. */
  kind: "call";
  /** The function's name. */
  name: string;
  /** Offset just past the name. */
  nameEnd: number;
  /** The arguments, in order. */
  args: Expr[];
}

/** `!operand` or `-operand`. */
export interface UnaryExpr extends Span {
  /** The node's kind. */
  kind: "unary";
  /** The operator. */
  operator: "!" | "-";
  /** The operand. */
  operand: Expr;
}

/** The binary operators, including the short-circuiting `&&` and `||`. */
export type BinaryOperator =
  | "*"
  | "/"
  | "%"
  | "+"
  | "-"
  | "<"
  | "<="
  | ">"
  | ">="
  | "=="
  | "!="
  | "&&"
  | "||";

/** `left operator right`. */
export interface BinaryExpr extends Span {
  /** The node's kind. */
  kind: "binary";
  /** The operator. */
  operator: BinaryOperator;
  /** The left operand. */
  left: Expr;
  /** The right operand. */
  right: Expr;
}

/**
 * An expression: a tagged union on `kind`.
 *
 * @example
 * ```ts
 * import type { Expr } from "./ast.ts";
 * const one: Expr = { kind: "literal", value: 1, start: 0, end: 1 };
 * console.assert(one.kind === "literal");
 * ```
 */
export type Expr =
  | LiteralExpr
  | ArrayExpr
  | ObjectExpr
  | NameExpr
  | MemberExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr;

/**
 * The direct sub-expressions of a node, in source order.
 *
 * @example
 * ```ts
 * import { children, type Expr } from "./ast.ts";
 * const a: Expr = { kind: "name", name: "a", start: 0, end: 1 };
 * const not: Expr = { kind: "unary", operator: "!", operand: a, start: 0, end: 2 };
 * console.assert(children(not)[0] === a);
 * ```
 */
export function children(expr: Expr): Expr[] {
  switch (expr.kind) {
    case "literal":
    case "name":
      return [];
    case "array":
      return expr.items;
    case "object":
      return expr.entries.map((e) => e.value);
    case "member":
      return [expr.object, expr.key];
    case "call":
      return expr.args;
    case "unary":
      return [expr.operand];
    case "binary":
      return [expr.left, expr.right];
  }
}

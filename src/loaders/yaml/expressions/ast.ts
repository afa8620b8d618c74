/**
 * The syntax tree of an expression: the tree `@actions/expressions` parses (GitHub's own
 * parser), with the offset of every node in the text it was parsed from.
 *
 * @module
 */

import {
  Binary,
  ContextAccess,
  type Expr as Node,
  FunctionCall,
  Grouping,
  IndexAccess,
  Literal,
  Logical,
  Star,
  Unary,
} from "@actions/expressions/ast";
import type { Token } from "@actions/expressions/lexer";

export {
  Binary,
  ContextAccess,
  FunctionCall,
  Grouping,
  IndexAccess,
  Literal,
  Logical,
  Star,
  Unary,
};
export type { Node, Token };

/** A range of source text: `start` inclusive, `end` exclusive. */
export interface Span {
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/**
 * A parsed expression: the text between `${{` and `}}` and its tree. Offsets (of nodes, of
 * tokens, of errors) are offsets in the caller's text: `offset` is where `source` starts there.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { spanOf } from "./ast.ts";
 * const expr = parseExpression("a.b == 'x'", 4, { contexts: ["a"] });
 * console.assert(expr.source === "a.b == 'x'" && spanOf(expr, expr.tree).start === 4);
 * ```
 */
export interface Expr {
  /** The expression as written. */
  readonly source: string;
  /** Where `source` starts in the caller's text. */
  readonly offset: number;
  /** The tree of `@actions/expressions`. */
  readonly tree: Node;
  /** The tokens, in order, ending with the end-of-input token. */
  readonly tokens: readonly Token[];
  /** The offset of each token (in the caller's text). */
  readonly tokenStarts: ReadonlyMap<Token, number>;
}

/**
 * The direct sub-expressions of a node, in source order (the `*` of a filter has none).
 *
 * @example
 * ```ts
 * import { children } from "./ast.ts";
 * import { parseExpression } from "./parser.ts";
 * const expr = parseExpression("!a", 0, { contexts: ["a"] });
 * console.assert(children(expr.tree).length === 1);
 * ```
 */
export function children(node: Node): Node[] {
  if (node instanceof Unary) return [node.expr];
  if (node instanceof Binary) return [node.left, node.right];
  if (node instanceof Logical) return node.args;
  if (node instanceof Grouping) return [node.group];
  if (node instanceof IndexAccess) {
    return node.index instanceof Star ? [node.expr] : [node.expr, node.index];
  }
  if (node instanceof FunctionCall) return node.args;
  return [];
}

/** The token a node holds itself, if any (a literal, a name, an operator, a function name). */
export function ownToken(node: Node): Token | undefined {
  if (node instanceof Literal) return node.token;
  if (node instanceof ContextAccess) return node.name;
  if (node instanceof FunctionCall) return node.functionName;
  if (node instanceof Unary || node instanceof Binary || node instanceof Logical) {
    return node.operator;
  }
  return undefined;
}

/** Calls `visit` on `node` and every node below it, parents first; `false` skips the children. */
export function walk(node: Node, visit: (n: Node) => boolean | void): void {
  if (visit(node) === false) return;
  for (const child of children(node)) walk(child, visit);
}

const OPENERS = new Set(["(", "["]);
const CLOSERS = new Set([")", "]"]);

/**
 * Where `node` is written in the caller's text: from its first token to its last, including
 * the brackets and parentheses that belong to it.
 *
 * @example
 * ```ts
 * import { spanOf } from "./ast.ts";
 * import { parseExpression } from "./parser.ts";
 * const expr = parseExpression("join(a.*.b, ', ')", 10, { contexts: ["a"] });
 * const span = spanOf(expr, expr.tree);
 * console.assert(span.start === 10 && span.end === 27);
 * ```
 */
export function spanOf(expr: Expr, node: Node): Span {
  const index = new Map(expr.tokens.map((t, i) => [t, i]));
  let first = Infinity;
  let last = -Infinity;
  walk(node, (n) => {
    const t = ownToken(n);
    const i = t === undefined ? undefined : index.get(t);
    if (i !== undefined) {
      first = Math.min(first, i);
      last = Math.max(last, i);
    }
  });
  const tokens = expr.tokens;
  if (first === Infinity) return { start: expr.offset, end: expr.offset + expr.source.length };
  const lexeme = (i: number) => tokens[i]?.lexeme;
  // A call without arguments ends at its ")"; a group starts at its "(".
  if (node instanceof FunctionCall && node.args.length === 0 && lexeme(last + 1) === "(") {
    last += 2;
  }
  for (let g: Node = node; g instanceof Grouping; g = g.group) {
    if (lexeme(first - 1) === "(") first--;
  }
  // Brackets opened or closed inside the range belong to the node.
  let open = 0;
  for (let i = first; i <= last; i++) {
    if (OPENERS.has(lexeme(i)!)) open++;
    else if (CLOSERS.has(lexeme(i)!)) open--;
  }
  while (open < 0 && OPENERS.has(lexeme(first - 1)!)) [first, open] = [first - 1, open + 1];
  while (open > 0 && CLOSERS.has(lexeme(last + 1)!)) [last, open] = [last + 1, open - 1];
  // A filter (`.*` or `[*]`) at the end holds no token of its own.
  if (containsStar(node)) {
    for (;;) {
      if (lexeme(last + 1) === "." && lexeme(last + 2) === "*") last += 2;
      else if (lexeme(last + 1) === "[" && lexeme(last + 2) === "*") {
        last += 2 + (lexeme(last + 3) === "]" ? 1 : 0);
      } else break;
    }
  }
  const start = expr.tokenStarts.get(tokens[first])!;
  const end = expr.tokenStarts.get(tokens[last])! + tokens[last].lexeme.length;
  return { start, end };
}

function containsStar(node: Node): boolean {
  let found = false;
  walk(node, (n) => {
    if (n instanceof IndexAccess && n.index instanceof Star) found = true;
  });
  return found;
}

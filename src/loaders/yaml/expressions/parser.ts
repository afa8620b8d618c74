/**
 * Parses the text inside `${{ … }}` into an {@linkcode Expr}.
 *
 * Precedence, loosest first: `||`, `&&`, `==` `!=`, `<` `<=` `>` `>=`, `+` `-`, `*` `/` `%`,
 * unary `!` `-`, then member access `a.b`, `a[i]` and calls `f(x)`. Binary operators are
 * left-associative.
 *
 * @module
 */

import type { BinaryOperator, Expr, ObjectEntry } from "./ast.ts";
import { ExpressionSyntaxError } from "./errors.ts";
import { type Token, tokenize } from "./lexer.ts";

/**
 * The longest expression accepted, in characters: longer logic belongs in a task.
 *
 * @example
 * ```ts
 * import { MAX_EXPRESSION_LENGTH, parseExpression } from "./parser.ts";
 * let failed = false;
 * try {
 *   parseExpression("1".repeat(MAX_EXPRESSION_LENGTH + 1));
 * } catch {
 *   failed = true;
 * }
 * console.assert(failed);
 * ```
 */
export const MAX_EXPRESSION_LENGTH = 4096;

/**
 * How deeply an expression may nest (brackets, unary operators, chained operators and
 * members): deeper input is an {@linkcode ExpressionSyntaxError}, never a stack overflow.
 *
 * @example
 * ```ts
 * import { MAX_NESTING, parseExpression } from "./parser.ts";
 * parseExpression("(".repeat(MAX_NESTING) + "1" + ")".repeat(MAX_NESTING));
 * ```
 */
export const MAX_NESTING = 128;

const LEVELS: readonly (readonly BinaryOperator[])[] = [
  ["||"],
  ["&&"],
  ["==", "!="],
  ["<", "<=", ">", ">="],
  ["+", "-"],
  ["*", "/", "%"],
];

// Names that look like operators from other languages.
const WORD_HINTS: Record<string, string> = {
  and: 'use "&&" for "and"',
  or: 'use "||" for "or"',
  not: 'use "!" for "not"',
  is: 'use "==" to compare values',
  in: "use contains(array, value)",
};

const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

function describe(t: Token, source: string, offset: number): string {
  switch (t.kind) {
    case "eof":
      return "the end of the expression";
    case "punct":
      return `"${t.value}"`;
    case "name":
      return `name "${t.value}"`;
    default: {
      const text = source.slice(t.start - offset, t.end - offset);
      return `${t.kind} ${text.length > 24 ? text.slice(0, 21) + "..." : text}`;
    }
  }
}

class Parser {
  #tokens: Token[];
  #i = 0;
  #nesting = 0;
  #source: string;
  #offset: number;
  // Depth of each node built: bounds the tree itself, not only the parser's recursion.
  #depth = new WeakMap<Expr, number>();

  constructor(source: string, offset: number) {
    this.#source = source;
    this.#offset = offset;
    this.#tokens = tokenize(source, offset);
  }

  parse(): Expr {
    if (this.#peek().kind === "eof") {
      throw new ExpressionSyntaxError("Empty expression", this.#offset, this.#source.length, {
        hint: "write a value between ${{ and }}, e.g. ${{ params.name }}",
      });
    }
    const expr = this.#binary(0);
    const t = this.#peek();
    if (t.kind !== "eof") throw this.#unexpected(t, "after a complete expression");
    return expr;
  }

  #peek(): Token {
    return this.#tokens[this.#i];
  }

  #advance(): Token {
    const t = this.#tokens[this.#i];
    if (t.kind !== "eof") this.#i++;
    return t;
  }

  #isPunct(value: string): boolean {
    const t = this.#peek();
    return t.kind === "punct" && t.value === value;
  }

  #unexpected(t: Token, where: string): ExpressionSyntaxError {
    let hint: string | undefined;
    if (t.kind === "name") {
      hint = WORD_HINTS[t.value as string] ??
        'join values with an operator such as "&&", "||", "==" or "+"';
    } else if (t.kind === "string" || t.kind === "number") {
      hint = 'join values with an operator such as "&&", "||", "==" or "+"';
    }
    return new ExpressionSyntaxError(
      `Unexpected ${
        t.kind === "eof" ? "end of the expression" : describe(t, this.#source, this.#offset)
      } ${where}`,
      t.start,
      t.end - t.start,
      hint === undefined ? undefined : { hint },
    );
  }

  #enter(t: Token): void {
    if (++this.#nesting > MAX_NESTING) throw this.#tooDeep(t.start, t.end);
  }

  #tooDeep(start: number, end: number): ExpressionSyntaxError {
    return new ExpressionSyntaxError(
      `Expression is nested more than ${MAX_NESTING} levels deep`,
      start,
      end - start,
      { hint: "split it up, or compute the value in a task" },
    );
  }

  #node<T extends Expr>(node: T, ...parts: Expr[]): T {
    let depth = 0;
    for (const p of parts) depth = Math.max(depth, this.#depth.get(p) ?? 0);
    if (depth + 1 > MAX_NESTING) throw this.#tooDeep(node.start, node.end);
    this.#depth.set(node, depth + 1);
    return node;
  }

  #binary(level: number): Expr {
    if (level === LEVELS.length) return this.#unary();
    let left = this.#binary(level + 1);
    for (;;) {
      const t = this.#peek();
      const op = t.value as BinaryOperator;
      if (t.kind !== "punct" || !LEVELS[level].includes(op)) return left;
      this.#advance();
      const right = this.#binary(level + 1);
      left = this.#node(
        {
          kind: "binary",
          operator: op,
          left,
          right,
          start: left.start,
          end: right.end,
        },
        left,
        right,
      );
    }
  }

  #unary(): Expr {
    const t = this.#peek();
    if (t.kind === "punct" && (t.value === "!" || t.value === "-")) {
      this.#advance();
      this.#enter(t);
      const operand = this.#unary();
      this.#nesting--;
      return this.#node({
        kind: "unary",
        operator: t.value,
        operand,
        start: t.start,
        end: operand.end,
      }, operand);
    }
    return this.#postfix();
  }

  #postfix(): Expr {
    let expr = this.#primary();
    for (;;) {
      const t = this.#peek();
      if (t.kind !== "punct") return expr;
      if (t.value === ".") {
        this.#advance();
        const name = this.#peek();
        if (name.kind !== "name") {
          throw this.#unexpected(name, 'after "." (expected a property name)');
        }
        this.#advance();
        const key: Expr = { kind: "literal", value: name.value, start: name.start, end: name.end };
        expr = this.#node({
          kind: "member",
          object: expr,
          key,
          computed: false,
          start: expr.start,
          end: name.end,
        }, expr);
      } else if (t.value === "[") {
        this.#advance();
        this.#enter(t);
        const key = this.#binary(0);
        const close = this.#close(t, "in the index");
        this.#nesting--;
        expr = this.#node(
          {
            kind: "member",
            object: expr,
            key,
            computed: true,
            start: expr.start,
            end: close.end,
          },
          expr,
          key,
        );
      } else if (t.value === "(") {
        throw new ExpressionSyntaxError("Only functions can be called", t.start, 1, {
          hint: "call a function by its name, e.g. contains(params.tags, 'x')",
        });
      } else {
        return expr;
      }
    }
  }

  // Expects the closer of `open`; at the end of the text the error points at `open`.
  #close(open: Token, where: string): Token {
    const closer = CLOSERS[open.value as string];
    const t = this.#peek();
    if (t.kind === "punct" && t.value === closer) return this.#advance();
    if (t.kind === "eof") {
      throw new ExpressionSyntaxError(`Unclosed "${open.value}"`, open.start, 1, {
        hint: `add "${closer}"`,
      });
    }
    throw this.#unexpected(t, `${where} (expected "${closer}")`);
  }

  // Items separated by commas (a trailing comma is allowed) up to the closer of `open`.
  #list<T>(open: Token, where: string, item: () => T): { items: T[]; close: Token } {
    const closer = CLOSERS[open.value as string];
    const items: T[] = [];
    this.#enter(open);
    for (;;) {
      if (this.#isPunct(closer)) break;
      items.push(item());
      if (!this.#isPunct(",")) break;
      this.#advance();
    }
    const t = this.#peek();
    if (!(t.kind === "punct" && t.value === closer) && t.kind !== "eof") {
      throw this.#unexpected(t, `${where} (expected "," or "${closer}")`);
    }
    const close = this.#close(open, where);
    this.#nesting--;
    return { items, close };
  }

  #primary(): Expr {
    const index = this.#i;
    const t = this.#advance();
    switch (t.kind) {
      case "number":
      case "string":
        return this.#node({ kind: "literal", value: t.value, start: t.start, end: t.end });
      case "name":
        return this.#named(t);
      case "punct":
        if (t.value === "(") {
          this.#enter(t);
          const inner = this.#binary(0);
          this.#close(t, "in parentheses");
          this.#nesting--;
          return inner;
        }
        if (t.value === "[") {
          const { items, close } = this.#list(t, "in the array", () => this.#binary(0));
          return this.#node({ kind: "array", items, start: t.start, end: close.end }, ...items);
        }
        if (t.value === "{") return this.#object(t);
    }
    const before = this.#tokens[index - 1];
    const after = before ? ` after ${describe(before, this.#source, this.#offset)}` : "";
    throw new ExpressionSyntaxError(
      `Expected a value${after}, found ${describe(t, this.#source, this.#offset)}`,
      t.start,
      t.end - t.start,
    );
  }

  #named(t: Token): Expr {
    const name = t.value as string;
    if (name === "null" || name === "true" || name === "false") {
      const value = name === "null" ? null : name === "true";
      return this.#node({ kind: "literal", value, start: t.start, end: t.end });
    }
    const open = this.#peek();
    if (!(open.kind === "punct" && open.value === "(")) {
      return this.#node({ kind: "name", name, start: t.start, end: t.end });
    }
    this.#advance();
    const { items, close } = this.#list(open, `in the arguments of ${name}()`, () => {
      return this.#binary(0);
    });
    return this.#node({
      kind: "call",
      name,
      nameEnd: t.end,
      args: items,
      start: t.start,
      end: close.end,
    }, ...items);
  }

  #object(open: Token): Expr {
    const seen = new Set<string>();
    const { items, close } = this.#list(open, "in the object", (): ObjectEntry => {
      const k = this.#advance();
      if (k.kind !== "name" && k.kind !== "string") {
        throw new ExpressionSyntaxError(
          `Expected a key in the object, found ${describe(k, this.#source, this.#offset)}`,
          k.start,
          k.end - k.start,
          { hint: "keys are names or quoted strings, e.g. {name: 1, 'a key': 2}" },
        );
      }
      const key = k.value as string;
      if (seen.has(key)) {
        throw new ExpressionSyntaxError(
          `Duplicate key "${key}" in the object`,
          k.start,
          k.end - k.start,
          {
            hint: "write each key once",
          },
        );
      }
      seen.add(key);
      const colon = this.#peek();
      if (!(colon.kind === "punct" && colon.value === ":")) {
        throw this.#unexpected(colon, `after the key "${key}" (expected ":")`);
      }
      this.#advance();
      return { key, value: this.#binary(0), start: k.start, end: k.end };
    });
    return this.#node(
      { kind: "object", entries: items, start: open.start, end: close.end },
      ...items.map((e) => e.value),
    );
  }
}

/**
 * Parses the text inside `${{ … }}`. Every node's `start`/`end`, and the `offset` of any
 * {@linkcode ExpressionSyntaxError}, are shifted by `offset`: pass the position of `source`
 * in a larger text to get positions in that text.
 *
 * @throws {ExpressionSyntaxError} when `source` is not a well-formed expression, is longer than
 *   {@linkcode MAX_EXPRESSION_LENGTH} or nests deeper than {@linkcode MAX_NESTING}.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * const expr = parseExpression("params.factor * 2", 4);
 * console.assert(expr.kind === "binary" && expr.operator === "*");
 * console.assert(expr.start === 4 && expr.end === 21);
 * ```
 */
export function parseExpression(source: string, offset = 0): Expr {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionSyntaxError(
      `Expression is ${source.length} characters long, more than the limit of ${MAX_EXPRESSION_LENGTH}`,
      offset,
      source.length,
      { hint: "compute the value in a task and refer to its result" },
    );
  }
  return new Parser(source, offset).parse();
}

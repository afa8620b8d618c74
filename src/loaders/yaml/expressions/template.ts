/**
 * Templates: text with `${{ … }}` expressions in it, as in GitHub Actions.
 *
 * @module
 */

import type { Expr } from "./ast.ts";
import { ExpressionError, ExpressionSyntaxError } from "./errors.ts";
import { type EvalContext, evaluate } from "./evaluate.ts";
import { Lexer } from "./lexer.ts";
import { parseExpression } from "./parser.ts";
import { toText, ValueError } from "./values.ts";

/** One `${{ … }}` of a template. */
export interface TemplatePart {
  /** The parsed expression; its offsets are offsets in the template's text. */
  expr: Expr;
  /** Offset of `${{` in the text. */
  start: number;
  /** Offset just past `}}`. */
  end: number;
  /**
   * The text between `${{` and `}}`, as written: `parseExpression(source, start + 3)`
   * gives `expr` again.
   */
  source: string;
}

/** A parsed template. */
export interface Template {
  /** The text parsed. */
  text: string;
  /**
   * Literal text and expressions in order. Without any `${{` it is `[text]`; otherwise no
   * string in it is empty.
   */
  parts: (string | TemplatePart)[];
  /**
   * Whether the text, without surrounding whitespace, is exactly one `${{ … }}`: then
   * rendering it gives the expression's value with its type (unless a `quote` is given).
   */
  whole: boolean;
}

/** Options of {@linkcode renderTemplate}. */
export interface RenderOptions {
  /**
   * Turns each interpolated value into text, e.g. {@linkcode shellQuote}; the literal text
   * between expressions is kept as it is. When given, the result is always a string, even for
   * a whole template. What it throws becomes an `ExpressionError` located at the `${{ … }}`.
   *
   * @default {toText} strings as they are, `null` as `""`, numbers and booleans via `String`,
   *   arrays and objects as compact JSON
   */
  quote?: (value: unknown) => string;
}

const OPEN = "${{";

// Offset just past the "}}" that closes the `${{` at `start`. Expressions are lexed on the
// way, so "}}" inside a string ('}}') or closing nested object literals does not end them.
function findClose(text: string, start: number): number {
  const lexer = new Lexer(text, 0, start + OPEN.length);
  const unclosed = () =>
    new ExpressionSyntaxError('Unclosed "${{"', start, OPEN.length, {
      hint: 'end the expression with "}}"',
    });
  let braces = 0;
  for (;;) {
    let t;
    try {
      t = lexer.next();
    } catch (e) {
      // Text after a forgotten "}}" is not an expression; say what is really wrong.
      if (e instanceof ExpressionSyntaxError && !text.includes("}}", start)) throw unclosed();
      throw e;
    }
    if (t.kind === "eof") throw unclosed();
    if (t.kind !== "punct") continue;
    if (t.value === "{") braces++;
    else if (t.value === "}" && braces > 0) braces--;
    else if (t.value === "}") {
      if (text[t.end] === "}") return t.end + 1;
      if (!text.includes("}}", t.end)) throw unclosed();
      throw new ExpressionSyntaxError('Unexpected "}"', t.start, 1, {
        hint: 'end the expression with "}}"',
      });
    }
  }
}

/**
 * Parses a text with `${{ … }}` expressions. A `$` or `${` not followed by `{` is literal text.
 *
 * @throws {ExpressionSyntaxError} for an unclosed `${{` (at its offset) or an invalid
 *   expression; offsets are in `text`.
 *
 * @example
 * ```ts
 * import { parseTemplate } from "./template.ts";
 * const t = parseTemplate("Hello ${{ params.name }}!");
 * console.assert(t.parts.length === 3 && !t.whole);
 * console.assert(parseTemplate(" ${{ params.n }} ").whole);
 * console.assert(parseTemplate("cost: ${ 5").parts[0] === "cost: ${ 5");
 * ```
 */
export function parseTemplate(text: string): Template {
  const parts: (string | TemplatePart)[] = [];
  let last = 0;
  let expressions = 0;
  let blank = true;
  for (let i = text.indexOf(OPEN); i !== -1; i = text.indexOf(OPEN, last)) {
    const end = findClose(text, i);
    if (i > last) {
      const literal = text.slice(last, i);
      parts.push(literal);
      blank &&= literal.trim() === "";
    }
    const source = text.slice(i + OPEN.length, end - 2);
    parts.push({ expr: parseExpression(source, i + OPEN.length), start: i, end, source });
    expressions++;
    last = end;
  }
  if (last < text.length || parts.length === 0) {
    const literal = text.slice(last);
    parts.push(literal);
    blank &&= literal.trim() === "";
  }
  return { text, parts, whole: expressions === 1 && blank };
}

/**
 * Renders a parsed template. A whole template (see {@linkcode Template.whole}) gives its
 * expression's value itself, of any type; otherwise the result is a string in which each value
 * is turned into text by `options.quote` or, by default, `toText`: strings as they are, `null`
 * as `""`, numbers and booleans via `String`, arrays and objects as compact JSON.
 *
 * @throws {ExpressionError} when an expression fails or a value cannot be turned into text.
 *
 * @example
 * ```ts
 * import { parseTemplate, renderTemplate } from "./template.ts";
 * import { shellQuote } from "./shell.ts";
 * const ctx = { values: { params: { n: 2, name: "it's" } } };
 * console.assert(renderTemplate(parseTemplate("${{ params.n }}"), ctx) === 2);
 * console.assert(renderTemplate(parseTemplate("n=${{ params.n }}"), ctx) === "n=2");
 * const cmd = renderTemplate(parseTemplate("echo ${{ params.name }}"), ctx, { quote: shellQuote });
 * console.assert(cmd === "echo 'it'\\''s'");
 * ```
 */
export function renderTemplate(t: Template, ctx: EvalContext, options?: RenderOptions): unknown {
  const quote = options?.quote;
  if (t.whole && quote === undefined) {
    const part = t.parts.find((p) => typeof p !== "string") as TemplatePart;
    return evaluate(part.expr, ctx);
  }
  let out = "";
  for (const part of t.parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    const value = evaluate(part.expr, ctx);
    try {
      out += quote === undefined ? toText(value) : quote(value);
    } catch (e) {
      if (e instanceof ExpressionError) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      throw new ExpressionError(
        `Cannot put the value of ${OPEN}${part.source}}} into text: ${reason}`,
        part.start,
        part.end - part.start,
        { hint: e instanceof ValueError ? e.hint : undefined, cause: e },
      );
    }
  }
  return out;
}

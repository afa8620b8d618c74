/**
 * Templates: text with `${{ … }}` expressions in it, read as GitHub reads them. An expression
 * ends at the first `}}` that is not inside a single-quoted string; a value that is exactly one
 * `${{ … }}` (nothing around it, not even spaces) gives the expression's value with its type;
 * any other text gives text, each value turned into text as `format()` does.
 *
 * @module
 */

import type { Expr } from "./ast.ts";
import { ExpressionError, ExpressionSyntaxError } from "./errors.ts";
import { type EvalContext, evaluate } from "./evaluate.ts";
import { parseExpression, type ParseOptions } from "./parser.ts";
import { toText, ValueError } from "./values.ts";

/** One `${{ … }}` of a template. */
export interface TemplatePart {
  /** The parsed expression; its offsets are offsets in the template's text. */
  expr: Expr;
  /** Offset of `${{` in the text. */
  start: number;
  /** Offset just past `}}`. */
  end: number;
  /** The text between `${{` and `}}`, as written. */
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
   * Whether the text is exactly one `${{ … }}`: then rendering it gives the expression's value
   * with its type (unless a `quote` is given).
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
   * @default {toText} GitHub's text of a value: strings as they are, `null` as `""`, arrays as
   *   `Array` and objects as `Object`
   */
  quote?: (value: unknown) => string;
}

const OPEN = "${{";

// Offset just past the "}}" that ends the expression opened at `start`: the first one outside
// a single-quoted string ('' inside a string toggles twice, so it stays inside).
function findClose(text: string, start: number): number {
  let inString = false;
  for (let i = start + OPEN.length; i < text.length; i++) {
    if (text[i] === "'") inString = !inString;
    else if (!inString && text[i] === "}" && text[i - 1] === "}" && i - 1 >= start + OPEN.length) {
      return i + 1;
    }
  }
  throw new ExpressionSyntaxError('Unclosed "${{"', start, OPEN.length, {
    hint: 'end the expression with "}}"',
  });
}

/**
 * Parses a text with `${{ … }}` expressions. A `$` or `${` not followed by `{` is literal text.
 *
 * @throws {ExpressionSyntaxError} for an unclosed `${{` (at its offset), an empty `${{ }}` or an
 *   invalid expression; offsets are in `text`.
 *
 * @example
 * ```ts
 * import { parseTemplate } from "./template.ts";
 * const t = parseTemplate("Hello ${{ params.name }}!");
 * console.assert(t.parts.length === 3 && !t.whole);
 * console.assert(parseTemplate("${{ params.n }}").whole && !parseTemplate(" ${{ params.n }}").whole);
 * console.assert(parseTemplate("cost: ${ 5").parts[0] === "cost: ${ 5");
 * ```
 */
export function parseTemplate(text: string, options?: ParseOptions): Template {
  const parts: (string | TemplatePart)[] = [];
  let last = 0;
  for (let i = text.indexOf(OPEN); i !== -1; i = text.indexOf(OPEN, last)) {
    const end = findClose(text, i);
    if (i > last) parts.push(text.slice(last, i));
    const source = text.slice(i + OPEN.length, end - 2);
    parts.push({ expr: parseExpression(source, i + OPEN.length, options), start: i, end, source });
    last = end;
  }
  if (last < text.length || parts.length === 0) parts.push(text.slice(last));
  return { text, parts, whole: parts.length === 1 && typeof parts[0] !== "string" };
}

/**
 * Renders a parsed template. A whole template (see {@linkcode Template.whole}) gives its
 * expression's value itself, of any JSON type; otherwise the result is a string in which each
 * value is turned into text by `options.quote` or, by default, as GitHub does (`toText`).
 *
 * @throws {ExpressionError} when an expression fails, a value cannot be turned into text, or a
 *   whole template gives `NaN` or an infinity (which no JSON value can hold).
 *
 * @example
 * ```ts
 * import { parseTemplate, renderTemplate } from "./template.ts";
 * import { shellQuote } from "./shell.ts";
 * const ctx = { values: { params: { n: 2, name: "it's", tags: ["a"] } } };
 * console.assert(renderTemplate(parseTemplate("${{ params.n }}"), ctx) === 2);
 * console.assert(renderTemplate(parseTemplate("n=${{ params.n }}"), ctx) === "n=2");
 * console.assert(renderTemplate(parseTemplate("${{ params.tags }}!"), ctx) === "Array!");
 * const cmd = renderTemplate(parseTemplate("echo ${{ params.name }}"), ctx, { quote: shellQuote });
 * console.assert(cmd === "echo 'it'\\''s'");
 * ```
 */
export function renderTemplate(t: Template, ctx: EvalContext, options?: RenderOptions): unknown {
  const quote = options?.quote;
  if (t.whole && quote === undefined) {
    const part = t.parts[0] as TemplatePart;
    const value = evaluate(part.expr, ctx);
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new ExpressionError(
        `The value of ${OPEN}${part.source}}} is ${value}, which is not a JSON value`,
        part.start,
        part.end - part.start,
        { hint: "write its text instead: ${{ format('{0}', …) }}" },
      );
    }
    return value;
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

/**
 * Parses the text inside `${{ … }}` with GitHub's own lexer and parser (`@actions/expressions`),
 * and turns what they reject into an {@linkcode ExpressionSyntaxError} that says where (an
 * offset in the caller's text) and how to fix it, including for the syntax other languages
 * have and GitHub's expressions do not (arithmetic, list literals, double quotes).
 *
 * Two things are fixed on the way, both where the library departs from GitHub's runner: a
 * string with several doubled quotes (`'it''s Bob''s'`) keeps all of them as quotes (the library
 * only turns the first `''` into `'`), and a `format()` whose template is a literal is checked
 * as GitHub now checks it when a workflow is read (`format('{0')`, `format('{1}', x)`).
 *
 * @module
 */

import { ExpressionError as LibraryError, Lexer, Parser } from "@actions/expressions";
import { ErrorType, MAX_EXPRESSION_LENGTH, MAX_PARSER_DEPTH } from "@actions/expressions/errors";
import { type Token, TokenType } from "@actions/expressions/lexer";
import { type Expr, FunctionCall, Literal, type Node, walk } from "./ast.ts";
import { ExpressionSyntaxError } from "./errors.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { functionInfo, KNOWN_FUNCTIONS, signatureOf } from "./functions.ts";
import { formatPlaceholders } from "./format.ts";

export { MAX_EXPRESSION_LENGTH };

/**
 * How deeply an expression may nest (GitHub's limit): deeper input is an
 * {@linkcode ExpressionSyntaxError}, never a stack overflow.
 */
export const MAX_NESTING: number = MAX_PARSER_DEPTH;

/** Options of {@linkcode parseExpression}. */
export interface ParseOptions {
  /**
   * Functions to accept besides GitHub's, ours ({@linkcode KNOWN_FUNCTIONS}) and the status
   * functions; they take any number of arguments.
   *
   * @default {[]}
   */
  functions?: readonly string[];
  /**
   * The context names to accept. Without it, any name is accepted and left for
   * `checkExpression()` (which says "did you mean") or evaluation to judge.
   */
  contexts?: readonly string[];
}

const WORD_HINTS: Record<string, string> = {
  and: 'use "&&" for "and"',
  or: 'use "||" for "or"',
  not: 'use "!" for "not"',
  is: 'use "==" to compare values',
  in: "use contains(list, value)",
};

const ARITHMETIC = "GitHub's expressions have no arithmetic: compute the value in the task " +
  "(e.g. `run: echo $((A + B))` with `env: { A: ${{ … }}, B: ${{ … }} }`)";

// Hints for text the lexer rejects, by its first character.
const SYMBOL_HINTS: [RegExp, string][] = [
  [/^"/, "write strings in single quotes: 'text' (and '' for a quote inside)"],
  [/^'/, "close the string with ' (write '' for a quote inside the string)"],
  [/^[-+](\s|$|[^\d.])/, ARITHMETIC],
  [/^[-+]$/, ARITHMETIC],
  [/^[/%]/, ARITHMETIC],
  [/^=/, 'use "==" to compare values'],
  [/^&/, 'use "&&" for "and"'],
  [/^\|/, 'use "||" for "or"'],
  [/^\{/, "there are no object literals: write fromJSON('{\"key\": 1}')"],
  [/^\$/, 'write names without "$" (e.g. params.name), and do not nest "${{ }}"'],
  [/^\?/, 'there is no "?:" operator: write case(condition, a, b) or "condition && a || b"'],
  [/^[;#`]/, "an expression is a single value, without statements or comments"],
  [/^[\d.]/, "write numbers as 42, -1.5, 2e3, 0xff, 0o17 or 0b101"],
];

function syntaxError(reason: string, start: number, length: number, hint?: string) {
  return new ExpressionSyntaxError(
    reason,
    start,
    length,
    hint === undefined ? undefined : { hint },
  );
}

// The lexer's own error: "Unexpected symbol: 'X'. Located at position N within expression: …".
function lexerError(e: unknown, offset: number): ExpressionSyntaxError {
  const m = /^Unexpected symbol: '([\s\S]*?)'\. Located at position (\d+) within expression: /
    .exec((e as Error)?.message ?? "");
  if (!m) {
    return syntaxError(`Invalid expression: ${(e as Error)?.message ?? String(e)}`, offset, 0);
  }
  const [, symbol, at] = m;
  const start = Number(at) - 1;
  const hint = SYMBOL_HINTS.find(([re]) => re.test(symbol))?.[1];
  const reason = symbol.startsWith("'") ? "Unterminated string" : `Unexpected ${show(symbol)}`;
  return syntaxError(reason, offset + start, symbol.length, hint);
}

function show(text: string): string {
  return JSON.stringify(text.length > 24 ? text.slice(0, 21) + "..." : text);
}

// Offsets of the tokens: between tokens there is only the whitespace the lexer skips.
function locate(source: string, tokens: Token[], offset: number): Map<Token, number> {
  const starts = new Map<Token, number>();
  let at = 0;
  for (const t of tokens) {
    while (at < source.length && " \t\r\n".includes(source[at])) at++;
    if (t.type === TokenType.EOF) at = source.length;
    starts.set(t, offset + at);
    at += t.lexeme.length;
  }
  return starts;
}

// A string's value is its text with every doubled quote made one (the library makes only the
// first one so).
function fixStrings(tokens: Token[]): void {
  for (const t of tokens) {
    if (t.type === TokenType.STRING) t.value = t.lexeme.slice(1, -1).replaceAll("''", "'");
  }
}

function describe(t: Token): string {
  if (t.type === TokenType.EOF) return "the end of the expression";
  if (t.type === TokenType.STRING) return `string ${show(t.lexeme)}`;
  if (t.type === TokenType.NUMBER) return `number ${t.lexeme}`;
  if (t.type === TokenType.IDENTIFIER) return `name "${t.lexeme}"`;
  return `"${t.lexeme}"`;
}

// How many arguments the call whose name is at `tokens[i]` has.
function argCount(tokens: Token[], i: number): number {
  let depth = 0;
  let n = 0;
  for (let j = i + 1; j < tokens.length; j++) {
    const type = tokens[j].type;
    if (type === TokenType.LEFT_PAREN || type === TokenType.LEFT_BRACKET) depth++;
    else if (type === TokenType.RIGHT_PAREN || type === TokenType.RIGHT_BRACKET) {
      if (--depth === 0) return n;
    } else if (depth === 1 && n === 0) n = 1;
    if (type === TokenType.COMMA && depth === 1) n++;
  }
  return n;
}

function arity(min: number, max: number): string {
  const unit = (n: number) => (n === 1 ? "argument" : "arguments");
  if (max === 0) return "no arguments";
  if (min === max) return `${min} ${unit(min)}`;
  if (max >= 255) return `at least ${min} ${unit(min)}`;
  if (max === min + 1) return `${min} or ${max} arguments`;
  return `${min} to ${max} arguments`;
}

function unexpectedHint(t: Token, before: Token | undefined): string | undefined {
  if (t.type === TokenType.STAR) return ARITHMETIC;
  if (t.type === TokenType.NUMBER && /^[-+]/.test(t.lexeme) && before) return ARITHMETIC;
  if (t.type === TokenType.LEFT_BRACKET) {
    return "there are no list literals: write fromJSON('[1, 2]')";
  }
  if (t.type === TokenType.IDENTIFIER && Object.hasOwn(WORD_HINTS, t.lexeme)) {
    return WORD_HINTS[t.lexeme];
  }
  if (t.type === TokenType.DOT) return "a property name starts with a letter or _";
  if (t.type !== TokenType.EOF && before) {
    return 'join values with an operator such as "&&", "||", "==" or "<"';
  }
  return undefined;
}

// The last "(" or "[" that is not closed, if the expression ends with one open.
function unclosed(tokens: Token[]): Token | undefined {
  const open: Token[] = [];
  for (const t of tokens) {
    if (t.type === TokenType.LEFT_PAREN || t.type === TokenType.LEFT_BRACKET) open.push(t);
    else if (t.type === TokenType.RIGHT_PAREN || t.type === TokenType.RIGHT_BRACKET) open.pop();
  }
  return open.at(-1);
}

// The library's parse error, located and explained.
function parserError(
  e: LibraryError,
  tokens: Token[],
  starts: Map<Token, number>,
  extra: string[],
) {
  const { typ, tok } = e as unknown as { typ: ErrorType; tok: Token };
  const i = tokens.indexOf(tok);
  const at = starts.get(tok) ?? 0;
  const len = tok.lexeme.length;
  const name = tok.lexeme;
  const atEnd = typ === ErrorType.ErrorUnexpectedEndOfExpression ||
    (typ === ErrorType.ErrorUnexpectedSymbol && tok.type === TokenType.EOF);
  const open = atEnd ? unclosed(tokens) : undefined;
  if (open) {
    const closer = open.type === TokenType.LEFT_PAREN ? ")" : "]";
    return syntaxError(`Unclosed "${open.lexeme}"`, starts.get(open)!, 1, `add "${closer}"`);
  }
  switch (typ) {
    case ErrorType.ErrorUnexpectedEndOfExpression:
      return syntaxError(`Unexpected end of the expression after ${describe(tok)}`, at + len, 0);
    case ErrorType.ErrorExceededMaxDepth:
      return syntaxError(
        `Expression is nested more than ${MAX_NESTING} levels deep`,
        at,
        len,
        "split it up, or compute the value in a task",
      );
    case ErrorType.ErrorTooFewParameters:
    case ErrorType.ErrorTooManyParameters:
    case ErrorType.ErrorEvenParameters: {
      const info = functionInfo(name)!;
      const got = argCount(tokens, i);
      const wanted = typ === ErrorType.ErrorEvenParameters
        ? "an odd number of arguments (condition, value pairs and a default)"
        : arity(info.minArgs, info.maxArgs);
      return syntaxError(
        `${name}() takes ${wanted}, got ${got}`,
        at,
        len,
        `call it as ${signatureOf(name)}`,
      );
    }
    case ErrorType.ErrorUnrecognizedFunction: {
      const names = [...KNOWN_FUNCTIONS, ...extra];
      return syntaxError(
        `Unknown function "${name}"${didYouMean(name, names)}`,
        at,
        len,
        `available functions: ${names.join(", ")}`,
      );
    }
    case ErrorType.ErrorUnrecognizedContext:
    case ErrorType.ErrorUnrecognizedNamedValue:
      return syntaxError(`Unknown name "${name}"`, at, len);
  }
  const reason = tok.type === TokenType.EOF
    ? "Unexpected end of the expression"
    : `Unexpected ${describe(tok)}`;
  return syntaxError(reason, at, len, unexpectedHint(tok, tokens[i - 1]));
}

// GitHub checks a literal template of format() when it reads the workflow.
function checkFormats(tree: Node, starts: Map<Token, number>): void {
  walk(tree, (n) => {
    if (!(n instanceof FunctionCall) || n.functionName.lexeme.toLowerCase() !== "format") return;
    const first = n.args[0];
    if (!(first instanceof Literal) || first.token.type !== TokenType.STRING) return;
    const template = String(first.token.value);
    const at = starts.get(first.token)!;
    const found = formatPlaceholders(template);
    if (typeof found === "string") {
      throw syntaxError(
        `Invalid format string ${show(template)}: ${found}`,
        at,
        first.token.lexeme.length,
        "placeholders are {0}, {1}…; write {{ and }} for literal braces",
      );
    }
    const given = n.args.length - 1;
    if (found.max >= given) {
      throw syntaxError(
        `Format string references {${found.max}} but only ${given} argument(s) provided`,
        at,
        first.token.lexeme.length,
        `pass at least ${found.max + 1} values after the template`,
      );
    }
  });
}

/**
 * Parses the text inside `${{ … }}`. Offsets of the result and of any error are offsets in the
 * caller's text, where `source` starts at `offset`.
 *
 * @throws {ExpressionSyntaxError} when `source` is empty, not a well-formed expression, longer
 *   than {@linkcode MAX_EXPRESSION_LENGTH} or nested deeper than {@linkcode MAX_NESTING}.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * const expr = parseExpression("github.event_name == 'push'", 4);
 * console.assert(expr.offset === 4 && expr.tokens.length === 6);
 * ```
 */
export function parseExpression(source: string, offset = 0, options: ParseOptions = {}): Expr {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw syntaxError(
      `Expression is ${source.length} characters long, more than the limit of ${MAX_EXPRESSION_LENGTH}`,
      offset,
      source.length,
      "compute the value in a task and refer to its result",
    );
  }
  if (source.trim() === "") {
    throw syntaxError(
      "An expression was expected",
      offset,
      source.length,
      "write a value between ${{ and }}, e.g. ${{ params.name }}",
    );
  }
  let tokens: Token[];
  try {
    tokens = new Lexer(source).lex().tokens;
  } catch (e) {
    throw lexerError(e, offset);
  }
  fixStrings(tokens);
  const tokenStarts = locate(source, tokens, offset);
  // Names are judged later (with "did you mean"), unless the caller says which exist.
  const contexts = options.contexts ??
    tokens.filter((t, i) =>
      t.type === TokenType.IDENTIFIER && tokens[i - 1]?.type !== TokenType.DOT
    ).map((t) => t.lexeme);
  const extra = [...options.functions ?? []];
  const functions = extra.map((name) => ({ name, minArgs: 0, maxArgs: Number.MAX_SAFE_INTEGER }));
  let tree: Node | undefined;
  try {
    tree = new Parser(tokens, [...contexts], [
      ...KNOWN_FUNCTIONS.map(functionInfo).filter((f) => f !== undefined),
      ...functions,
    ]).parse();
  } catch (e) {
    if (e instanceof LibraryError) throw parserError(e, tokens, tokenStarts, extra);
    throw e;
  }
  checkFormats(tree!, tokenStarts);
  return { source, offset, tree: tree!, tokens, tokenStarts };
}

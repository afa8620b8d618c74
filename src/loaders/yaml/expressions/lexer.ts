/**
 * Splits expression text into tokens: numbers, strings, names and punctuators.
 *
 * @module
 */

import { ExpressionSyntaxError } from "./errors.ts";

/** What a token is. */
export type TokenKind = "number" | "string" | "name" | "punct" | "eof";

/** One token; `start`/`end` are offsets in the caller's coordinates. */
export interface Token {
  /** What the token is. */
  kind: TokenKind;
  /** The number, the decoded string, the name, or the punctuator's text (`""` at the end). */
  value: string | number;
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

const TWO_CHAR = new Set(["==", "!=", "<=", ">=", "&&", "||"]);
const ONE_CHAR = new Set(".[](){},:!-+*/%<>");

// Characters that are no token, with the advice for the mistake they usually are.
const CHAR_HINTS: Record<string, string> = {
  "=": 'use "==" to compare values',
  "&": 'use "&&" for "and"',
  "|": 'use "||" for "or"',
  "`": "write strings in single quotes: 'text'",
  "?": 'there is no "?:" operator; write "condition && a || b"',
  "$": 'write names without "$" (e.g. params.name), and do not nest "${{ }}"',
  ";": 'an expression is a single value; it cannot contain ";"',
  "#": "an expression cannot contain comments",
};

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}
function isNameStart(c: string | undefined): boolean {
  return c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
}
function isNamePart(c: string | undefined): boolean {
  return isNameStart(c) || isDigit(c);
}
function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}

/**
 * Reads tokens one at a time from `source`, starting at index `from`. Token offsets are
 * `offset + index`. A name right after `.` may contain `-` between name characters (as in
 * GitHub Actions: `tasks.my-task.result`); elsewhere `-` is an operator.
 *
 * @example
 * ```ts
 * import { Lexer } from "./lexer.ts";
 * const lexer = new Lexer("a.b-c + 1");
 * const kinds = [];
 * for (let t = lexer.next(); t.kind !== "eof"; t = lexer.next()) kinds.push(t.value);
 * console.assert(kinds.join(" ") === "a . b-c + 1");
 * ```
 */
export class Lexer {
  #src: string;
  #offset: number;
  #pos: number;
  #afterDot = false;

  /** Creates a lexer over `source`; offsets are shifted by `offset`; lexing starts at `from`. */
  constructor(source: string, offset = 0, from = 0) {
    this.#src = source;
    this.#offset = offset;
    this.#pos = from;
  }

  /** The next token; at the end, an `eof` token (again on every further call). */
  next(): Token {
    const src = this.#src;
    while (isSpace(src[this.#pos])) this.#pos++;
    const start = this.#pos;
    const afterDot = this.#afterDot;
    this.#afterDot = false;
    if (start >= src.length) return this.#token("eof", "", start, start);
    const c = src[start];
    if (isDigit(c)) return this.#number(start);
    if (isNameStart(c)) return this.#name(start, afterDot);
    if (c === "'") return this.#singleQuoted(start);
    if (c === '"') return this.#doubleQuoted(start);
    const two = src.slice(start, start + 2);
    if (TWO_CHAR.has(two)) return this.#token("punct", two, start, start + 2);
    if (ONE_CHAR.has(c)) {
      this.#afterDot = c === ".";
      return this.#token("punct", c, start, start + 1);
    }
    const char = String.fromCodePoint(src.codePointAt(start)!);
    throw this.#error(`Unexpected character ${JSON.stringify(char)}`, start, char.length, {
      hint: CHAR_HINTS[char],
    });
  }

  #token(kind: TokenKind, value: string | number, start: number, end: number): Token {
    this.#pos = end;
    return { kind, value, start: start + this.#offset, end: end + this.#offset };
  }

  #error(
    reason: string,
    start: number,
    length: number,
    options?: { hint: string | undefined },
  ): ExpressionSyntaxError {
    const hint = options?.hint;
    return new ExpressionSyntaxError(
      reason,
      start + this.#offset,
      length,
      hint === undefined ? undefined : { hint },
    );
  }

  #name(start: number, afterDot: boolean): Token {
    const src = this.#src;
    let end = start + 1;
    for (;;) {
      if (isNamePart(src[end])) end++;
      else if (afterDot && src[end] === "-" && isNamePart(src[end + 1])) end += 2;
      else break;
    }
    return this.#token("name", src.slice(start, end), start, end);
  }

  #number(start: number): Token {
    const src = this.#src;
    let end = start;
    let value: number;
    if (src[start] === "0" && (src[start + 1] === "x" || src[start + 1] === "X")) {
      end = start + 2;
      while (/[0-9a-fA-F]/.test(src[end] ?? "")) end++;
      value = end > start + 2 ? parseInt(src.slice(start + 2, end), 16) : NaN;
    } else {
      while (isDigit(src[end])) end++;
      if (src[end] === ".") {
        end++;
        if (!isDigit(src[end])) return this.#badNumber(start, end);
        while (isDigit(src[end])) end++;
      }
      if (src[end] === "e" || src[end] === "E") {
        end++;
        if (src[end] === "+" || src[end] === "-") end++;
        if (!isDigit(src[end])) return this.#badNumber(start, end);
        while (isDigit(src[end])) end++;
      }
      value = Number(src.slice(start, end));
    }
    if (isNamePart(src[end]) || src[end] === "." || Number.isNaN(value)) {
      return this.#badNumber(start, end);
    }
    if (!Number.isFinite(value)) {
      throw this.#error(`Number ${src.slice(start, end)} is too large`, start, end - start);
    }
    return this.#token("number", value, start, end);
  }

  #badNumber(start: number, end: number): never {
    const src = this.#src;
    while (isNamePart(src[end]) || src[end] === ".") end++;
    throw this.#error(`Invalid number "${src.slice(start, end)}"`, start, end - start, {
      hint: "write numbers as 42, 1.5, 2e3 or 0xff",
    });
  }

  #singleQuoted(start: number): Token {
    const src = this.#src;
    let value = "";
    let from = start + 1;
    for (;;) {
      const quote = src.indexOf("'", from);
      if (quote === -1) {
        throw this.#error("Unterminated string", start, src.length - start, {
          hint: "close it with ' (write '' for a quote inside the string)",
        });
      }
      value += src.slice(from, quote);
      if (src[quote + 1] !== "'") return this.#token("string", value, start, quote + 1);
      value += "'";
      from = quote + 2;
    }
  }

  #doubleQuoted(start: number): Token {
    const src = this.#src;
    let value = "";
    let i = start + 1;
    while (i < src.length) {
      const c = src[i];
      if (c === '"') return this.#token("string", value, start, i + 1);
      if (c !== "\\") {
        value += c;
        i++;
        continue;
      }
      const e = src[i + 1];
      if (e !== undefined && e in ESCAPES) {
        value += ESCAPES[e];
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) {
        value += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        throw this.#error(
          `Invalid escape "${src.slice(i, i + 2)}" in a string`,
          i,
          Math.min(2, src.length - i),
          { hint: 'use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX, or a single-quoted string' },
        );
      }
    }
    throw this.#error("Unterminated string", start, src.length - start, {
      hint: 'close it with "',
    });
  }
}

/**
 * All tokens of `source`, ending with an `eof` token; offsets are shifted by `offset`.
 *
 * @example
 * ```ts
 * import { tokenize } from "./lexer.ts";
 * const tokens = tokenize("x == 'it''s'", 10);
 * console.assert(tokens[2].value === "it's" && tokens[2].start === 15);
 * ```
 */
export function tokenize(source: string, offset = 0): Token[] {
  const lexer = new Lexer(source, offset);
  const tokens: Token[] = [];
  for (;;) {
    const t = lexer.next();
    tokens.push(t);
    if (t.kind === "eof") return tokens;
  }
}

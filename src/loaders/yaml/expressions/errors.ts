/**
 * The two errors of the expression language: a syntax error found while parsing `${{ … }}`,
 * and an error found while evaluating it. Both point at the offending text with `offset` and
 * `length`, so the YAML loader can turn them into a file, line and column.
 *
 * @module
 */

import { OrchestraError } from "../../../core/errors.ts";

/** Options of {@linkcode ExpressionSyntaxError} and {@linkcode ExpressionError}. */
export interface ExpressionErrorOptions extends ErrorOptions {
  /** How to fix the problem; appended to the message after a semicolon. */
  hint?: string;
}

function compose(reason: string, hint: string | undefined): string {
  return hint ? `${reason}; ${hint}` : reason;
}

/**
 * An expression or a template is not well formed: an unexpected character or token, an
 * unterminated string, an unclosed `${{`, or an expression too long or nested too deeply.
 *
 * `offset` and `length` locate the problem in the text given to the parser, shifted by the
 * `offset` argument of `parseExpression()` when one was given.
 *
 * @example
 * ```ts
 * import { ExpressionSyntaxError } from "./errors.ts";
 * const err = new ExpressionSyntaxError('Unexpected "="', 2, 1, { hint: 'use "==" to compare' });
 * console.assert(err instanceof SyntaxError && err.name === "ExpressionSyntaxError");
 * console.assert(err.message === 'Unexpected "="; use "==" to compare' && err.offset === 2);
 * ```
 */
export class ExpressionSyntaxError extends SyntaxError {
  /** Where the problem starts (UTF-16 offset). */
  readonly offset: number;
  /** How many characters the problem covers (at least 0). */
  readonly length: number;
  /** How to fix it, if there is advice to give. */
  readonly hint?: string;
  /** The message without the hint. */
  readonly reason: string;
  /** Creates the error; the message is the reason followed by the hint, if any. */
  constructor(reason: string, offset: number, length: number, options?: ExpressionErrorOptions) {
    super(compose(reason, options?.hint), options);
    this.name = "ExpressionSyntaxError";
    this.reason = reason;
    this.offset = offset;
    this.length = length;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/**
 * Evaluating a well-formed expression failed: an operator applied to the wrong types, a
 * function given bad arguments (e.g. `fromJSON()` of text that is not JSON), an unknown name
 * or function, or a function from the context that threw (kept as `cause`).
 *
 * `offset` and `length` locate the expression node that failed, in the same coordinates as the
 * parsed expression.
 *
 * @example
 * ```ts
 * import { ExpressionError } from "./errors.ts";
 * const err = new ExpressionError('Cannot apply "-" to string and number', 0, 7);
 * console.assert(err instanceof Error && err.name === "ExpressionError" && err.length === 7);
 * ```
 */
export class ExpressionError extends OrchestraError {
  /** Where the failing expression starts (UTF-16 offset). */
  readonly offset: number;
  /** How many characters the failing expression covers. */
  readonly length: number;
  /** How to fix it, if there is advice to give. */
  readonly hint?: string;
  /** The message without the hint. */
  readonly reason: string;
  /** Creates the error; the message is the reason followed by the hint, if any. */
  constructor(reason: string, offset: number, length: number, options?: ExpressionErrorOptions) {
    super(compose(reason, options?.hint), options);
    this.name = "ExpressionError";
    this.reason = reason;
    this.offset = offset;
    this.length = length;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/**
 * Quoting of interpolated values for POSIX shell commands.
 *
 * @module
 */

import { toText, ValueError } from "./values.ts";

/**
 * Quotes a value as one POSIX `sh` word: its text (see `toText`: strings as they are, `null`
 * as `''`, arrays as `Array` and objects as `Object`, as on GitHub; use `toJSON()` for their
 * content) between single quotes, each `'` written as `'\''`.
 * Nothing inside single quotes is special to the shell, so the value can neither end the
 * quoting nor inject syntax — as long as the result stands where a word is expected. It is
 * not safe inside a double-quoted string (`"…${{ x }}…"`), a here-document or a comment of
 * the script: there the quotes are plain characters.
 *
 * @throws {TypeError} when the value is not JSON, or its text contains a NUL character, which
 *   no shell argument can hold.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./shell.ts";
 * console.assert(shellQuote("it's; rm -rf /") === "'it'\\''s; rm -rf /'");
 * console.assert(shellQuote(null) === "''" && shellQuote([1, "a"]) === "'Array'");
 * ```
 */
export function shellQuote(value: unknown): string {
  let text: string;
  try {
    text = toText(value);
  } catch (e) {
    if (e instanceof ValueError) throw new TypeError(e.message, { cause: e });
    throw e;
  }
  if (text.includes("\0")) {
    throw new TypeError(
      "Cannot quote a value that contains a NUL character for the shell; remove it from the value",
    );
  }
  return `'${text.replaceAll("'", "'\\''")}'`;
}

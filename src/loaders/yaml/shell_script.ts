/**
 * The script that runs instead of a shell command as written: every `${{ … }}` replaced by a
 * reference to an environment variable holding its value, written for where it stands (see
 * `scanCommand` in `shell_context.ts`), so no value is ever part of the script's text.
 *
 * @module
 */

import type { Interpolation, ShellPosition } from "./shell_context.ts";

/** Why a position cannot take a value, and what to do instead. */
export interface Refusal {
  /** Where it is, for the message: "shell arithmetic", "an eval", … */
  within: string;
  /** What happens to a value there. */
  why: string;
  /** How to pass the value instead. */
  hint: string;
}

const VIA_ENV = 'pass it through `env:` and use "$NAME" instead';

/** The positions where no value may stand, each with why and what to do instead. */
export const REFUSED: Readonly<Partial<Record<ShellPosition, Refusal>>> = {
  "shell arithmetic": {
    within: "shell arithmetic ($(( … )), (( … )), let, [[ … -eq … ]], ${x:offset}, an index)",
    why: "bash evaluates the text of a value there as code",
    hint: "compute the number in the expression, or " + VIA_ENV +
      ' after checking it is a number (case "$N" in *[!0-9]*) exit 1;; esac)',
  },
  "an eval": {
    within: "the arguments of eval or trap",
    why: "they are run as shell code",
    hint: VIA_ENV + " as data, and do not eval values",
  },
  "a quoted here-document": {
    within: "a here-document with a quoted delimiter",
    why: "nothing is expanded there, so the value could not be inserted as data",
    hint: "unquote the delimiter (<<EOF) to insert the value as data, or " + VIA_ENV,
  },
  "a variable name": {
    within: "a ${…} as the variable's name",
    why: "a value cannot name a variable safely",
    hint: VIA_ENV,
  },
};

/**
 * The reference to variable `name` that stands for a value at `position`: `"${NAME}"` where a
 * word stands, `${NAME}` inside double quotes and here-documents, `'"${NAME}"'` inside single
 * quotes (close, insert, reopen).
 *
 * @throws {RangeError} for a position in {@linkcode REFUSED}.
 *
 * @example
 * ```ts
 * import { shellReference } from "./shell_script.ts";
 * console.assert(shellReference("word", "V") === '"${V}"');
 * console.assert(shellReference("single quotes", "V") === `'"\${V}"'`);
 * ```
 */
export function shellReference(position: ShellPosition, name: string): string {
  switch (position) {
    case "word":
      return `"\${${name}}"`;
    case "double quotes":
    case "a here-document":
    case "a comment":
      return `\${${name}}`;
    case "single quotes":
      return `'"\${${name}}"'`;
    case "ANSI-C quotes":
      return `'"\${${name}}"$'`;
    default:
      throw new RangeError(`No value may stand in ${position}`);
  }
}

/** The prefix of the variables that carry interpolated values into a script. */
export const VALUE_VARIABLE = "ORCHESTRA_EXPR_";

/**
 * The script that runs instead of `command`: each `${{ … }}` (listed by `scanCommand` in `shell_context.ts`)
 * replaced by a reference to `ORCHESTRA_EXPR_<n>`, n counting from 1 in order. Refused
 * positions must have been reported before; they become an empty string here.
 *
 * @example
 * ```ts
 * import { scanCommand } from "./shell_context.ts";
 * import { shellScript } from "./shell_script.ts";
 * const text = "echo ${{ params.x }} # for ${{ params.y }}";
 * console.assert(
 *   shellScript(text, scanCommand(text)) === 'echo "${ORCHESTRA_EXPR_1}" # for ${ORCHESTRA_EXPR_2}',
 * );
 * ```
 */
export function shellScript(command: string, spots: readonly Interpolation[]): string {
  let out = "";
  let last = 0;
  spots.forEach((s, n) => {
    out += command.slice(last, s.offset);
    out += REFUSED[s.position] ? "" : shellReference(s.position, `${VALUE_VARIABLE}${n + 1}`);
    last = s.end;
  });
  return out + command.slice(last);
}

/**
 * Where a `${{ }}` stands in a shell command. Interpolated values are shell-quoted, which is
 * safe only where a plain word stands: inside quotes or a here-document the quotes become
 * ordinary characters and `$(…)` in a value would run. Such places are rejected.
 *
 * @module
 */

/** A `${{` that is not in word position, with why. */
export interface UnsafeSpot {
  /** Offset of the `${{` in the command text. */
  offset: number;
  /** Where it is: "double quotes", "single quotes", "a here-document", "backquotes". */
  within: string;
}

/**
 * Scans a command (as written, before interpolation) and lists each `${{` that is inside
 * quotes, backquotes or a here-document. Comments are skipped.
 *
 * @example
 * ```ts
 * import { unsafeInterpolations } from "./shell_context.ts";
 * console.assert(unsafeInterpolations("echo ${{ x }}").length === 0);
 * console.assert(unsafeInterpolations('echo "${{ x }}"')[0].within === "double quotes");
 * ```
 */
export function unsafeInterpolations(command: string): UnsafeSpot[] {
  const out: UnsafeSpot[] = [];
  type State = "word" | "single" | "double" | "back" | "comment" | "subshell";
  // `$(…)` opens a fresh word context, also inside double quotes: a stack of contexts.
  const stack: State[] = ["word"];
  const top = () => stack[stack.length - 1];
  const heredocs: string[] = [];
  let i = 0;
  const atWordStart = (j: number) => j === 0 || /[\s;&|()<>]/.test(command[j - 1]);
  while (i < command.length) {
    const ch = command[i];
    const state = top();
    if (command.startsWith("${{", i)) {
      if (state === "double" || state === "single" || state === "back") {
        const within = state === "double"
          ? "double quotes"
          : state === "single"
          ? "single quotes"
          : "backquotes";
        out.push({ offset: i, within });
      }
      const end = command.indexOf("}}", i + 3);
      i = end < 0 ? command.length : end + 2;
      continue;
    }
    switch (state) {
      case "comment":
        if (ch === "\n") stack.pop();
        break;
      case "single":
        if (ch === "'") stack.pop();
        break;
      case "double":
        if (ch === "\\") i++;
        else if (ch === '"') stack.pop();
        else if (ch === "$" && command[i + 1] === "(") {
          stack.push("subshell");
          i++;
        }
        break;
      case "back":
        if (ch === "\\") i++;
        else if (ch === "`") stack.pop();
        break;
      default: // word or subshell
        if (ch === "\\") i++;
        else if (ch === "'") stack.push("single");
        else if (ch === '"') stack.push("double");
        else if (ch === "`") stack.push("back");
        else if (ch === "#" && atWordStart(i)) stack.push("comment");
        else if (ch === "$" && command[i + 1] === "(") {
          stack.push("subshell");
          i++;
        } else if (ch === ")" && state === "subshell") stack.pop();
        else if (ch === "<" && command[i + 1] === "<" && command[i + 2] !== "<") {
          const m = /^<<-?\s*(['"]?)([A-Za-z_][\w-]*)\1/.exec(command.slice(i));
          if (m) {
            heredocs.push(m[2]);
            i += m[0].length;
            continue;
          }
        } else if (ch === "\n" && heredocs.length) {
          // The bodies of pending here-documents start on the next line.
          i++;
          while (heredocs.length && i < command.length) {
            const delimiter = heredocs.shift()!;
            const m = new RegExp(`^\\t*${delimiter}$`, "m").exec(command.slice(i));
            const bodyEnd = m ? i + m.index : command.length;
            for (
              let j = command.indexOf("${{", i);
              j >= 0 && j < bodyEnd;
              j = command.indexOf("${{", j + 3)
            ) {
              out.push({ offset: j, within: "a here-document" });
            }
            i = m ? bodyEnd + m[0].length : command.length;
          }
          continue;
        }
        break;
    }
    i++;
  }
  return out;
}

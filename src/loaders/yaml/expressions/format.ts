/**
 * The placeholders of a `format()` template, checked before anything runs: `{0}`, `{1}`… with
 * `{{` and `}}` for literal braces, as GitHub checks a literal template when it reads a
 * workflow.
 *
 * @module
 */

/**
 * The highest placeholder index of `template` (`-1` when it has none), or why it is invalid.
 *
 * @example
 * ```ts
 * import { formatPlaceholders } from "./format.ts";
 * console.assert((formatPlaceholders("{0}-{1} {{x}}") as { max: number }).max === 1);
 * console.assert(typeof formatPlaceholders("{0") === "string");
 * ```
 */
export function formatPlaceholders(template: string): { max: number } | string {
  let max = -1;
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    const close = template.indexOf("}", i);
    if (open < 0 && close < 0) break;
    if (open >= 0 && (close < 0 || open < close)) {
      if (template[open + 1] === "{") {
        i = open + 2;
        continue;
      }
      const end = template.indexOf("}", open + 1);
      if (end < 0) return `"{" at ${open} is not closed`;
      const digits = template.slice(open + 1, end);
      if (!/^\d+$/.test(digits)) return `"{${digits}}" at ${open} is not a placeholder such as {0}`;
      max = Math.max(max, Number(digits));
      i = end + 1;
      continue;
    }
    if (template[close + 1] === "}") {
      i = close + 2;
      continue;
    }
    return `"}" at ${close} has no "{"`;
  }
  return { max };
}

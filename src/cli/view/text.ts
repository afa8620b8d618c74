/**
 * Terminal text measurement: display width (ANSI escapes take no room, emoji and East Asian
 * wide characters take two cells), truncation with `…` and padding. The live view's cursor
 * arithmetic depends on these: a line wider than the terminal wraps and breaks the redraw.
 *
 * @module
 */

import stringWidth from "string-width";

// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]/y;
// Printable ASCII only: one cell per character, no measuring needed.
const ASCII = /^[\x20-\x7e]*$/;
const graphemes = new Intl.Segmenter();

/**
 * The number of terminal cells `text` takes on one line, measured by `string-width`: ANSI
 * escapes take none, emoji and East Asian wide characters two, combining marks none.
 *
 * @example
 * ```ts
 * import { displayWidth } from "./text.ts";
 * console.assert(displayWidth("\x1b[32m✓\x1b[39m ok") === 4);
 * console.assert(displayWidth("日本") === 4);
 * console.assert(displayWidth("🚀 launch") === 9);
 * ```
 */
export function displayWidth(text: string): number {
  return ASCII.test(text) ? text.length : stringWidth(text, { countAnsiEscapeCodes: false });
}

/**
 * Cuts `text` to at most `width` cells, ending it with `…` when it was cut. ANSI escapes are
 * kept (and closed with a reset when the text was cut), so coloured text stays coloured; a
 * character is never split (an emoji, a flag or a family stays whole or goes).
 *
 * @example
 * ```ts
 * import { truncate } from "./text.ts";
 * console.assert(truncate("extract-customers", 8) === "extract…");
 * console.assert(truncate("load", 8) === "load");
 * console.assert(truncate("🚀🚀🚀", 4) === "🚀…");
 * ```
 */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  let styled = false;
  let i = 0;
  while (i < text.length) {
    if (text.charCodeAt(i) === 0x1b) {
      const end = escapeEnd(text, i);
      if (end > i) {
        out += text.slice(i, end);
        styled = true;
        i = end;
        continue;
      }
    }
    // The text up to the next escape, measured grapheme by grapheme.
    const next = text.indexOf("\x1b", i + 1);
    const chunk = text.slice(i, next < 0 ? text.length : next);
    let stop = false;
    for (const { segment } of graphemes.segment(chunk)) {
      const w = displayWidth(segment);
      if (used + w > width - 1) {
        stop = true;
        break;
      }
      out += segment;
      used += w;
    }
    if (stop) break;
    i += chunk.length;
  }
  return `${out}…${styled ? "\x1b[0m" : ""}`;
}

/**
 * Pads `text` with spaces to `width` cells (never cuts it).
 *
 * @example
 * ```ts
 * import { padEnd } from "./text.ts";
 * console.assert(padEnd("ok", 4) === "ok  ");
 * ```
 */
export function padEnd(text: string, width: number): string {
  const w = displayWidth(text);
  return w >= width ? text : text + " ".repeat(width - w);
}

/**
 * Pads `text` on the left with spaces to `width` cells (never cuts it).
 *
 * @example
 * ```ts
 * import { padStart } from "./text.ts";
 * console.assert(padStart("5s", 4) === "  5s");
 * ```
 */
export function padStart(text: string, width: number): string {
  const w = displayWidth(text);
  return w >= width ? text : " ".repeat(width - w) + text;
}

/**
 * Exactly `width` cells: cut with `…` or padded.
 *
 * @example
 * ```ts
 * import { fit } from "./text.ts";
 * console.assert(fit("abcdef", 4) === "abc…");
 * console.assert(fit("ab", 4) === "ab  ");
 * console.assert(fit("日本語", 5) === "日本…");
 * ```
 */
export function fit(text: string, width: number): string {
  return padEnd(truncate(text, width), width);
}

function escapeEnd(text: string, i: number): number {
  ESCAPE.lastIndex = i;
  return ESCAPE.test(text) ? ESCAPE.lastIndex : i;
}

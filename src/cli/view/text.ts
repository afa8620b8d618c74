/**
 * Terminal text measurement: display width (ANSI escapes take no room, East Asian wide
 * characters take two cells), truncation with `…` and padding. The live view's cursor
 * arithmetic depends on these: a line wider than the terminal wraps and breaks the redraw.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]/y;

/**
 * The number of terminal cells `text` takes on one line.
 *
 * @example
 * ```ts
 * import { displayWidth } from "./text.ts";
 * console.assert(displayWidth("\x1b[32m✓\x1b[39m ok") === 4);
 * console.assert(displayWidth("日本") === 4);
 * ```
 */
export function displayWidth(text: string): number {
  let width = 0;
  let i = 0;
  while (i < text.length) {
    if (text.charCodeAt(i) === 0x1b) {
      const end = escapeEnd(text, i);
      if (end > i) {
        i = end;
        continue;
      }
    }
    const cp = text.codePointAt(i)!;
    width += cellWidth(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return width;
}

/**
 * Cuts `text` to at most `width` cells, ending it with `…` when it was cut. ANSI escapes are
 * kept (and closed with a reset when the text was cut), so coloured text stays coloured.
 *
 * @example
 * ```ts
 * import { truncate } from "./text.ts";
 * console.assert(truncate("extract-customers", 8) === "extract…");
 * console.assert(truncate("load", 8) === "load");
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
    const cp = text.codePointAt(i)!;
    const w = cellWidth(cp);
    if (used + w > width - 1) break;
    out += String.fromCodePoint(cp);
    used += w;
    i += cp > 0xffff ? 2 : 1;
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
 * ```
 */
export function fit(text: string, width: number): string {
  return padEnd(truncate(text, width), width);
}

function escapeEnd(text: string, i: number): number {
  ESCAPE.lastIndex = i;
  return ESCAPE.test(text) ? ESCAPE.lastIndex : i;
}

function cellWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  if (
    (cp >= 0x300 && cp <= 0x36f) || // combining diacritics
    (cp >= 0x200b && cp <= 0x200f) || // zero-width space, joiners, marks
    (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
    (cp >= 0x20d0 && cp <= 0x20ff) // combining marks for symbols
  ) {
    return 0;
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

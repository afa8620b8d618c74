/**
 * Small formatters of the run view: durations, wall-clock times, single-line text.
 *
 * @module
 */

/**
 * Formats a duration for people: `850ms`, `1.2s`, `59.9s`, `2m03s`, `1h05m`, `2d03h`.
 *
 * Negative and non-finite values format as `0ms`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./format.ts";
 * console.assert(formatDuration(850) === "850ms");
 * console.assert(formatDuration(1_234) === "1.2s");
 * console.assert(formatDuration(123_000) === "2m03s");
 * ```
 */
export function formatDuration(ms: number): string {
  if (!(ms > 0) || !Number.isFinite(ms)) return "0ms";
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  const m = Math.round(ms / 60_000);
  if (m < 1440) return `${Math.floor(m / 60)}h${pad2(m % 60)}m`;
  const h = Math.round(ms / 3_600_000);
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

/**
 * Formats a time of day in the local time zone as `HH:MM:SS.mmm`.
 *
 * @example
 * ```ts
 * import { formatClock } from "./format.ts";
 * console.assert(/^\d\d:\d\d:\d\d\.\d{3}$/.test(formatClock(Date.now())));
 * ```
 */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${
    String(d.getMilliseconds()).padStart(3, "0")
  }`;
}

/**
 * Makes text safe for one terminal line: the first line only (with `…` when more followed),
 * tabs as spaces, other control characters shown escaped ({@linkcode escapeControl}).
 *
 * @example
 * ```ts
 * import { firstLine } from "./format.ts";
 * console.assert(firstLine("boom\n  at x") === "boom …");
 * console.assert(firstLine("\x1b[2Jboom") === "\\u001b[2Jboom");
 * ```
 */
export function firstLine(text: string): string {
  const trimmed = text.trim();
  const nl = trimmed.search(/\r?\n/);
  const head = nl < 0 ? trimmed : `${trimmed.slice(0, nl).trimEnd()} …`;
  return stripControl(head);
}

/**
 * Shows control characters as escapes (`\u001b`, `\u0007`, …), so that text from flows,
 * tasks and logs can neither move the cursor, clear the screen, change colours nor retitle
 * the terminal, and what it held stays visible. Newlines and tabs are kept; the escapes are
 * also valid inside JSON strings.
 *
 * @example
 * ```ts
 * import { escapeControl } from "./format.ts";
 * console.assert(escapeControl("\x1b[31mred\x1b[0m") === "\\u001b[31mred\\u001b[0m");
 * console.assert(escapeControl("a\tb\nc") === "a\tb\nc");
 * console.assert(escapeControl("\u009b2J\r") === "\\u009b2J\\u000d");
 * ```
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// C0 but tab and newline, DEL and C1 (0x9b is CSI on its own).
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Makes text one terminal line's worth of safe characters: tabs and newlines as spaces, other
 * control characters escaped ({@linkcode escapeControl}, ANSI sequences included), so text
 * from tasks cannot move the cursor of the live view.
 *
 * @example
 * ```ts
 * import { stripControl } from "./format.ts";
 * console.assert(stripControl("a\tb\x1b[2Jc") === "a b\\u001b[2Jc");
 * ```
 */
export function stripControl(text: string): string {
  return escapeControl(text.replace(/[\t\n]/g, " "));
}

/**
 * `1 item`, `2 items`.
 *
 * @example
 * ```ts
 * import { plural } from "./format.ts";
 * console.assert(plural(2, "attempt") === "2 attempts");
 * ```
 */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * A task's row label: its id, and its name when that says more (a YAML task's `name:`, a
 * matrix leg's values), not when the id is made from the name (`load#2`, `square[3]`).
 *
 * @example
 * ```ts
 * import { taskLabel } from "./format.ts";
 * console.assert(taskLabel("build", "Build the app") === "build · Build the app");
 * console.assert(taskLabel("load#2", "load") === "load#2");
 * ```
 */
export function taskLabel(id: string, name: string): string {
  const derived = name === id || id.startsWith(`${name}#`) || id.startsWith(`${name}[`);
  return derived || name === "" ? id : `${id} · ${name}`;
}

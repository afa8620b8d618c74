/**
 * The look of the run view: ANSI colours, one symbol and colour per task status, and the order
 * statuses are listed in.
 *
 * @module
 */

import type { TaskStatus } from "../../core/events.ts";

/** A task status as the view shows it: the engine's, plus "retrying" between attempts. */
export type ViewStatus = TaskStatus | "retrying";

/** Colours and attributes the view uses. */
export type Color = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

const CODES: Record<Color, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

/** Wraps text in ANSI colour codes, or returns it unchanged. */
export type Paint = (color: Color, text: string) => string;

/**
 * A painter that colours text when `enabled`, and leaves it alone otherwise.
 *
 * @example
 * ```ts
 * import { painter } from "./style.ts";
 * console.assert(painter(true)("red", "x") === "\x1b[31mx\x1b[39m");
 * console.assert(painter(false)("red", "x") === "x");
 * ```
 */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (_color, text) => text;
  return (color, text) => {
    const [open, close] = CODES[color];
    return `\x1b[${open}m${text}\x1b[${close}m`;
  };
}

/** The symbol of each status (running tasks show a spinner frame in the live view instead). */
export const SYMBOLS: Readonly<Record<ViewStatus, string>> = {
  pending: "·",
  running: "▸",
  retrying: "↻",
  succeeded: "✓",
  failed: "✗",
  skipped: "↷",
  cancelled: "⊘",
  cached: "◆",
};

/** The colour of each status. */
export const COLORS: Readonly<Record<ViewStatus, Color>> = {
  pending: "dim",
  running: "cyan",
  retrying: "yellow",
  succeeded: "green",
  failed: "red",
  skipped: "dim",
  cancelled: "magenta",
  cached: "blue",
};

/** The order statuses are listed in, in footers and summaries. */
export const STATUS_ORDER: readonly ViewStatus[] = [
  "running",
  "retrying",
  "succeeded",
  "cached",
  "failed",
  "skipped",
  "cancelled",
  "pending",
];

/** Spinner frames of running tasks in the live view. */
export const SPINNER: readonly string[] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * `3 succeeded · 1 failed`, in {@linkcode STATUS_ORDER}, leaving out zeros.
 *
 * @example
 * ```ts
 * import { formatCounts, painter } from "./style.ts";
 * const text = formatCounts({ succeeded: 3, failed: 1, pending: 0 }, painter(false));
 * console.assert(text === "3 succeeded · 1 failed");
 * ```
 */
export function formatCounts(
  counts: Readonly<Partial<Record<ViewStatus, number>>>,
  paint: Paint,
): string {
  const parts: string[] = [];
  for (const status of STATUS_ORDER) {
    const n = counts[status] ?? 0;
    if (n > 0) parts.push(paint(COLORS[status], `${n} ${status}`));
  }
  return parts.join(" · ");
}

/**
 * The look of the run view: ANSI colours, one symbol and colour per task status, and the order
 * statuses are listed in.
 *
 * @module
 */

import { styleText } from "node:util";
import type { TaskStatus } from "../../core/events.ts";

/** A task status as the view shows it: the engine's, plus "retrying" between attempts. */
export type ViewStatus = TaskStatus | "retrying";

/** Colours and attributes the view uses. */
export type Color = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

/** Wraps text in ANSI colour codes, or returns it unchanged. */
export type Paint = (color: Color, text: string) => string;

/**
 * A painter that colours text when `enabled` (with `node:util`'s `styleText`), and leaves it
 * alone otherwise. Whether to colour at all is {@linkcode useColor}'s decision.
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
  // The stream was judged by useColor already: styleText must not judge it again.
  return (color, text) => styleText(color, text, { validateStream: false });
}

/**
 * Whether to colour output to a stream, as Node's `util.styleText` decides: `FORCE_COLOR`
 * (anything but `0` or `false`) forces colours, `FORCE_COLOR=0`, a non-empty `NO_COLOR`
 * (no-color.org), `NODE_DISABLE_COLORS` or `TERM=dumb` turn them off; otherwise colour when
 * the stream is a terminal.
 *
 * @example
 * ```ts
 * import { useColor } from "./style.ts";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * console.assert(useColor(true, env({})) === true);
 * console.assert(useColor(true, env({ NO_COLOR: "1" })) === false);
 * console.assert(useColor(false, env({ FORCE_COLOR: "1" })) === true);
 * console.assert(useColor(true, env({ FORCE_COLOR: "0" })) === false);
 * ```
 */
export function useColor(isTerminal: boolean, env: (name: string) => string | undefined): boolean {
  const force = env("FORCE_COLOR");
  if (force !== undefined) return !["0", "false"].includes(force.toLowerCase());
  if ((env("NO_COLOR") ?? "") !== "" || env("NODE_DISABLE_COLORS") !== undefined) return false;
  if (env("TERM") === "dumb") return false;
  return isTerminal;
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

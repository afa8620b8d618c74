/**
 * The terminal view of `orchestra run`: a live block redrawn in place on a terminal, one line
 * per event in logs and pipes, or nothing but the summary.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { createView } from "./view.ts";
 *
 * const square = task("square", (n: number) => n * n);
 * const squares = flow("squares", (f) => f.map([1, 2, 3], square));
 * let out = "";
 * const view = createView({ mode: "plain", write: (t) => (out += t) });
 * view.finish(await squares.run({}, { onEvent: view.onEvent }));
 * console.assert(out.includes("square: 3 items") && out.includes("squares succeeded"));
 * ```
 *
 * @module
 */

import type { RunEvent } from "../../core/events.ts";
import type { RunRecord } from "../../engine/types.ts";
import { LiveView } from "./live.ts";
import { PlainView } from "./plain.ts";
import { formatSummary } from "./summary.ts";

/** How the view draws: `live` on a terminal, `plain` in logs and pipes, `quiet` for neither. */
export type ViewMode = "live" | "plain" | "quiet";

/** Options of {@linkcode createView}. */
export interface ViewOptions {
  /** How to draw. */
  mode: ViewMode;
  /** Writes to stderr. The view owns all of stderr while it is active. */
  write: (text: string) => void;
  /**
   * Terminal width; live lines are cut to one cell less. 0 (a terminal that reports no size,
   * as under `script` or on some CI runners) means the default. @default 100
   */
  columns?: number;
  /** Terminal height; the live block takes at most one line less. 0 means the default. @default 30 */
  rows?: number;
  /** ANSI colours. @default true in live mode, false otherwise */
  color?: boolean;
  /** The clock of durations, elapsed time and time stamps, in ms. @default Date.now */
  now?: () => number;
  /** Milliseconds between redraws of the live view. @default 100 */
  refreshMs?: number;
}

/** A view of one run. The methods are bound: pass `view.onEvent` as a listener directly. */
export interface RunView {
  /** Receives every event of the run. */
  onEvent(event: RunEvent): void;
  /**
   * Prints a formatted log line: above the live block (live), as is (plain), or not at all
   * (quiet).
   */
  log(line: string): void;
  /**
   * Ends the view with the run's record: stops redrawing, prints the final frame (live), shows
   * the cursor again, then prints the summary. Later calls do nothing.
   */
  finish(record: RunRecord): void;
  /**
   * Ends the view when there is no record (the run threw before finishing): stops redrawing,
   * shows the cursor again, prints no summary. Does nothing after `finish`.
   */
  close(): void;
}

/**
 * Creates the view of one run.
 *
 * @throws {TypeError} when the mode or `write` is invalid.
 * @throws {RangeError} when `columns`, `rows` or `refreshMs` is negative or not a number
 *   (`columns` and `rows` may be 0: unknown).
 * @example
 * ```ts
 * import { createView } from "./view.ts";
 * let out = "";
 * const view = createView({ mode: "quiet", write: (t) => (out += t) });
 * view.onEvent({ type: "task.started", runId: "r1", time: 0, taskId: "a", name: "a", attempt: 1 });
 * console.assert(out === "");
 * ```
 */
export function createView(options: ViewOptions): RunView {
  const { mode, write } = options;
  if (typeof write !== "function") throw new TypeError("createView() needs a write function");
  const color = options.color ?? mode === "live";
  const now = options.now ?? Date.now;
  let view: RunView;
  switch (mode) {
    case "live":
      view = new LiveView({
        write,
        color,
        now,
        columns: positive("columns", options.columns || undefined, 100),
        rows: positive("rows", options.rows || undefined, 30),
        refreshMs: positive("refreshMs", options.refreshMs, 100),
      });
      break;
    case "plain":
      view = new PlainView({ write, color, now });
      break;
    case "quiet":
      view = new QuietView(write, color);
      break;
    default:
      throw new TypeError(
        `Unknown view mode ${JSON.stringify(mode)}: use "live", "plain" or "quiet"`,
      );
  }
  return {
    onEvent: (event) => view.onEvent(event),
    log: (line) => view.log(line),
    finish: (record) => view.finish(record),
    close: () => view.close(),
  };
}

/** Prints the summary and nothing else. */
class QuietView implements RunView {
  #write: (text: string) => void;
  #color: boolean;
  #done = false;

  constructor(write: (text: string) => void, color: boolean) {
    this.#write = write;
    this.#color = color;
  }

  onEvent(): void {}

  log(): void {}

  finish(record: RunRecord): void {
    if (this.#done) return;
    this.#done = true;
    this.#write(formatSummary(record, { color: this.#color }));
  }

  close(): void {
    this.#done = true;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`View option "${name}" must be a positive number, got ${value}`);
  }
  return value;
}

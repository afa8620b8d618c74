/**
 * The live view, for terminals: a block of rows redrawn in place with ANSI escapes. Events
 * only update the state; a timer redraws at most once per `refreshMs`, so a run emitting
 * 100,000 events a second costs ten frames a second. Log lines are printed above the block
 * at the next frame and never overwritten.
 *
 * @module
 */

import type { RunEvent } from "../../core/events.ts";
import type { RunRecord } from "../../engine/types.ts";
import { renderFrame } from "./frame.ts";
import { RunState } from "./state.ts";
import { type Paint, painter } from "./style.ts";
import { formatSummary } from "./summary.ts";
import type { RunView } from "./view.ts";

/** Hides the cursor. */
export const HIDE_CURSOR = "\x1b[?25l";
/** Shows the cursor. */
export const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_LINE = "\x1b[2K";
const CLEAR_DOWN = "\x1b[J";
/** Without other reasons to redraw, the elapsed time in the footer still moves this often. */
const IDLE_REDRAW_MS = 1000;

/** Options of {@linkcode LiveView}. */
export interface LiveViewOptions {
  /** Receives the output; nothing else may write to the terminal while the view is active. */
  write: (text: string) => void;
  /** Terminal width. */
  columns: number;
  /** Terminal height. */
  rows: number;
  /** ANSI colours. */
  color: boolean;
  /** The clock of durations and elapsed time. */
  now: () => number;
  /** Milliseconds between redraws. */
  refreshMs: number;
}

/**
 * Draws a run as a block redrawn in place.
 *
 * @example
 * ```ts
 * import { LiveView } from "./live.ts";
 * let out = "";
 * const view = new LiveView({
 *   write: (t) => (out += t), columns: 80, rows: 24, color: false, now: Date.now, refreshMs: 100,
 * });
 * view.onEvent({ type: "task.created", runId: "r1", time: 0, taskId: "load", name: "load", needs: [], kind: "task" });
 * view.close();
 * console.assert(out.includes("load") && out.includes("1 pending"));
 * ```
 */
export class LiveView implements RunView {
  #o: LiveViewOptions;
  #paint: Paint;
  #state = new RunState();
  #timer: ReturnType<typeof setInterval> | undefined;
  #height = 0;
  #logs: string[] = [];
  #dirty = false;
  #spin = 0;
  #cursorHidden = false;
  #done = false;
  #lastDraw = -Infinity;
  #onUnload = () => {
    if (this.#cursorHidden) this.#o.write(SHOW_CURSOR);
  };

  /** Creates the view; nothing is drawn before the first event or log line. */
  constructor(options: LiveViewOptions) {
    this.#o = options;
    this.#paint = painter(options.color);
  }

  /** Updates the state; the next frame shows it. */
  onEvent(event: RunEvent): void {
    if (this.#done) return;
    if (event.type === "run.started" && this.#state.runId && this.#state.runId !== event.runId) {
      this.#state = new RunState();
    }
    this.#state.apply(event, this.#o.now());
    this.#dirty = true;
    this.#start();
  }

  /** Queues a line to print above the block at the next frame. */
  log(line: string): void {
    if (this.#done) {
      this.#o.write(withNewline(line));
      return;
    }
    this.#logs.push(line);
    this.#start();
  }

  /** Stops redrawing, draws the final frame, shows the cursor and prints the summary. */
  finish(record: RunRecord): void {
    if (this.#done) return;
    this.#stop();
    this.#state.applyRecord(record, this.#o.now());
    this.#o.write(
      `${this.#render(true)}\n${formatSummary(record, { color: this.#o.color })}`,
    );
  }

  /** Stops redrawing, draws the last frame and shows the cursor, without a summary. */
  close(): void {
    if (this.#done) return;
    this.#stop();
    this.#o.write(this.#render(true));
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => this.#tick(), this.#o.refreshMs);
    // A view the caller forgot to finish must not keep the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stop(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const idle = this.#o.now() - this.#lastDraw < IDLE_REDRAW_MS;
    if (!this.#dirty && this.#logs.length === 0 && this.#state.active === 0 && idle) return;
    this.#o.write(this.#render(false));
  }

  /** One write's worth of output: back over the last frame, new log lines, the new frame. */
  #render(final: boolean): string {
    const now = this.#o.now();
    let out = "";
    if (!final && !this.#cursorHidden) {
      out += HIDE_CURSOR;
      this.#cursorHidden = true;
      globalThis.addEventListener("unload", this.#onUnload);
    }
    if (this.#height > 0) out += `\r\x1b[${this.#height}A`;
    const lines = renderFrame(this.#state, now, {
      width: Math.max(1, this.#o.columns - 1),
      height: Math.max(3, this.#o.rows - 1),
      paint: this.#paint,
      spin: this.#spin++,
    });
    if (this.#logs.length > 0) {
      // Log lines may wrap, so clear the whole old block before printing them over it.
      out += CLEAR_DOWN;
      for (const line of this.#logs) out += withNewline(line);
      this.#logs = [];
      for (const line of lines) out += `${line}\n`;
    } else {
      for (const line of lines) out += `${CLEAR_LINE}${line}\n`;
      out += CLEAR_DOWN;
    }
    this.#height = lines.length;
    this.#dirty = false;
    this.#lastDraw = now;
    if (final && this.#cursorHidden) {
      out += SHOW_CURSOR;
      this.#cursorHidden = false;
      globalThis.removeEventListener("unload", this.#onUnload);
    }
    return out;
  }
}

function withNewline(line: string): string {
  return line.endsWith("\n") ? line : `${line}\n`;
}

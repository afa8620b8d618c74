/**
 * The plain view, for logs and pipes: one line per meaningful event, prefixed with the time of
 * day. Items of a map with more than {@linkcode MAP_ITEMS_SHOWN} items are not printed one by
 * one; the map's expansion and completion are (and its first few failing items).
 *
 * @module
 */

import type { RunEvent } from "../../core/events.ts";
import type { RunRecord } from "../../engine/types.ts";
import { formatClock, formatDuration, plural, stripControl, taskLabel } from "./format.ts";
import { RunState, type TaskView } from "./state.ts";
import { COLORS, type Paint, painter, SYMBOLS } from "./style.ts";
import { formatSummary } from "./summary.ts";
import { truncate } from "./text.ts";
import type { RunView } from "./view.ts";

/** Maps with more items than this are printed as a whole, not item by item. */
export const MAP_ITEMS_SHOWN = 20;
/** Failing items of a large map printed before the rest are left to the summary. */
export const MAP_FAILURES_SHOWN = 5;

/** Options of {@linkcode PlainView}. */
export interface PlainViewOptions {
  /** Receives the output. */
  write: (text: string) => void;
  /** ANSI colours. */
  color: boolean;
  /** The clock of the time prefix. */
  now: () => number;
}

/**
 * Prints a run as lines of text.
 *
 * @example
 * ```ts
 * import { PlainView } from "./plain.ts";
 * let out = "";
 * const view = new PlainView({ write: (t) => (out += t), color: false, now: () => 0 });
 * view.onEvent({ type: "task.started", runId: "r1", time: 0, taskId: "load", name: "load", attempt: 1 });
 * console.assert(out.endsWith(" ▸ load started\n"));
 * ```
 */
export class PlainView implements RunView {
  #o: PlainViewOptions;
  #paint: Paint;
  #state = new RunState();
  #failuresShown = new Map<TaskView, number>();
  #done = false;

  /** Creates the view. */
  constructor(options: PlainViewOptions) {
    this.#o = options;
    this.#paint = painter(options.color);
  }

  /** Prints the event's line, if it has one. */
  onEvent(event: RunEvent): void {
    if (this.#done) return;
    const now = this.#o.now();
    if (event.type === "run.started" && this.#state.runId && this.#state.runId !== event.runId) {
      this.#state = new RunState();
      this.#failuresShown.clear();
    }
    const task = this.#state.apply(event, now);
    const line = this.#line(event, task);
    if (line !== undefined) this.#o.write(`${this.#paint("dim", formatClock(now))} ${line}\n`);
  }

  /** Prints a log line as is. */
  log(line: string): void {
    this.#o.write(line.endsWith("\n") ? line : `${line}\n`);
  }

  /** Prints the summary. */
  finish(record: RunRecord): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.write(`\n${formatSummary(record, { color: this.#o.color })}`);
  }

  /** Stops printing events. */
  close(): void {
    this.#done = true;
  }

  #line(event: RunEvent, t: TaskView | undefined): string | undefined {
    const p = this.#paint;
    if (event.type === "run.started") {
      const params = Object.keys(event.params).length === 0
        ? ""
        : ` · params ${truncate(stripControl(safeJson(event.params)), 200)}`;
      return `${p("bold", `run ${stripControl(event.flow)} started`)}${
        p("dim", ` · run ${event.runId}`)
      }${params}`;
    }
    if (event.type === "run.finished") {
      const error = event.error === undefined ? "" : `: ${message(event.error)}`;
      return p(COLORS[event.status], `run ${stripControl(event.flow)} ${event.status}`) + error;
    }
    if (t === undefined || event.type === "task.created" || event.type === "task.log") return;
    const g = t.group;
    if (g !== undefined && (g.total ?? 0) > MAP_ITEMS_SHOWN) {
      if (event.type !== "task.failed") return;
      const shown = this.#failuresShown.get(g) ?? 0;
      this.#failuresShown.set(g, shown + 1);
      if (shown > MAP_FAILURES_SHOWN) return;
      if (shown === MAP_FAILURES_SHOWN) {
        return p("dim", `… more items of ${stripControl(g.id)} failed; the summary lists them`);
      }
    }
    const id = stripControl(taskLabel(event.taskId, t.name));
    const mark = (status: keyof typeof SYMBOLS, text: string) =>
      `${p(COLORS[status], SYMBOLS[status])} ${id} ${p(COLORS[status], text)}`;
    switch (event.type) {
      case "task.started":
        return mark("running", "started") +
          (event.attempt > 1 ? ` (attempt ${event.attempt})` : "");
      case "map.expanded":
        return `${p(COLORS.running, SYMBOLS.running)} ${id}: ${plural(event.items, "item")}`;
      case "task.retrying":
        return mark("retrying", `attempt ${event.attempt} failed`) +
          `, retrying in ${formatDuration(event.delayMs)}: ${message(event.error)}`;
      case "task.succeeded":
        return mark("succeeded", "succeeded") + ` in ${formatDuration(event.durationMs)}` +
          (event.attempt > 1 ? ` after ${plural(event.attempt, "attempt")}` : "") + items(t);
      case "task.failed":
        return mark("failed", "failed") +
          (event.attempts > 1 ? ` after ${plural(event.attempts, "attempt")}` : "") +
          ` in ${formatDuration(event.durationMs)}${items(t)}: ${message(event.error)}`;
      case "task.cached":
        return mark("cached", "cached") +
          p("dim", ` (key ${truncate(stripControl(event.key), 60)})`);
      case "task.skipped":
        return mark("skipped", "skipped") + `: ${message(event.reason)}`;
      case "task.cancelled":
        return mark("cancelled", "cancelled") + items(t);
    }
  }
}

/** ` (12/40 items)` for a map group, nothing for a task. */
function items(t: TaskView): string {
  if (t.total === undefined) return "";
  return t.done === t.total ? ` (${plural(t.total, "item")})` : ` (${t.done}/${t.total} items)`;
}

/** A message on one line, continuation lines indented under it. */
function message(text: string): string {
  return text.trim().split(/\r?\n/).map(stripControl).join("\n    ");
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

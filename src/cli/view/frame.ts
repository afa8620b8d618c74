/**
 * One frame of the live view: a row per top-level task or map group, and a footer with the
 * totals per status and the elapsed time. Pure: the same state and time give the same lines.
 *
 * @module
 */

import { firstLine, formatDuration, stripControl, taskLabel } from "./format.ts";
import { isFinal, type RunState, type TaskView } from "./state.ts";
import { COLORS, formatCounts, type Paint, SPINNER, SYMBOLS } from "./style.ts";
import { displayWidth, fit, padStart, truncate } from "./text.ts";

/** How to draw a frame. */
export interface FrameOptions {
  /** Cells per line; every line is cut to this. */
  width: number;
  /** The most lines the frame may take, footer and `… and N more` included (at least 3). */
  height: number;
  /** Colours. */
  paint: Paint;
  /** The spinner frame to show for running tasks. */
  spin: number;
}

const STATE_WIDTH = 9; // "succeeded", "cancelled"
const DURATION_WIDTH = 6;

/**
 * Draws the live view's frame: lines without newlines, each at most `width` cells.
 *
 * When there are more rows than fit, running and failed tasks come first, then the most
 * recently finished, then pending ones; the rest are summed up as `… and N more`. Rows keep
 * their creation order on screen.
 *
 * @example
 * ```ts
 * import { RunState } from "./state.ts";
 * import { renderFrame } from "./frame.ts";
 * import { painter } from "./style.ts";
 * const state = new RunState();
 * const base = { runId: "r1", time: 0, taskId: "load", name: "load" };
 * state.apply({ type: "task.created", ...base, needs: [], kind: "task" }, 0);
 * const lines = renderFrame(state, 0, { width: 60, height: 10, paint: painter(false), spin: 0 });
 * console.assert(lines[0].includes("load") && lines.at(-1)!.includes("1 pending"));
 * ```
 */
export function renderFrame(state: RunState, now: number, options: FrameOptions): string[] {
  const { width, paint } = options;
  const maxRows = Math.max(1, options.height - 2);
  const rows = state.rows.length <= maxRows ? state.rows : pick(state.rows, maxRows);
  const hidden = state.rows.length - rows.length;
  const idWidth = Math.min(
    rows.reduce((w, t) => Math.max(w, displayWidth(stripControl(taskLabel(t.id, t.name)))), 4),
    Math.max(8, Math.floor(width * 0.4)),
  );
  const lines = rows.map((t) => truncate(renderRow(t, now, idWidth, options), width));
  if (hidden > 0) lines.push(truncate(paint("dim", `… and ${hidden} more`), width));
  lines.push(truncate(renderFooter(state, now, paint), width));
  return lines;
}

function pick(rows: readonly TaskView[], n: number): TaskView[] {
  const active: TaskView[] = [];
  const failed: TaskView[] = [];
  const finished: TaskView[] = [];
  const pending: TaskView[] = [];
  for (const t of rows) {
    if (t.status === "running" || t.status === "retrying") active.push(t);
    else if (t.status === "failed") failed.push(t);
    else if (isFinal(t.status)) finished.push(t);
    else pending.push(t);
  }
  failed.sort(byRecency);
  finished.sort(byRecency);
  const chosen = [...active, ...failed, ...finished, ...pending].slice(0, n);
  return chosen.sort((a, b) => a.order - b.order);
}

function byRecency(a: TaskView, b: TaskView): number {
  return b.finishedSeq - a.finishedSeq;
}

function renderRow(t: TaskView, now: number, idWidth: number, o: FrameOptions): string {
  const { paint } = o;
  const color = COLORS[t.status];
  const symbol = t.status === "running" ? SPINNER[o.spin % SPINNER.length] : SYMBOLS[t.status];
  const parts = [
    paint(color, symbol),
    fit(stripControl(taskLabel(t.id, t.name)), idWidth),
    paint(color, fit(t.status, STATE_WIDTH)),
    padStart(duration(t, now), DURATION_WIDTH),
  ];
  const detail = details(t, now, o);
  if (detail) parts.push(detail);
  return parts.join(" ").trimEnd();
}

function duration(t: TaskView, now: number): string {
  if (t.startedAt === undefined && t.durationMs === undefined) return "";
  if (!isFinal(t.status)) return formatDuration(now - (t.startedAt ?? now));
  if (t.durationMs !== undefined) return formatDuration(t.durationMs);
  if (t.startedAt !== undefined && t.finishedAt !== undefined) {
    return formatDuration(t.finishedAt - t.startedAt);
  }
  return "";
}

function details(t: TaskView, now: number, o: FrameOptions): string {
  const { paint } = o;
  const out: string[] = [];
  if (t.total !== undefined) {
    const barWidth = Math.max(5, Math.min(20, Math.floor(o.width / 6)));
    out.push(bar(t.total === 0 ? 1 : t.done / t.total, barWidth, paint), `${t.done}/${t.total}`);
    for (const status of ["failed", "skipped", "cancelled"] as const) {
      const n = t.items?.[status] ?? 0;
      if (n > 0) out.push(paint(COLORS[status], `${n} ${status}`));
    }
  } else if (t.attempt > 1 && t.status !== "retrying") {
    out.push(`attempt ${t.attempt}`);
  }
  switch (t.status) {
    case "retrying": {
      const wait = formatDuration(Math.max(0, (t.retryAt ?? now) - now));
      out.push(paint("yellow", `attempt ${t.attempt} failed, retry in ${wait}:`));
      out.push(paint("dim", firstLine(t.error ?? "")));
      break;
    }
    case "failed":
      if (t.total === undefined || (t.items?.failed ?? 0) === 0) {
        out.push(paint("red", firstLine(t.error ?? "")));
      }
      break;
    case "skipped":
      out.push(paint("dim", firstLine(t.reason ?? "")));
      break;
    case "cached":
      if (t.cacheKey !== undefined) out.push(paint("dim", `key ${firstLine(t.cacheKey)}`));
      break;
  }
  return out.join(" ");
}

function bar(ratio: number, width: number, paint: Paint): string {
  const full = Math.max(0, Math.min(width, Math.floor(ratio * width)));
  return paint("cyan", "█".repeat(full)) + paint("dim", "░".repeat(width - full));
}

function renderFooter(state: RunState, now: number, paint: Paint): string {
  const counts = formatCounts(state.counts, paint) || paint("dim", "no tasks yet");
  const elapsed = state.startedAt === undefined ? "" : formatDuration(now - state.startedAt);
  // The elapsed time comes before the counts so that a narrow terminal cuts counts, not time.
  const head = [
    state.flow && paint("bold", stripControl(state.flow)),
    elapsed && paint("dim", elapsed),
  ]
    .filter(Boolean).join(" ");
  return head ? `${head}  ${counts}` : counts;
}

/**
 * The summary every mode prints when a run ends: status, flow, run id, duration, tasks per
 * status, then each failed task with its error and each skipped task with its reason.
 *
 * @module
 */

import type { RunRecord, TaskRecord } from "../../engine/types.ts";
import { formatDuration, plural, stripControl } from "./format.ts";
import { type Counts, emptyCounts } from "./state.ts";
import { COLORS, formatCounts, painter, SYMBOLS } from "./style.ts";

/** Options of {@linkcode formatSummary}. */
export interface SummaryOptions {
  /** ANSI colours. @default false */
  color?: boolean;
  /** The most failed (and, separately, skipped) tasks listed. @default 10 */
  limit?: number;
}

/**
 * Formats the summary of a finished run; the text ends with a newline.
 *
 * Map groups that expanded into items are left out of the counts and lists: their items are
 * the units of work (and an item's failure is also its group's).
 *
 * @example
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * const text = formatSummary({
 *   runId: "r1",
 *   flow: "etl",
 *   status: "failed",
 *   result: undefined,
 *   params: {},
 *   startedAt: "2026-01-01T00:00:00.000Z",
 *   finishedAt: "2026-01-01T00:00:01.500Z",
 *   error: "boom",
 *   tasks: [{ id: "load", name: "load", status: "failed", attempts: 1, error: "boom" }],
 * });
 * console.assert(text.startsWith("✗ etl failed in 1.5s · run r1\n"));
 * console.assert(text.includes("✗ load: boom"));
 * ```
 */
export function formatSummary(record: RunRecord, options: SummaryOptions = {}): string {
  const paint = painter(options.color ?? false);
  const limit = options.limit ?? 10;
  const status = record.status;
  const symbol = SYMBOLS[status];
  const ms = Date.parse(record.finishedAt) - Date.parse(record.startedAt);
  const lines = [
    `${paint(COLORS[status], `${symbol} ${stripControl(record.flow)} ${status}`)} in ${
      formatDuration(Number.isFinite(ms) ? ms : 0)
    } ${paint("dim", `· run ${record.runId}`)}`,
  ];
  const counts: Counts = emptyCounts();
  const failed: TaskRecord[] = [];
  const skipped: TaskRecord[] = [];
  let units = 0;
  for (const t of record.tasks) {
    if (t.items !== undefined && t.items > 0) continue;
    units++;
    counts[t.status]++;
    if (t.status === "failed") failed.push(t);
    else if (t.status === "skipped") skipped.push(t);
  }
  lines.push(
    `  ${plural(units, "task")}${units > 0 ? `: ${formatCounts(counts, paint)}` : ""}`,
  );
  if (failed.length > 0) {
    lines.push(`  ${paint("red", "failed:")}`);
    for (const t of failed.slice(0, limit)) {
      const after = t.attempts > 1 ? ` (${t.attempts} attempts)` : "";
      lines.push(
        `    ${paint("red", SYMBOLS.failed)} ${stripControl(t.id)}${after}: ${
          indent(t.error ?? "", 6)
        }`,
      );
    }
    if (failed.length > limit) lines.push(`    … ${failed.length - limit} more`);
  }
  if (skipped.length > 0) {
    lines.push(`  ${paint("dim", "skipped:")}`);
    for (const t of skipped.slice(0, limit)) {
      lines.push(`    ${SYMBOLS.skipped} ${stripControl(t.id)}: ${indent(t.reason ?? "", 6)}`);
    }
    if (skipped.length > limit) lines.push(`    … ${skipped.length - limit} more`);
  }
  if (record.error !== undefined && !failed.some((t) => t.error === record.error)) {
    lines.push(`  ${paint("red", "error:")} ${indent(record.error, 4)}`);
  }
  return lines.join("\n") + "\n";
}

/** Keeps a multi-line message readable under its list item; escapes control characters. */
function indent(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text.trim().split(/\r?\n/).map(stripControl).join(`\n${pad}`);
}

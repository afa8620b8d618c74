/**
 * Structured logging for the CLI, on LogTape: levels, text or JSON lines, and every record
 * carrying the run id (and, inside a task, the task id).
 *
 * @module
 */

import { configure, getJsonLinesFormatter, type LogLevel, type LogRecord } from "@logtape/logtape";
import { escapeControl } from "./view/format.ts";

/** The log formats the CLI offers. */
export type LogFormat = "text" | "json";

/** The log levels the CLI accepts. */
export const CLI_LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** The lowest level written. */
  level: LogLevel;
  /** Text lines (through the view) or JSON lines. */
  format: LogFormat;
  /** Where a formatted line goes (already ending in a newline). */
  write(line: string): void;
}

function pad2(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Formats a record as `12:00:01.123 INFO  [taskId] message key=value`. */
export function formatTextRecord(record: LogRecord): string {
  const d = new Date(record.timestamp);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${
    pad2(d.getMilliseconds(), 3)
  }`;
  const level = (record.level === "warning" ? "WARN" : record.level.toUpperCase()).padEnd(5);
  let message = "";
  for (let i = 0; i < record.message.length; i++) {
    const part = record.message[i];
    message += i % 2 === 0 ? String(part) : typeof part === "string" ? part : JSON.stringify(part);
  }
  const { runId: _run, taskId, ...rest } = record.properties;
  const extra = Object.entries(rest)
    .filter(([k]) => !record.rawMessage.includes(`{${k}}`))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const task = taskId ? `[${taskId}] ` : "";
  return `${time} ${level} ${task}${message}${extra ? " " + extra : ""}\n`;
}

/** Configures LogTape for this process; call again to reconfigure. */
export async function setupLogging(options: LoggingOptions): Promise<void> {
  const json = getJsonLinesFormatter();
  const format = options.format === "json" ? json : formatTextRecord;
  await configure({
    reset: true,
    // A task's log line cannot drive the terminal: its control characters are shown escaped.
    sinks: { cli: (record: LogRecord) => options.write(escapeControl(format(record))) },
    loggers: [
      { category: ["orchestra"], lowestLevel: options.level, sinks: ["cli"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["cli"] },
    ],
  });
}

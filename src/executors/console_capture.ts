/**
 * Console capture: while a host runs a flow, `console.log` and its siblings called by task code
 * go to the log of the task whose code called them (so they are masked, recorded with the
 * task, and never mixed into the host's own stdout, which carries only `--json`), and any
 * other console output to the host's logger on stderr. A worker does the same for its own
 * console (see `worker_entry.ts`); the flow isolate will use this function inside its worker.
 *
 * @module
 */

import { format } from "node:util";

/** A console line's level. */
export type ConsoleLevel = "debug" | "info" | "warning" | "error";

/** The log a console line of a task goes to. */
export interface ConsoleSink {
  /** A debug line. */
  debug(message: string): void;
  /** An info line. */
  info(message: string): void;
  /** A warning. */
  warn(message: string): void;
  /** An error. */
  error(message: string): void;
}

/** Options of {@linkcode captureConsole}. */
export interface ConsoleCaptureOptions {
  /** The log of the task whose code is running now, if any (e.g. from its async context). */
  current(): ConsoleSink | undefined;
  /** Where a line goes when no task's code is running. */
  fallback(level: ConsoleLevel, message: string): void;
}

type Method = "log" | "info" | "debug" | "warn" | "error" | "trace" | "dir" | "table";

const LEVEL: Record<Method, ConsoleLevel> = {
  log: "info",
  info: "info",
  debug: "debug",
  warn: "warning",
  error: "error",
  trace: "error",
  dir: "info",
  table: "info",
};

const SINK: Record<ConsoleLevel, keyof ConsoleSink> = {
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
};

// One set of replacements for the process, however many captures are active: the newest
// capture decides where a line goes, and the original methods come back with the last one.
const active: ConsoleCaptureOptions[] = [];
let originals: Partial<Record<Method, (...a: unknown[]) => void>> | undefined;
let routing = false;

function route(method: Method, args: unknown[]): void {
  const options = active[active.length - 1];
  // A sink that itself writes to the console gets the real one, not a loop.
  if (!options || routing) return originals?.[method]?.(...args);
  routing = true;
  try {
    routeTo(options, method, args);
  } finally {
    routing = false;
  }
}

function routeTo(options: ConsoleCaptureOptions, method: Method, args: unknown[]): void {
  const level = LEVEL[method];
  let message = format(...args);
  if (method === "trace") {
    message = `Trace${message ? `: ${message}` : ""}\n${
      (new Error().stack ?? "").split("\n").slice(3).join("\n")
    }`;
  }
  let sink: ConsoleSink | undefined;
  try {
    sink = options.current();
  } catch {
    sink = undefined;
  }
  if (sink) sink[SINK[level]](message);
  else options.fallback(level, message);
}

/**
 * Sends console output to the running task's log, or to `fallback` outside any task, until the
 * returned function is called. Captures may nest (two runs in one process): the newest one
 * routes lines until it is released.
 *
 * @example
 * ```ts
 * import { captureConsole } from "./console_capture.ts";
 * const lines: string[] = [];
 * const release = captureConsole({
 *   current: () => undefined,
 *   fallback: (level, message) => lines.push(`${level} ${message}`),
 * });
 * try {
 *   console.log("%d tasks", 3);
 *   console.error("oops");
 * } finally {
 *   release();
 * }
 * console.assert(lines.join("|") === "info 3 tasks|error oops");
 * ```
 */
export function captureConsole(options: ConsoleCaptureOptions): () => void {
  if (originals === undefined) {
    originals = {};
    const c = console as unknown as Record<Method, (...a: unknown[]) => void>;
    for (const method of Object.keys(LEVEL) as Method[]) {
      originals[method] = c[method];
      c[method] = (...args: unknown[]) => route(method, args);
    }
  }
  active.push(options);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    active.splice(active.lastIndexOf(options), 1);
    if (active.length === 0 && originals !== undefined) {
      const c = console as unknown as Record<Method, (...a: unknown[]) => void>;
      for (const [method, fn] of Object.entries(originals)) c[method as Method] = fn!;
      originals = undefined;
    }
  };
}

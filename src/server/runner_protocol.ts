/**
 * What `orchestra serve` and its runners say to each other. A runner is an Orchestra process
 * started in one flow folder (so a task's relative paths mean that folder, as under
 * `orchestra run`); it loads and runs the flows of that folder, and the server never imports
 * user code. Messages are JSON, one per line, each line starting with {@linkcode MARK} (so
 * stray output of a flow on the runner's stdout is told apart): requests on the runner's
 * stdin, replies and run events on its stdout.
 *
 * @module
 */

import type { ValidationIssue } from "../core/errors.ts";
import type { RunEvent, RunStatus } from "../core/events.ts";
import type { ParamsSchema } from "../core/params.ts";
import type { ScheduleSpec } from "../core/schedule.ts";

/** The first character of every protocol line (ASCII record separator). */
export const MARK = "\x1e";

/** Why a run was started: shown with it and kept in the state store. */
export interface Trigger {
  /** `api`, `schedule`, `webhook`, `retry` or `resume`. */
  kind: "api" | "schedule" | "webhook" | "retry" | "resume";
  /** The schedule's id, for `schedule`. */
  schedule?: string;
  /** The tick it was started for (ISO), for `schedule`. */
  tick?: string;
  /** The run retried or resumed. */
  of?: string;
  /** The token's name (API) or the delivery id (webhook). */
  by?: string;
}

/** A flow as a runner found it in a file. */
export interface FlowInfo {
  /** The flow's name. */
  name: string;
  /** Its file, absolute. */
  file: string;
  /** The export it is, for a TS file that exports several. */
  exportName?: string;
  /** What it does. */
  description?: string;
  /** Its params schema. */
  params: ParamsSchema;
  /** Its schedule as written. */
  schedule: ScheduleSpec[];
  /** Every problem (errors stop it from running; warnings do not). */
  issues: ValidationIssue[];
  /** How many tasks its plan shows. */
  tasks: number;
}

/** A request to a runner; `id` pairs it with its reply. */
export type RunnerRequest =
  | { op: "describe"; id: number; file: string }
  | {
    op: "start";
    id: number;
    file: string;
    flow: string;
    params: Record<string, unknown>;
    runId: string;
  }
  | { op: "resume"; id: number; runId: string }
  | {
    op: "retry";
    id: number;
    runId: string;
    newRunId: string;
    from: string;
    params?: Record<string, unknown>;
  }
  | { op: "cancel"; id: number; runId: string }
  /** Stop recording, stop every run (they stay `running` in the store, to be resumed), exit. */
  | { op: "interrupt"; id: number };

/** A runner's reply to a request. */
export type RunnerReply =
  | { type: "reply"; id: number; ok: true; flows?: FlowInfo[]; runId?: string }
  | {
    type: "reply";
    id: number;
    ok: false;
    /** What the HTTP API answers: 404 unknown, 409 conflict, 422 invalid params. */
    status: number;
    error: string;
    issues?: ValidationIssue[];
  };

/** What a runner says on its own. */
export type RunnerNotice =
  | { type: "event"; event: RunEvent }
  | { type: "ended"; runId: string; status: RunStatus | "interrupted"; error?: string }
  | { type: "ready"; pid: number };

/** Any line from a runner. */
export type RunnerMessage = RunnerReply | RunnerNotice;

/** One protocol line. */
export function encodeMessage(message: RunnerRequest | RunnerMessage): string {
  return MARK + JSON.stringify(message) + "\n";
}

/**
 * Splits a stream of text into lines, calling `message` for each protocol line and `other`
 * for anything else (stray output).
 *
 * @example
 * ```ts
 * import { encodeMessage, lineReader } from "./runner_protocol.ts";
 * const got: unknown[] = [];
 * const feed = lineReader((m) => got.push(m), (line) => got.push(line));
 * feed(encodeMessage({ type: "ready", pid: 1 }) + "hello\n");
 * console.assert(got.length === 2 && got[1] === "hello");
 * ```
 */
export function lineReader<T>(
  message: (m: T) => void,
  other: (line: string) => void,
): (chunk: string) => void {
  let buffer = "";
  return (chunk) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line.startsWith(MARK)) {
        try {
          message(JSON.parse(line.slice(1)) as T);
        } catch {
          other(line.slice(1));
        }
      } else if (line !== "") other(line);
    }
  };
}

/**
 * The messages between a host and a flow isolate (the Web Worker, with no permissions, where a
 * TypeScript flow's module, body and pure tasks run). They travel on the private port the
 * sandbox bootstrap captured before user code loaded. Everything is plain data: the isolate
 * is untrusted, so the host checks what it is sent (the run's id on every event, a task's
 * request against its plan, cache keys) and never runs what it is given.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../core/errors.ts";
import type { LogLevel } from "../core/events.ts";
import type { FlowGraph } from "../core/model.ts";
import type { ParamsSchema } from "../core/params.ts";
import type { PermissionSet } from "../core/permissions.ts";
import type { JournalEvent, RestoredTask, RunRecord } from "../engine/types.ts";

/** An error as it crosses the port. */
export interface ErrorData {
  /** The error's name (`NotCapable`, `TaskTimeoutError`, …). */
  name: string;
  /** Its message. */
  message: string;
  /** A `FlowValidationError`'s flow. */
  flow?: string;
  /** A `FlowValidationError`'s issues. */
  issues?: ValidationIssue[];
  /** A `TaskTimeoutError`'s timeout. */
  timeoutMs?: number;
  /** A `TaskTimeoutError`'s time taken. */
  elapsedMs?: number;
}

/** What the host learns of a flow the module exports (its options, as data). */
export interface FlowSummary {
  /** The export that holds it (`default` for the default export). */
  exportName: string;
  /** Its options that are data (hooks, middleware and defaults stay in the isolate). */
  options: {
    name: string;
    description?: string;
    params?: ParamsSchema;
    permissions?: PermissionSet;
    concurrency?: number;
    sandbox?: unknown;
    /** When `orchestra serve` runs it (checked by the plan). */
    schedule?: unknown;
    /** Option names the flow was given (unknown ones are reported by the plan). */
    keys: string[];
  };
  /** Where `flow()` was called. */
  location?: SourceLocation;
}

/** What a call did before the isolate it ran in was stopped (see `RunOptions.priorAttempts`). */
export interface PriorData {
  /** Attempts it made. */
  attempts: number;
  /** How the last failed. */
  error?: ErrorData;
  /** It had failed for good. */
  final?: boolean;
}

/** Starts the run in the isolate. */
export interface RunRequest {
  /** Message type. */
  type: "run";
  /** The flow's export. */
  exportName: string;
  /** Its params, validated by the host. */
  params: Record<string, unknown>;
  /** The run's id. */
  runId: string;
  /** Where relative permission paths resolve. */
  baseDir: string;
  /** The host's working directory (the isolate cannot read its own). */
  cwd: string;
  /** Calls restored (resume, or a restart of the isolate). */
  restore: [string, RestoredTask][];
  /** Calls that made attempts before a restart. */
  prior: [string, PriorData][];
  /** The run's concurrency limit, if the command line set one. */
  concurrency?: number;
  /** The executor of tasks that choose none. */
  defaultExecutor?: string;
  /** The lowest level of the engine's and tasks' log lines the host wants. @default "info" */
  logLevel?: LogLevel;
}

/** A task the isolate asks the host to run in a task worker. */
export interface LaunchRequest {
  /** The isolate's id for this launch. */
  id: number;
  /** The call's id in the run. */
  taskId: string;
  /** The attempt. */
  attempt: number;
  /** The task's name. */
  name: string;
  /** The module whose top level defined it. */
  moduleUrl: string;
  /** The name a worker finds it under. */
  workerName: string;
  /** Its arguments (references resolved, `prepare` applied). */
  args: unknown[];
  /** What it requests (the host decides what it gets). */
  permissions?: PermissionSet;
  /** The secrets it declares (the host looks them up). */
  secrets: string[];
  /** The plugin it runs. */
  plugin?: { name: string; version: string };
  /** Its timeout, if it has one (the host enforces it too). */
  timeoutMs?: number;
}

/** A task that requests permissions, before its first attempt: what may it have? */
export interface AuthorizeRequest {
  /** The call's id. */
  taskId: string;
  /** The task's name. */
  name: string;
  /** What it requests. */
  permissions: PermissionSet;
  /** The plugin it runs. */
  plugin?: { name: string; version: string };
}

/** What the host sends the isolate. */
export type HostToIsolate =
  | { type: "describe"; cwd: string }
  | {
    type: "plan";
    exportName: string;
    params: Record<string, unknown>;
    baseDir: string;
    cwd: string;
  }
  | RunRequest
  | { type: "ack"; seq: number; error?: string }
  | { type: "launched"; id: number; ok: true; value: unknown }
  | { type: "launched"; id: number; ok: false; error: ErrorData }
  | {
    type: "task-log";
    id: number;
    level: LogLevel;
    message: string;
    props?: Record<string, unknown>;
  }
  | { type: "cached"; id: number; hit: { value: unknown } | undefined; error?: string }
  | { type: "authorized"; id: number; ok: true; grant: PermissionSet }
  | { type: "authorized"; id: number; ok: false; error: ErrorData }
  | { type: "cancel"; reason: string }
  | { type: "ping"; n: number };

/** What the isolate sends the host. */
export type IsolateToHost =
  | { type: "ready" }
  | { type: "broken"; message: string }
  | { type: "described"; flows: FlowSummary[] }
  | { type: "planned"; graph: FlowGraph }
  | { type: "failed"; error: ErrorData }
  | { type: "journal"; seq: number; events: JournalEvent[] }
  | { type: "events"; events: JournalEvent[] }
  | { type: "launch"; request: LaunchRequest }
  | { type: "authorize"; id: number; request: AuthorizeRequest }
  | { type: "cancel-task"; id: number; reason: string }
  | { type: "cache-get"; id: number; key: string; now: number }
  | { type: "cache-set"; id: number; key: string; value: unknown; expiresAt: number }
  | { type: "attempt"; taskId: string; attempt: number; timeoutMs: number }
  | { type: "ended"; taskId: string; attempt: number }
  | { type: "console"; level: LogLevel; line: string }
  | {
    type: "log";
    category: string[];
    level: LogLevel;
    message: string;
    properties: Record<string, unknown>;
  }
  | { type: "warning"; message: string }
  | { type: "finished"; record: RunRecord }
  | { type: "pong"; n: number };

/** An error as data. */
export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const out: ErrorData = { name: e.name, message: e.message };
  const extra = e as Error & Partial<ErrorData>;
  if (typeof extra.flow === "string") out.flow = extra.flow;
  if (Array.isArray(extra.issues)) out.issues = toData(extra.issues) as ValidationIssue[];
  if (typeof extra.timeoutMs === "number") out.timeoutMs = extra.timeoutMs;
  if (typeof extra.elapsedMs === "number") out.elapsedMs = extra.elapsedMs;
  return out;
}

/** A copy of `value` that can cross a port: functions (a retry filter, a cache key) become marks. */
export function toData(value: unknown): unknown {
  if (typeof value === "function") return "(function)";
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(toData);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toData(v);
  return out;
}

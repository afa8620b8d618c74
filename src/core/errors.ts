/**
 * The one error family of Orchestra. Callers catch these by class or by `name`.
 *
 * @module
 */

/** Where something is in a source file: used by every error that can point at one. */
export interface SourceLocation {
  /** A path or URL of the file. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/** Formats a location as `file:line:col`. */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/**
 * Base class of every domain error Orchestra throws.
 *
 * @example
 * ```ts
 * import { OrchestraError } from "@orchestra/orchestra";
 * const err = new OrchestraError("Something failed");
 * console.assert(err instanceof Error && err.name === "OrchestraError");
 * ```
 */
export class OrchestraError extends Error {
  /** Creates the error; `options.cause` is kept as `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OrchestraError";
  }
}

/** One problem found while validating a flow or its params. */
export interface ValidationIssue {
  /** What is wrong, as a full sentence. */
  message: string;
  /** The task the problem belongs to, if any. */
  taskId?: string;
  /** The param the problem is about, if any (so a form can show it by its field). */
  param?: string;
  /** Where in the source the problem is, if known. */
  location?: SourceLocation;
  /** How to fix it. */
  hint?: string;
  /**
   * `warning` for something that works but is likely a mistake: reported, and the flow still
   * runs. An issue without a severity is an error.
   */
  severity?: "error" | "warning";
}

/** Whether an issue stops the flow: every issue but a warning does. */
export function isError(issue: ValidationIssue): boolean {
  return issue.severity !== "warning";
}

/** Formats an issue as one line: `file:line:col: [warning: ]message`, then its hint. */
export function formatIssue(issue: ValidationIssue): string {
  const where = issue.location ? `${formatLocation(issue.location)}: ` : "";
  const hint = issue.hint ? `\n    hint: ${issue.hint}` : "";
  const severity = issue.severity === "warning" ? "warning: " : "";
  return `${where}${severity}${issue.message}${hint}`;
}

/**
 * A flow (or its params) is invalid. Holds every issue found, not just the first.
 *
 * @example
 * ```ts
 * import { FlowValidationError } from "@orchestra/orchestra";
 * const err = new FlowValidationError("etl", [{ message: 'Task "b" needs unknown task "x"' }]);
 * console.assert(err.issues.length === 1);
 * ```
 */
export class FlowValidationError extends OrchestraError {
  /** The flow's name. */
  readonly flow: string;
  /** Every problem found. */
  readonly issues: readonly ValidationIssue[];
  /** Creates the error from a non-empty list of issues. */
  constructor(flow: string, issues: readonly ValidationIssue[], options?: ErrorOptions) {
    const n = issues.length;
    super(
      `Flow "${flow}" is invalid (${n} problem${n === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
      options,
    );
    this.name = "FlowValidationError";
    this.flow = flow;
    this.issues = issues;
  }
}

/** Params given to a flow do not match its schema. */
export class ParamsValidationError extends FlowValidationError {
  /** Creates the error from the issues found in the params. */
  constructor(flow: string, issues: readonly ValidationIssue[]) {
    super(flow, issues);
    this.name = "ParamsValidationError";
    this.message = `Invalid params for flow "${flow}":\n` +
      issues.map((i) => `  - ${formatIssue(i)}`).join("\n");
  }
}

/** A task failed after all its attempts. */
export class TaskFailedError extends OrchestraError {
  /** The run the task belongs to. */
  readonly runId: string;
  /** The task's id within the run. */
  readonly taskId: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** Creates the error; the task's own error is the `cause`. */
  constructor(runId: string, taskId: string, attempts: number, cause: unknown) {
    super(
      `Task "${taskId}" failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${
        errorMessage(cause)
      }`,
      { cause },
    );
    this.name = "TaskFailedError";
    this.runId = runId;
    this.taskId = taskId;
    this.attempts = attempts;
  }
}

/** A task did not run because something upstream failed or it was not needed. */
export class TaskSkippedError extends OrchestraError {
  /** The skipped task's id. */
  readonly taskId: string;
  /** Why it was skipped, e.g. `upstream "load" failed`. */
  readonly reason: string;
  /** Creates the error. */
  constructor(taskId: string, reason: string) {
    super(`Task "${taskId}" was skipped: ${reason}`);
    this.name = "TaskSkippedError";
    this.taskId = taskId;
    this.reason = reason;
  }
}

/** One attempt of a task ran longer than its timeout. */
export class TaskTimeoutError extends OrchestraError {
  /** The task's id. */
  readonly taskId: string;
  /** The timeout in milliseconds. */
  readonly timeoutMs: number;
  /** How long the attempt ran, when it returned only after its timeout (it was not stopped). */
  readonly elapsedMs: number | undefined;
  /**
   * Creates the error; `elapsedMs` is given for an attempt whose executor could not stop it
   * (inline), which returned late.
   */
  constructor(taskId: string, timeoutMs: number, elapsedMs?: number) {
    super(
      `Task "${taskId}" timed out after ${formatMs(timeoutMs)}` +
        (elapsedMs === undefined ? "" : ` (it returned after ${formatMs(elapsedMs)}: its ` +
          `executor cannot stop a running task; executor "worker" stops it at its timeout)`),
    );
    this.name = "TaskTimeoutError";
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
    this.elapsedMs = elapsedMs;
  }
}

/** The run was cancelled (Ctrl-C, `cancel`, or an aborted signal). */
export class RunCancelledError extends OrchestraError {
  /** The run's id. */
  readonly runId: string;
  /** Creates the error. */
  constructor(runId: string, reason = "the run was cancelled") {
    super(`Run "${runId}" was cancelled: ${reason}`);
    this.name = "RunCancelledError";
    this.runId = runId;
  }
}

/** A value that must cross a boundary (worker, journal) is not JSON-compatible. */
export class NotJsonError extends OrchestraError {
  /** The task concerned. */
  readonly taskId: string;
  /** Path of the offending value, e.g. `args[0].rows[2].when`. */
  readonly path: string;
  /** Creates the error. */
  constructor(taskId: string, path: string, what: string, hint: string) {
    super(
      `Task "${taskId}": ${path} is ${what}, which is not JSON-compatible (task inputs and ` +
        `outputs must be JSON values); ${hint}`,
    );
    this.name = "NotJsonError";
    this.taskId = taskId;
    this.path = path;
  }
}

/**
 * On replay (`resume`), the flow body made a call the journal does not match: another task under
 * a recorded call's id, different arguments, or its calls in another order.
 *
 * @example
 * ```ts
 * import { NonDeterminismError } from "./errors.ts";
 * const err = new NonDeterminismError("0190", "load#2", 'call "load#2" was called with different arguments: args[0] changed');
 * console.assert(err.taskId === "load#2" && err.message.includes("args[0] changed"));
 * ```
 */
export class NonDeterminismError extends OrchestraError {
  /** The run. */
  readonly runId: string;
  /** The call's id. */
  readonly taskId: string;
  /** What changed, as a sentence fragment. */
  readonly change: string;
  /** Creates the error; `change` says what differs from the journal. */
  constructor(runId: string, taskId: string, change: string) {
    super(
      `Run "${runId}" cannot be replayed: ${change}. A resumed flow body must make the same ` +
        `calls, with the same arguments, in the same order as when the run began: run the ` +
        `changed flow as a new run (orchestra run), or give calls whose order depends on timing ` +
        `an explicit id (f.call(task, args, { id }))`,
    );
    this.name = "NonDeterminismError";
    this.runId = runId;
    this.taskId = taskId;
    this.change = change;
  }
}

/** A `map` would expand into more items than its limit allows. */
export class MapLimitError extends OrchestraError {
  /** Creates the error. */
  constructor(taskId: string, count: number, limit: number) {
    super(
      `Task "${taskId}": map over ${count} items exceeds the limit of ${limit}; ` +
        `pass { maxItems: ${count} } to f.map() if this is intended`,
    );
    this.name = "MapLimitError";
  }
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** Formats milliseconds for messages: `500ms`, `1.5s`, `2m`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

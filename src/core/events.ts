/**
 * The typed event stream of a run: the live view, logs, and later the store and the dashboard
 * all consume these.
 *
 * @module
 */

/** Status of a task in a run record. */
export type TaskStatus =
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "skipped"
  | "cancelled"
  | "cached";

/** Status of a run. */
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled";

/** Log levels, as in LogTape. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** What every event carries. */
export interface RunEventBase {
  /** The run. */
  runId: string;
  /** Milliseconds since the epoch, from the run's clock. */
  time: number;
}

/** What every task event carries. */
export interface TaskEventBase extends RunEventBase {
  /** The task's id in the run. */
  taskId: string;
  /** The task's name. */
  name: string;
}

/** Every event a run emits. */
export type RunEvent =
  | RunEventBase & { type: "run.started"; flow: string; params: Record<string, unknown> }
  | TaskEventBase & {
    type: "task.created";
    needs: string[];
    group?: string;
    kind: "task" | "map";
    /**
     * In a journaled run: each argument as a short hash (a reference as `&` and its id),
     * space-separated, which a resumed run's calls must match.
     */
    argsHash?: string;
  }
  | TaskEventBase & { type: "task.started"; attempt: number }
  | TaskEventBase & { type: "task.retrying"; attempt: number; delayMs: number; error: string }
  | TaskEventBase & { type: "task.succeeded"; attempt: number; durationMs: number }
  | TaskEventBase & { type: "task.cached"; key: string }
  | TaskEventBase & { type: "task.failed"; attempts: number; error: string; durationMs: number }
  | TaskEventBase & { type: "task.skipped"; reason: string }
  | TaskEventBase & { type: "task.cancelled" }
  | TaskEventBase & {
    type: "task.log";
    level: LogLevel;
    message: string;
    props?: Record<string, unknown>;
  }
  | TaskEventBase & { type: "map.expanded"; items: number }
  | RunEventBase & { type: "run.finished"; flow: string; status: RunStatus; error?: string };

/** A function that receives run events. */
export type EventListener = (event: RunEvent) => void;

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

interface Base {
  /** The run. */
  runId: string;
  /** Milliseconds since the epoch, from the run's clock. */
  time: number;
}

interface TaskBase extends Base {
  /** The task's id in the run. */
  taskId: string;
  /** The task's name. */
  name: string;
}

/** Every event a run emits. */
export type RunEvent =
  | Base & { type: "run.started"; flow: string; params: Record<string, unknown> }
  | TaskBase & { type: "task.created"; needs: string[]; group?: string; kind: "task" | "map" }
  | TaskBase & { type: "task.started"; attempt: number }
  | TaskBase & { type: "task.retrying"; attempt: number; delayMs: number; error: string }
  | TaskBase & { type: "task.succeeded"; attempt: number; durationMs: number }
  | TaskBase & { type: "task.cached"; key: string }
  | TaskBase & { type: "task.failed"; attempts: number; error: string; durationMs: number }
  | TaskBase & { type: "task.skipped"; reason: string }
  | TaskBase & { type: "task.cancelled" }
  | TaskBase & {
    type: "task.log";
    level: LogLevel;
    message: string;
    props?: Record<string, unknown>;
  }
  | TaskBase & { type: "map.expanded"; items: number }
  | Base & { type: "run.finished"; flow: string; status: RunStatus; error?: string };

/** A function that receives run events. */
export type EventListener = (event: RunEvent) => void;

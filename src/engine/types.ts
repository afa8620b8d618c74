/**
 * The engine's public types: flow options, hooks, middleware, the task context, run options
 * and the run record (the same document `orchestra run --json` prints).
 *
 * @module
 */

import type { ScheduleSpec } from "../core/schedule.ts";
import type { EventListener, LogLevel, RunEvent, RunStatus, TaskStatus } from "../core/events.ts";
import type { ExecutorKind, TaskSettings } from "../core/model.ts";
import type { WorkerCall } from "../executors/worker_pool.ts";
import type { ParamsSchema } from "../core/params.ts";
import type { PermissionSet } from "../core/permissions.ts";
import type { ResultCache } from "./cache.ts";
import type { Clock } from "./clock.ts";
import type { Executor } from "./executor.ts";

/** A task's logger: lines are kept with the task in the run record and sent to LogTape. */
export interface TaskLogger {
  /** Logs at debug level. */
  debug(message: string, props?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, props?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, props?: Record<string, unknown>): void;
  /** Logs at error level. */
  error(message: string, props?: Record<string, unknown>): void;
}

/** What a running task knows about itself; passed after the task's declared arguments. */
export interface TaskContext {
  /** The run's id. */
  readonly runId: string;
  /** The flow's name. */
  readonly flow: string;
  /** This call's id within the run (`load`, `load#2`, `square[3]`). */
  readonly taskId: string;
  /** The task's name. */
  readonly name: string;
  /** The attempt number, from 1; 0 in `afterTask` when the result came from the cache. */
  readonly attempt: number;
  /** The run's params. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Aborted when the attempt times out or the run is cancelled. */
  readonly signal: AbortSignal;
  /** The task's logger. */
  readonly log: TaskLogger;
  /** Waits on the run's clock; rejects when the signal aborts. */
  sleep(ms: number): Promise<void>;
  /**
   * A secret the task declared in its `secrets` option. Its value is masked (`***`) in logs,
   * events, the run record and error messages from then on.
   */
  secret(name: string): string;
}

/** A wrapper around each task attempt: call `next()` to run the task (or the next wrapper). */
export type Middleware = (ctx: TaskContext, next: () => Promise<unknown>) => Promise<unknown>;

/** Lifecycle hooks of a flow and its tasks. Errors thrown by hooks are logged, not fatal. */
export interface Hooks {
  /** Before the first task starts. */
  onFlowStart?(info: { runId: string; flow: string; params: Record<string, unknown> }):
    | void
    | Promise<void>;
  /** After a run succeeded. */
  onFlowSuccess?(record: RunRecord): void | Promise<void>;
  /** After a run failed. */
  onFlowFailure?(record: RunRecord): void | Promise<void>;
  /** After a run was cancelled. */
  onFlowCancel?(record: RunRecord): void | Promise<void>;
  /** Before each attempt of a task. */
  beforeTask?(ctx: TaskContext): void | Promise<void>;
  /** After a task succeeded (also when its result came from the cache). */
  afterTask?(ctx: TaskContext, result: unknown): void | Promise<void>;
  /** When an attempt failed and another will follow after `delayMs`. */
  onTaskRetry?(ctx: TaskContext, error: unknown, delayMs: number): void | Promise<void>;
  /** When a task failed for good. */
  onTaskError?(ctx: TaskContext, error: unknown): void | Promise<void>;
}

/** Options of a flow. */
export interface FlowOptions<S extends ParamsSchema | undefined = ParamsSchema | undefined> {
  /** The flow's name. */
  name: string;
  /** What it does. */
  description?: string;
  /** Its params: name → `{ type, default, description, enum, required }`. */
  params?: S;
  /** The permission ceiling: no task may request more. */
  permissions?: PermissionSet;
  /** The most tasks running at once. @default unlimited */
  concurrency?: number;
  /** Settings every task gets unless it sets its own. */
  defaults?: TaskSettings;
  /** Lifecycle hooks. */
  hooks?: Hooks;
  /** Wrappers around every task attempt, outermost first. */
  middleware?: readonly Middleware[];
  /**
   * Where the flow's own code runs under `orchestra run` (and `validate`, `describe`, …).
   * By default (`true`) its module, body and pure tasks run in a flow isolate with no
   * permissions, and a task that requests permissions runs in a task worker with exactly its
   * grant. `false` opts out: the module is imported into the orchestrator and inline tasks
   * share its rights, as in the library (a policy may forbid it). `"strict"` is the default
   * and more: a task that requests permissions but insists on `executor: "inline"` is invalid.
   * `flow.run()` in the library always runs in the caller's isolate. @default true
   */
  sandbox?: "strict" | boolean;
  /** When `orchestra serve` runs the flow on its own: `{ cron, timezone, params, catchup, overlap }` entries. */
  schedule?: readonly ScheduleSpec[];
}

/** Options of one run. */
export interface RunOptions {
  /** The run's id. @default a new time-ordered UUID */
  runId?: string;
  /** Overrides the flow's concurrency limit. */
  concurrency?: number;
  /** Cancels the run when aborted. */
  signal?: AbortSignal;
  /** The clock. @default the system clock */
  clock?: Clock;
  /** Receives every event of the run. */
  onEvent?: EventListener;
  /** The result cache. @default one in-memory cache per process */
  cache?: ResultCache;
  /** Hooks in addition to the flow's own. */
  hooks?: Hooks;
  /** Middleware in addition to the flow's own (outside of it). */
  middleware?: readonly Middleware[];
  /** Treat string params as command-line input and convert them. @default false */
  coerceParams?: boolean;
  /** Random numbers for jitter. @default Math.random */
  random?: () => number;
  /** Runs `executor: "worker"` tasks. @default a pool of its own, closed when the run ends */
  workerPool?: { run(call: WorkerCall): Promise<unknown> };
  /**
   * Executors by the name tasks choose them with (`executor: "worker"`), in place of (or
   * besides) the built-in `inline` and `worker`. The run does not close executors it was given.
   * @default inline, and a worker executor over `workerPool`
   */
  executors?: Readonly<Record<string, Executor>>;
  /** The executor of every task that does not choose one. @default "inline" */
  defaultExecutor?: ExecutorKind;
  /**
   * Makes every event durable, in one batch per scheduler tick; a task starts only once what
   * it depends on is durable. @default none (nothing is recorded)
   */
  journal?: Journal;
  /** Decrypts `enc:v1:` values in a task's arguments when it starts. @default none */
  decrypt?: (value: string) => Promise<string>;
  /** Looks secrets up by name, for the task with id `taskId`. @default environment variables */
  secrets?: (name: string, taskId: string) => string | undefined;
  /** Results of calls that completed before (resume): they are restored, not run again. */
  restore?: ReadonlyMap<string, RestoredTask>;
  /**
   * Attempts that calls already made in an earlier life of this run, by call id: a restarted
   * flow isolate continues each call from there, with the retry budget it has left. A call
   * whose last attempt failed is judged by its retry policy at once (retried after its delay,
   * or failed); one marked `final` fails without running again. @default none
   */
  priorAttempts?: ReadonlyMap<string, PriorAttempts>;
  /**
   * The absolute directory relative permission paths resolve against when requests are
   * compared with the flow's ceiling (`orchestra run` passes the flow file's directory).
   * @default the working directory
   */
  baseDir?: string;
  /**
   * Decides, before its first attempt, what a task that requests permissions is granted;
   * throws to deny it (the task fails, and is not retried). @default everything requested
   */
  authorize?: (task: {
    runId: string;
    taskId: string;
    name: string;
    request: PermissionSet;
    /** The plugin the task runs, if any. */
    plugin?: { name: string; version: string };
  }) => PermissionSet | Promise<PermissionSet>;
}

/** An event as the journal records it: results travel with the events that produce them. */
export type JournalEvent = RunEvent & { result?: unknown };

/** Where a run's events are made durable. */
export interface Journal {
  /** Records a batch of events; resolves once they are durable. */
  append(events: readonly JournalEvent[]): Promise<void>;
}

/** A call that completed in an earlier attempt at the same run. */
export interface RestoredTask {
  /** The task's name at the time: a different one on replay is non-determinism. */
  name: string;
  /** Its result. */
  value: unknown;
  /** Attempts it took. */
  attempts: number;
  /**
   * The hash of its arguments when it was called (`task.created`'s `argsHash`): different ones
   * on replay are non-determinism. @default not checked
   */
  argsHash?: string;
  /**
   * Its place among the body's calls with generated ids (0 for the first): another place on
   * replay means the body calls tasks in another order. @default not checked
   */
  call?: number;
}

/** What a call did before its run was restarted (see `RunOptions.priorAttempts`). */
export interface PriorAttempts {
  /** Attempts it made (and finished). */
  attempts: number;
  /** How the last one failed, if it did: the retry policy decides what follows. */
  error?: unknown;
  /** It had failed for good: it fails again with `error`, and does not run. */
  final?: boolean;
}

/** A line a task logged. */
export interface TaskLogLine {
  /** ISO time. */
  time: string;
  /** Level. */
  level: LogLevel;
  /** Message. */
  message: string;
  /** Structured properties. */
  props?: Record<string, unknown>;
}

/** One task of a run record. */
export interface TaskRecord {
  /** Id within the run. */
  id: string;
  /** The task's name (for map items, the mapped task's name). */
  name: string;
  /** Final status. */
  status: TaskStatus;
  /** Attempts made. */
  attempts: number;
  /** ISO time of the first attempt, if it started. */
  startedAt?: string;
  /** ISO time it settled, if it did. */
  finishedAt?: string;
  /** The result, when it succeeded or was cached. */
  result?: unknown;
  /** The error message, when it failed. */
  error?: string;
  /** Why it was skipped. */
  reason?: string;
  /** The cache key, when its result came from the cache. */
  cacheKey?: string;
  /** The map group this item belongs to. */
  group?: string;
  /** For a map group: the number of items. */
  items?: number;
  /** What it logged. */
  logs?: TaskLogLine[];
}

/** The record of one run: the document `orchestra run --json` prints. */
export interface RunRecord<R = unknown> {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** Final status. */
  status: Exclude<RunStatus, "running">;
  /** The body's return value with references resolved. */
  result: R | undefined;
  /** The params the run used. */
  params: Record<string, unknown>;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time. */
  finishedAt: string;
  /** What went wrong, when the run did not succeed. */
  error?: string;
  /** Every task call, map groups followed by their items. */
  tasks: TaskRecord[];
}

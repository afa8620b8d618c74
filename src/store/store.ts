/**
 * The state store port: where runs, their tasks, their event journal and the result cache live.
 * The engine appends each scheduler tick's events in one call; the store records them in one
 * transaction, and the run and task rows it returns reflect them from then on. Implementations:
 * `MemoryStore` (tests), `SqliteStore` (the default) and `PostgresStore` (shared by machines);
 * every one passes the conformance suite in `conformance.ts`.
 *
 * @module
 */

import type { RunEvent, RunStatus, TaskStatus } from "../core/events.ts";
import { OrchestraError } from "../core/errors.ts";
import type { RunOwner, RunOwnership } from "./ownership.ts";

export type { RunClaim, RunLease, RunOwner, RunOwnership } from "./ownership.ts";

/**
 * An event as the store receives it: a task's result travels with its `task.succeeded` or
 * `task.cached` event, a run's result with `run.finished`. The same shape as the engine's
 * `JournalEvent`, so any store is a journal.
 */
export type AppendEvent = RunEvent & { result?: unknown };

/**
 * Where a recorded run stands: a {@linkcode RunStatus}, or `interrupted`: its row says
 * `running` but nobody owns it any more (its process died), so `resume` may continue it.
 */
export type RunRowStatus = RunStatus | "interrupted";

/** The materialised row of one run. */
export interface RunRow {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** Where the run stands; `interrupted` when it is `running` with no live owner. */
  status: RunRowStatus;
  /** The params the run uses. */
  params: Record<string, unknown>;
  /** ISO time the run started. */
  startedAt: string;
  /** ISO time it finished, once it has. */
  finishedAt?: string;
  /** What went wrong, when it failed or was cancelled. */
  error?: string;
  /** The flow's result, as `run.finished` gave it. */
  result?: unknown;
  /** The flow file the run was started from (for `resume`). */
  flowFile?: string;
  /** A hash of the flow file when the run began: a changed file is refused on `resume`. */
  flowHash?: string;
  /** The process running it. */
  pid?: number;
  /** The host that process runs on. */
  host?: string;
  /** Another process asked for the run to be cancelled; present only when true. */
  cancelRequested?: boolean;
  /** The run this one retries (`orchestra retry` makes a new run linked to its original). */
  retryOf?: string;
  /** Who runs it now: present only while it is `running` (read from its lease, not stored). */
  owner?: RunOwner;
  /**
   * ISO time (from the store's clock) the row last changed: created, started, finished,
   * reopened, cancel requested; while its events are being appended, it is also refreshed at
   * least once a second (a heartbeat), not on every append.
   */
  updatedAt: string;
}

/** The materialised row of one task call of a run. */
export interface TaskRow {
  /** The run. */
  runId: string;
  /** The call's id within the run (`load`, `load#2`, `square[3]`). */
  taskId: string;
  /** The task's name. */
  name: string;
  /** `map` for a map group, `task` otherwise. */
  kind: "task" | "map";
  /** Ids of the calls it depends on. */
  needs: string[];
  /** Where it stands. */
  status: TaskStatus;
  /** Attempts made so far. */
  attempts: number;
  /** ISO time of its first attempt (or of the cache hit). */
  startedAt?: string;
  /** ISO time it settled. */
  finishedAt?: string;
  /** Its result, when it succeeded or was cached. */
  result?: unknown;
  /** The error message, when it failed. */
  error?: string;
  /** Why it was skipped. */
  reason?: string;
  /** The cache key its result came from, when cached. */
  cacheKey?: string;
  /** The map group it is an item of. */
  group?: string;
  /** For a map group: how many items it expanded into. */
  items?: number;
  /** The hash of its arguments when it was called (`task.created`), which replay checks. */
  argsHash?: string;
  /**
   * The journal seq of the task's first event: tasks sort in the order they were first
   * recorded (the numbers have gaps).
   */
  seq: number;
}

/** A run as {@linkcode Store.createRun} records it. */
export type NewRun = Omit<RunRow, "updatedAt" | "owner" | "status"> & { status: RunStatus };

/** Which runs {@linkcode Store.listRuns} returns. */
export interface RunFilter {
  /** Only runs of this flow. */
  flow?: string;
  /** Only runs in this status (`interrupted`: `running` in the row, with no live owner). */
  status?: RunRowStatus;
  /** Only runs whose id starts with this. */
  idPrefix?: string;
  /** Only runs that retry this run. */
  retryOf?: string;
  /** At most this many (the newest). @default unlimited */
  limit?: number;
  /** Only runs started before this ISO time. */
  olderThan?: string;
}

/** Which events {@linkcode Store.events} returns. */
export interface EventQuery {
  /** Only events after this sequence number (for following a run). @default 0 */
  afterSeq?: number;
  /** Only events of this task. */
  taskId?: string;
  /** Only events of these types. */
  types?: readonly string[];
  /** At most this many. @default unlimited */
  limit?: number;
}

/** One journaled event with its sequence number (1, 2, … within its run). */
export interface StoredEvent {
  /** Position in the run's journal, from 1. */
  seq: number;
  /** The event as it was appended, without its result. */
  event: RunEvent;
}

/** What {@linkcode Store.reopenRun} changes besides setting the run running again. */
export interface ReopenOptions {
  /** Tasks to reset to `pending` (their result, error and attempts are cleared). */
  resetTasks?: readonly string[];
  /** The process that now runs it. */
  pid?: number;
  /** The host that process runs on. */
  host?: string;
  /** The hash of the flow file it now runs from. */
  flowHash?: string;
}

/**
 * A process group a task started (a `run:` step), recorded while it runs so that whoever
 * resumes the run after its owner died can stop what is left of it first.
 */
export interface ProcessRecord {
  /** The run. */
  runId: string;
  /** The task that started it. */
  taskId: string;
  /** The host it runs on. */
  host: string;
  /** The process group id (its leader's pid). */
  pgid: number;
  /**
   * What tells the group's leader from a later process that got the same pid: on Linux the
   * boot id and the leader's start time, `<boot id>:<start time in clock ticks>`.
   */
  identity: string;
  /** ISO time it started. */
  startedAt: string;
}

/** A cached result: present (even when the value is `undefined`) or a miss. */
export interface CacheEntry {
  /** The cached value. */
  value: unknown;
}

/**
 * An entry of a store's keyed state: small JSON values that are not runs, kept by `scope`
 * (e.g. `orchestra serve` keeps its schedules' last ticks under `schedule`, webhook deliveries
 * under `delivery`), optionally until an expiry.
 */
export interface StateEntry {
  /** The entry's key within its scope. */
  key: string;
  /** Its value. */
  value: unknown;
  /** When it expires (ms since the epoch); absent: never. */
  expiresAt?: number;
}

/** Options of {@linkcode Store.statePut} and {@linkcode Store.statePutNew}. */
export interface StatePutOptions {
  /** When the entry expires (ms since the epoch); from then on it reads as absent. @default never */
  expiresAt?: number;
}

/**
 * Where Orchestra keeps its state. Every implementation passes `storeCases()` from
 * `conformance.ts`. JSON values (params, results) come back as `JSON.parse(JSON.stringify(v))`.
 *
 * A store is also the run ownership port ({@linkcode RunOwnership}): appending a run's
 * `run.started` claims the run for the store unless it holds it already, and rejects with
 * `RunOwnedError` (writing nothing) when another owner holds it; appending its `run.finished`
 * releases the claim.
 */
export interface Store extends RunOwnership {
  /**
   * Journals `events` (in one transaction); the run and task rows they concern reflect them
   * once it resolves. The engine calls it once per scheduler tick; it resolves once the events
   * are durable.
   * Rejects with {@linkcode RunNotFoundError}, writing nothing, when an event names a run that
   * was neither created nor started in the batch.
   */
  append(events: readonly AppendEvent[]): Promise<void>;
  /** Records a new run (status as given, usually `running`). Rejects if the id exists. */
  createRun(row: NewRun): Promise<void>;
  /** The run's row, if there is one. */
  getRun(runId: string): Promise<RunRow | undefined>;
  /** Runs, newest first (by start time, then by creation). */
  listRuns(filter?: RunFilter): Promise<RunRow[]>;
  /** The run's tasks in `seq` order. */
  getTasks(runId: string): Promise<TaskRow[]>;
  /** The run's journal in order, for `logs --follow` and replay. */
  events(runId: string, query?: EventQuery): Promise<StoredEvent[]>;
  /**
   * Sets the run running again for `resume` or `retry --from`: clears its end, error, result
   * and cancel request and resets the given tasks. Resolves with false for an unknown run.
   */
  reopenRun(runId: string, options?: ReopenOptions): Promise<boolean>;
  /** Asks the process running it to cancel; false if the run is unknown or has finished. */
  requestCancel(runId: string): Promise<boolean>;
  /** Whether a cancel was requested (polled by the running process). */
  isCancelRequested(runId: string): Promise<boolean>;
  /** Deletes finished runs that finished before the ISO time, with their tasks and events. */
  pruneRuns(olderThan: string): Promise<number>;
  /** Records a process group a task of the run started (durable once it resolves). */
  recordProcess(process: ProcessRecord): Promise<void>;
  /** Forgets a recorded process group once it has ended. */
  forgetProcess(process: Pick<ProcessRecord, "runId" | "host" | "pgid">): Promise<void>;
  /** The run's recorded process groups, oldest first. */
  processes(runId: string): Promise<ProcessRecord[]>;
  /** The value cached under `key` if it has not expired at `now` (ms since the epoch). */
  cacheGet(key: string, now: number): Promise<CacheEntry | undefined>;
  /** Caches `value` under `key` until `expiresAt` (ms since the epoch). */
  cacheSet(key: string, value: unknown, expiresAt: number): Promise<void>;
  /** Removes every cache entry; resolves with how many there were. */
  cacheClear(): Promise<number>;
  /** The entry under `key` in `scope`, unless it has expired at `now` (ms since the epoch). */
  stateGet(scope: string, key: string, now: number): Promise<StateEntry | undefined>;
  /** The entries of `scope` that have not expired at `now`, by key. */
  stateList(scope: string, now: number): Promise<StateEntry[]>;
  /** Writes the entry (replacing one with that key). */
  statePut(scope: string, key: string, value: unknown, options?: StatePutOptions): Promise<void>;
  /**
   * Writes the entry only if `scope` holds no unexpired entry under `key` at `now`, atomically
   * (of two processes putting the same key at once, one wins): resolves with `undefined` when
   * it wrote, or with the entry that was there. Expired entries of the scope are removed.
   */
  statePutNew(
    scope: string,
    key: string,
    value: unknown,
    options: StatePutOptions & { now: number },
  ): Promise<StateEntry | undefined>;
  /** Removes the entry; resolves with whether there was one. */
  stateDelete(scope: string, key: string): Promise<boolean>;
  /** Releases the store; it must not be used afterwards. */
  close(): Promise<void>;
}

/**
 * A run id the store does not know.
 *
 * @example
 * ```ts
 * import { RunNotFoundError } from "@orchestra/orchestra";
 * const err = new RunNotFoundError("0190");
 * console.assert(err.name === "RunNotFoundError" && err.runId === "0190");
 * ```
 */
export class RunNotFoundError extends OrchestraError {
  /** The unknown run id. */
  readonly runId: string;
  /** Creates the error. */
  constructor(runId: string, options?: ErrorOptions) {
    super(
      `Run "${runId}" was not found in the state store; \`orchestra runs\` lists the known runs`,
      options,
    );
    this.name = "RunNotFoundError";
    this.runId = runId;
  }
}

/**
 * A state database was written by a newer Orchestra (its schema version is higher than this
 * one knows), so it is not opened rather than misread.
 *
 * @example
 * ```ts
 * import { StoreVersionError } from "@orchestra/orchestra";
 * const err = new StoreVersionError(".orchestra/state.db", 3, 1);
 * console.assert(err.message.includes("version 3"));
 * ```
 */
export class StoreVersionError extends OrchestraError {
  /** The database file. */
  readonly path: string;
  /** Its schema version. */
  readonly found: number;
  /** The newest schema version this Orchestra knows. */
  readonly supported: number;
  /** Creates the error. */
  constructor(path: string, found: number, supported: number) {
    super(
      `Cannot open the state database "${path}": its schema is version ${found}, but this ` +
        `Orchestra supports up to version ${supported}; upgrade Orchestra, or use another ` +
        `--state-dir`,
    );
    this.name = "StoreVersionError";
    this.path = path;
    this.found = found;
    this.supported = supported;
  }
}

/**
 * The state store cannot be opened, read or written: a corrupt, read-only, full, removed or
 * replaced database file. The message says what failed, which file, and what to do.
 *
 * @example
 * ```ts
 * import { StoreError } from "./store.ts";
 * const err = new StoreError("/s/state.db", "Cannot write to the state database", "it is full");
 * console.assert(err.name === "StoreError" && err.path === "/s/state.db");
 * ```
 */
export class StoreError extends OrchestraError {
  /** The database file. */
  readonly path: string;
  /** Creates the error: `<what> "<path>": <why>`. */
  constructor(path: string, what: string, why: string, options?: ErrorOptions) {
    super(`${what} "${path}": ${why}`, options);
    this.name = "StoreError";
    this.path = path;
  }
}

/**
 * The `Orchestrator`: py-orchestrate's API in TypeScript. It runs flows in the background of
 * a long-lived process, records each in a {@linkcode Store} (SQLite in a state dir by default),
 * limits how many run at once, and on `start()` picks up the runs a crash interrupted.
 *
 * @module
 */

import type { TaskStatus } from "../core/events.ts";
import { errorMessage } from "../core/errors.ts";
import { type FlowDefinition, isFlowDefinition } from "../core/protocol.ts";
import { newRunId } from "../engine/calls.ts";
import { prepareParams } from "../engine/execute.ts";
import { FlowRun } from "../engine/run.ts";
import type { RestoredTask, RunRecord } from "../engine/types.ts";
import { repairGroupRows } from "../host/group_rows.ts";
import { recordProcesses, stopLeftoverProcesses, stoppingJournal } from "../host/processes.ts";
import { restoredRows, resumePlan, retryPlan } from "./continuation.ts";
import { byStatus, type RunRecord as FlowRunRecord } from "../api/record.ts";
import { SqliteStore } from "../store/sqlite_store.ts";
import {
  type RunFilter,
  type RunLease,
  RunNotFoundError,
  type RunRow,
  type RunRowStatus,
  type Store,
} from "../store/store.ts";

/** Options of an {@linkcode Orchestrator}. */
export interface OrchestratorOptions {
  /** Where the SQLite state database lives (ignored when `store` is given). @default "./.orchestra" */
  stateDir?: string;
  /** A store to use instead of SQLite in `stateDir`; the caller closes it. */
  store?: Store;
  /** The most runs executing at once; further invokes wait their turn. @default unlimited */
  concurrency?: number;
  /** Flows this orchestrator knows by name: interrupted runs of these are resumed on start. */
  flows?: readonly FlowDefinition[];
}

/** Options of {@linkcode Orchestrator.retry}. */
export interface RunRetryOptions {
  /**
   * The task to run again, with everything downstream of it (a map item: the item, its group
   * and what depends on the group). @default what did not succeed
   */
  from?: string;
  /** Params that replace the original run's, by name. @default the original's */
  params?: Record<string, unknown>;
}

/** Options of {@linkcode Orchestrator.stop}. */
export interface OrchestratorStopOptions {
  /** How long to let running runs finish before cancelling them, in ms. @default 10_000 */
  graceMs?: number;
}

/** One task of a {@linkcode RunStatusReport}. */
export interface RunTaskSummary {
  /** The call's id within the run. */
  id: string;
  /** Where it stands. */
  status: TaskStatus;
  /** Attempts made so far. */
  attempts: number;
}

/** What {@linkcode Orchestrator.status} tells about a run. */
export interface RunStatusReport {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /**
   * Where the run stands (`running` also while it waits for a free slot; `interrupted` when
   * its row says running but its owner is gone).
   */
  status: RunRowStatus;
  /** What went wrong, when it failed or was cancelled. */
  error?: string;
  /** The flow's result, once it succeeded. */
  result?: unknown;
  /** ISO time the run was created. */
  startedAt: string;
  /** ISO time it finished, once it has. */
  finishedAt?: string;
  /** Ids of the tasks running now. */
  current: string[];
  /** Every task recorded so far. */
  tasks: RunTaskSummary[];
  /** The run this one retries, if it is a retry. */
  retryOf?: string;
}

/** A run this orchestrator executes (or has queued, or has finished). */
interface LocalRun {
  readonly runId: string;
  readonly def: FlowDefinition;
  readonly params: Record<string, unknown>;
  readonly restore: ReadonlyMap<string, RestoredTask> | undefined;
  readonly controller: AbortController;
  readonly done: Promise<RunRecord>;
  resolve(record: RunRecord): void;
  finished: boolean;
}

/** How often runs executing here look for a cancel requested by another process. */
const CANCEL_POLL_MS = 500;

/**
 * Runs flows in the background, records them in a store and resumes those a crash
 * interrupted.
 *
 * @example
 * ```ts
 * import { flow, MemoryStore, task } from "@orchestra/orchestra";
 * import { Orchestrator } from "@orchestra/orchestra";
 *
 * const double = task("double", (n: number) => n * 2);
 * const doubling = flow(
 *   { name: "doubling", params: { n: { type: "integer", default: 21 } } },
 *   (_f, params) => double(params.n),
 * );
 * const orchestrator = new Orchestrator({ store: new MemoryStore(), concurrency: 4 });
 * await orchestrator.start();
 * const runId = await orchestrator.invoke(doubling);
 * const record = await orchestrator.wait(runId);
 * console.assert(record.status === "succeeded" && record.result === 42);
 * console.assert((await orchestrator.status(runId))?.status === "succeeded");
 * await orchestrator.stop();
 * ```
 */
export class Orchestrator {
  readonly #stateDir: string;
  readonly #givenStore: Store | undefined;
  readonly #limit: number;
  readonly #flows = new Map<string, FlowDefinition>();
  readonly #runs = new Map<string, LocalRun>();
  readonly #queue: LocalRun[] = [];
  #store: Store | undefined;
  #active = 0;
  #state: "new" | "starting" | "started" | "stopping" | "stopped" = "new";
  #poll: ReturnType<typeof setInterval> | undefined;

  /** Prepares an orchestrator; nothing is opened until {@linkcode Orchestrator.start}. */
  constructor(options: OrchestratorOptions = {}) {
    const { concurrency } = options;
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new RangeError(
        `Invalid Orchestrator option concurrency ${concurrency}: use a whole number ≥ 1`,
      );
    }
    this.#limit = concurrency ?? Infinity;
    this.#stateDir = options.stateDir ?? "./.orchestra";
    this.#givenStore = options.store;
    for (const def of options.flows ?? []) {
      if (!isFlowDefinition(def)) {
        throw new TypeError("Invalid Orchestrator option flows: every item must be a flow()");
      }
      this.#flows.set(def.options.name, def);
    }
  }

  /** The store, once started. */
  get store(): Store {
    if (this.#store === undefined) {
      throw new Error("The orchestrator has not been started: call start() first");
    }
    return this.#store;
  }

  /**
   * Opens the store and resumes the runs a crash interrupted (their owner is gone) whose flow
   * it knows: their succeeded tasks are restored, the rest run again. Runs of other flows,
   * and runs another live process owns, are left alone.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error("The orchestrator was already started");
    this.#state = "starting";
    this.#store = this.#givenStore ?? await SqliteStore.open(this.#stateDir);
    const poll = setInterval(() => this.#pollCancels(), CANCEL_POLL_MS);
    Deno.unrefTimer(poll);
    this.#poll = poll;
    for (const row of await this.#store.listRuns({ status: "interrupted" })) {
      const def = this.#flows.get(row.flow);
      if (def === undefined || this.#runs.has(row.runId)) continue;
      // Another orchestrator may be picking it up at this moment: one of them gets it.
      const { lease } = await this.#store.claimRun(row.runId);
      if (lease === undefined) continue;
      if (!(await this.#resume(row, def, lease))) await lease.release();
    }
    this.#state = "started";
  }

  /**
   * Validates the params, records a new run and starts it in the background (or queues it
   * while `concurrency` runs execute); resolves with its id at once. Rejects with
   * `ParamsValidationError` (or `FlowValidationError`) before anything is recorded.
   */
  async invoke(flow: FlowDefinition, params: Record<string, unknown> = {}): Promise<string> {
    if (!isFlowDefinition(flow)) {
      throw new TypeError("Cannot invoke: the first argument must be a flow defined with flow()");
    }
    if (this.#state !== "started") {
      throw new Error(
        this.#state === "new" || this.#state === "starting"
          ? `Cannot invoke flow "${flow.options.name}": call start() first`
          : `Cannot invoke flow "${flow.options.name}": the orchestrator is stopping`,
      );
    }
    const values = prepareParams(flow, params);
    this.#flows.set(flow.options.name, flow);
    const runId = newRunId();
    const { lease } = await this.store.claimRun(runId);
    await this.store.createRun({
      runId,
      flow: flow.options.name,
      status: "running",
      params: values,
      startedAt: new Date().toISOString(),
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    this.#launch(runId, flow, values, undefined, lease);
    return runId;
  }

  /**
   * Runs a recorded run again as a new run linked to it (`retryOf`): the original and its
   * failure stay as they were. The tasks before `from` keep their results; `from` and what is
   * downstream of it run again, with `params` over the original's. Resolves with the new run's
   * id once it is recorded (it runs in the background, like an invoke). The flow must be known
   * here (in `flows`, or invoked before).
   */
  async retry(runId: string, options: RunRetryOptions = {}): Promise<string> {
    if (this.#state !== "started") {
      throw new Error(`Cannot retry run "${runId}": the orchestrator is not started`);
    }
    const row = await this.store.getRun(runId);
    if (row === undefined) throw new RunNotFoundError(runId);
    const def = this.#flows.get(row.flow);
    if (def === undefined) {
      throw new Error(
        `Cannot retry run "${runId}": its flow "${row.flow}" is not known here; pass it in the ` +
          `flows option or invoke it first`,
      );
    }
    if (row.status === "running") {
      throw new Error(`Cannot retry run "${runId}": it is still running; cancel it first`);
    }
    const tasks = await this.store.getTasks(runId);
    const { from } = options;
    if (from !== undefined && !tasks.some((t) => t.taskId === from)) {
      throw new RangeError(
        `Cannot retry run "${runId}" from "${from}": it has no such task (it has ${
          tasks.map((t) => `"${t.taskId}"`).join(", ")
        })`,
      );
    }
    const plan = from === undefined ? resumePlan(tasks) : retryPlan(tasks, from);
    const values = prepareParams(def, { ...row.params, ...options.params });
    const retryId = newRunId();
    const { lease } = await this.store.claimRun(retryId);
    await this.store.createRun({
      runId: retryId,
      flow: row.flow,
      status: "running",
      params: values,
      startedAt: new Date().toISOString(),
      pid: Deno.pid,
      host: Deno.hostname(),
      retryOf: runId,
    });
    if (plan.kept.length) {
      await this.store.append([
        { type: "run.started", runId: retryId, time: Date.now(), flow: row.flow, params: values },
        ...restoredRows(retryId, plan.kept),
      ]);
    }
    this.#launch(retryId, def, values, plan.restore, lease);
    return retryId;
  }

  /** Where a run stands (any run in the store), or `undefined` for an unknown id. */
  async status(runId: string): Promise<RunStatusReport | undefined> {
    const row = await this.store.getRun(runId);
    if (row === undefined) return undefined;
    const tasks = await this.store.getTasks(runId);
    return {
      runId: row.runId,
      flow: row.flow,
      status: row.status,
      ...(row.error !== undefined ? { error: row.error } : {}),
      ...(row.result !== undefined ? { result: row.result } : {}),
      startedAt: row.startedAt,
      ...(row.finishedAt !== undefined ? { finishedAt: row.finishedAt } : {}),
      current: row.status === "running"
        ? tasks.filter((t) => t.status === "running").map((t) => t.taskId)
        : [],
      tasks: tasks.map((t) => ({ id: t.taskId, status: t.status, attempts: t.attempts })),
      ...(row.retryOf !== undefined ? { retryOf: row.retryOf } : {}),
    };
  }

  /** Recorded runs, newest first, optionally of one flow or status. */
  list(filter: RunFilter = {}): Promise<RunRow[]> {
    return this.store.listRuns(filter);
  }

  /**
   * Cancels a run: one of this orchestrator's is aborted now; another process's is asked to
   * stop through the store. Resolves with false when the run is unknown or has finished.
   */
  cancel(runId: string): Promise<boolean> {
    const local = this.#runs.get(runId);
    if (local !== undefined) {
      if (local.finished) return Promise.resolve(false);
      local.controller.abort(new Error("cancelled with Orchestrator.cancel()"));
      return Promise.resolve(true);
    }
    return this.store.requestCancel(runId);
  }

  /**
   * Resolves with the record of a run this orchestrator started (or resumed) once it
   * finishes (a union by status: `result` is there once `status === "succeeded"`; `R` says
   * what the flow's body returns, `wait<{ total: number }>(id)`). Rejects with
   * {@linkcode RunNotFoundError} for any other run.
   */
  wait<R = unknown>(runId: string): Promise<FlowRunRecord<R>> {
    const local = this.#runs.get(runId);
    if (local === undefined) return Promise.reject(new RunNotFoundError(runId));
    return local.done.then((record) => byStatus(record as RunRecord<R>));
  }

  /**
   * Stops accepting invokes, lets the runs finish for up to `graceMs`, cancels those still
   * going, and closes the store it opened (a store passed in stays open).
   */
  async stop(options: OrchestratorStopOptions = {}): Promise<void> {
    if (this.#state === "stopped" || this.#state === "stopping") return;
    if (this.#state === "new") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopping";
    const graceMs = options.graceMs ?? 10_000;
    const pending = () => [...this.#runs.values()].filter((r) => !r.finished);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(pending().map((r) => r.done)), graceOver]);
    clearTimeout(timer);
    const left = pending();
    for (const run of left) {
      run.controller.abort(new Error(`cancelled: the orchestrator stopped after ${graceMs} ms`));
    }
    await Promise.all(left.map((r) => r.done));
    clearInterval(this.#poll);
    if (this.#givenStore === undefined) await this.#store?.close();
    this.#state = "stopped";
  }

  /** Continues an interrupted run this orchestrator has claimed; false if it may not. */
  async #resume(row: RunRow, def: FlowDefinition, lease: RunLease): Promise<boolean> {
    let params: Record<string, unknown>;
    try {
      params = prepareParams(def, row.params);
    } catch {
      return false; // the flow changed so its params no longer fit: not ours to decide
    }
    const { restore, reset } = resumePlan(await this.store.getTasks(row.runId));
    // What its dead owner left running stops before anything runs again.
    await stopLeftoverProcesses(this.store, row.runId);
    const reopened = await this.store.reopenRun(row.runId, {
      resetTasks: reset,
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    if (reopened) this.#launch(row.runId, def, params, restore, lease);
    return reopened;
  }

  #launch(
    runId: string,
    def: FlowDefinition,
    params: Record<string, unknown>,
    restore: ReadonlyMap<string, RestoredTask> | undefined,
    lease: RunLease | undefined,
  ): void {
    let resolve!: (record: RunRecord) => void;
    const done = new Promise<RunRecord>((r) => (resolve = r));
    const run: LocalRun = {
      runId,
      def,
      params,
      restore,
      controller: new AbortController(),
      done,
      resolve,
      finished: false,
    };
    // A lease lost to another process (a store shared by machines): it runs there now.
    lease?.signal?.addEventListener("abort", () => run.controller.abort(lease.signal?.reason), {
      once: true,
    });
    this.#runs.set(runId, run);
    this.#queue.push(run);
    this.#next();
  }

  #next(): void {
    while (this.#active < this.#limit && this.#queue.length) {
      const run = this.#queue.shift()!;
      this.#active++;
      this.#execute(run).finally(() => {
        this.#active--;
        this.#next();
      });
    }
  }

  async #execute(run: LocalRun): Promise<void> {
    let record: RunRecord;
    // The process groups of its tasks are recorded, and stopped before its end is recorded.
    const stopRecording = recordProcesses(this.store, run.runId);
    try {
      record = await new FlowRun(run.def, run.params, {
        runId: run.runId,
        journal: stoppingJournal(this.store, run.runId),
        signal: run.controller.signal,
        ...(run.restore ? { restore: run.restore } : {}),
      }).start();
      if (run.restore) await repairGroupRows(this.store, record).catch(() => {});
    } catch (e) {
      // The engine resolves failed runs with their record; reaching here is a bug or a store
      // that broke down: record the failure so the run does not stay `running` forever.
      const now = Date.now();
      const error = `the run could not execute: ${errorMessage(e)}`;
      await this.store.append([{
        type: "run.finished",
        runId: run.runId,
        time: now,
        flow: run.def.options.name,
        status: "failed",
        error,
      }]).catch(() => {});
      const row = await this.store.getRun(run.runId).catch(() => undefined);
      record = {
        runId: run.runId,
        flow: run.def.options.name,
        status: "failed",
        result: undefined,
        params: run.params,
        startedAt: row?.startedAt ?? new Date(now).toISOString(),
        finishedAt: new Date(now).toISOString(),
        error,
        tasks: [],
      };
    }
    stopRecording();
    run.finished = true;
    run.resolve(record);
  }

  // `orchestra cancel` (or another orchestrator) asks through the store.
  async #pollCancels(): Promise<void> {
    const store = this.#store;
    if (store === undefined) return;
    for (const run of this.#runs.values()) {
      if (run.finished || run.controller.signal.aborted) continue;
      if (await store.isCancelRequested(run.runId).catch(() => false)) {
        run.controller.abort(new Error("cancelled with orchestra cancel"));
      }
    }
  }
}

/**
 * The `Orchestrator`: py-orchestrate's API in TypeScript. It runs flows in the background of
 * a long-lived process, records each in a {@linkcode Store} (SQLite in a state dir by default),
 * limits how many run at once, and on `start()` picks up the runs a crash interrupted.
 *
 * @module
 */

import type { RunStatus, TaskStatus } from "../core/events.ts";
import { errorMessage } from "../core/errors.ts";
import { type FlowDefinition, isFlowDefinition } from "../core/protocol.ts";
import { newRunId } from "../engine/calls.ts";
import { prepareParams } from "../engine/execute.ts";
import { restoredCalls } from "../engine/replay.ts";
import { FlowRun } from "../engine/run.ts";
import type { RestoredTask, RunRecord } from "../engine/types.ts";
import { SqliteStore } from "../store/sqlite_store.ts";
import { type RunFilter, RunNotFoundError, type RunRow, type Store } from "../store/store.ts";

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
  /** Where the run stands (`running` also while it waits for a free slot). */
  status: RunStatus;
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
 * Runs executing in this process, across every orchestrator: a run row with this process's
 * pid is a live run (not a crash to pick up) exactly when it is in here.
 */
const executingHere = new Set<string>();

/**
 * Runs flows in the background, records them in a store and resumes those a crash
 * interrupted.
 *
 * @example
 * ```ts
 * import { flow, MemoryStore, task } from "../../mod.ts";
 * import { Orchestrator } from "./orchestrator.ts";
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
   * Opens the store and resumes the runs a crash left `running` whose flow it knows: their
   * succeeded tasks are restored, the rest run again. Runs of other flows, and runs whose
   * process is still alive (or on another host), are left alone.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error("The orchestrator was already started");
    this.#state = "starting";
    this.#store = this.#givenStore ?? await SqliteStore.open(this.#stateDir);
    const poll = setInterval(() => this.#pollCancels(), CANCEL_POLL_MS);
    Deno.unrefTimer(poll);
    this.#poll = poll;
    for (const row of await this.#store.listRuns({ status: "running" })) {
      const def = this.#flows.get(row.flow);
      if (def === undefined || this.#runs.has(row.runId) || isAlive(row)) continue;
      await this.#resume(row, def);
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
    await this.store.createRun({
      runId,
      flow: flow.options.name,
      status: "running",
      params: values,
      startedAt: new Date().toISOString(),
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    this.#launch(runId, flow, values, undefined);
    return runId;
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
      current: tasks.filter((t) => t.status === "running").map((t) => t.taskId),
      tasks: tasks.map((t) => ({ id: t.taskId, status: t.status, attempts: t.attempts })),
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
   * finishes. Rejects with {@linkcode RunNotFoundError} for any other run.
   */
  wait(runId: string): Promise<RunRecord> {
    const local = this.#runs.get(runId);
    if (local === undefined) return Promise.reject(new RunNotFoundError(runId));
    return local.done;
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

  async #resume(row: RunRow, def: FlowDefinition): Promise<void> {
    let params: Record<string, unknown>;
    try {
      params = prepareParams(def, row.params);
    } catch {
      return; // the flow changed so its params no longer fit: not ours to decide
    }
    const tasks = await this.store.getTasks(row.runId);
    const reset: string[] = [];
    for (const t of tasks) {
      if (t.status !== "succeeded" && t.status !== "cached") reset.push(t.taskId);
    }
    // With each call's place and arguments' hash, so replay checks what the body calls.
    const restore = restoredCalls(tasks);
    const reopened = await this.store.reopenRun(row.runId, {
      resetTasks: reset,
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    if (reopened) this.#launch(row.runId, def, params, restore);
  }

  #launch(
    runId: string,
    def: FlowDefinition,
    params: Record<string, unknown>,
    restore: ReadonlyMap<string, RestoredTask> | undefined,
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
    this.#runs.set(runId, run);
    executingHere.add(runId);
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
    try {
      record = await new FlowRun(run.def, run.params, {
        runId: run.runId,
        journal: this.store,
        signal: run.controller.signal,
        ...(run.restore ? { restore: run.restore } : {}),
      }).start();
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
    run.finished = true;
    executingHere.delete(run.runId);
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

/**
 * Whether the process recorded as running a run is still there. A run on another host, or
 * without a pid, is presumed alive: it cannot be probed from here. One with this process's pid
 * is alive when an orchestrator here executes it (a stopped or abandoned one's run is not).
 */
function isAlive(row: RunRow): boolean {
  if (row.pid === undefined || row.host !== Deno.hostname()) return true;
  if (row.pid === Deno.pid) return executingHere.has(row.runId);
  try {
    Deno.kill(row.pid, "SIGCONT"); // a probe: it throws NotFound when the process is gone
    return true;
  } catch (e) {
    // Without the permission to probe (or for another user's process), presume it alive.
    return !(e instanceof Deno.errors.NotFound);
  }
}

/**
 * One run of a flow: {@linkcode FlowRun} wires the engine's parts together and runs the body.
 * The parts, each in its own file:
 *
 * - `graph.ts`: the body's calls become nodes, with ids, settings and edges;
 * - `scheduler.ts`: the ready queue, concurrency, priorities, conditions, settling;
 * - `attempts.ts`: the cache, authorization, retries, timeouts, dispatch to an executor;
 * - `executor.ts`: the executors (inline; `worker` in `src/executors/`), by name;
 * - `journal.ts`: events to the listener and, batched per tick, to the journal, which gates
 *   starts on durability; `replay.ts`: restoring a resumed run's calls, and checking them;
 * - `record.ts`: the run record.
 *
 * The hot path (an inline task without hooks, middleware or timeout) is synchronous where the
 * task is: a chain of synchronous tasks runs in one loop with no promise per task.
 *
 * @module
 */

import {
  errorMessage,
  FlowValidationError,
  NonDeterminismError,
  NotJsonError,
  RunCancelledError,
  TaskFailedError,
  TaskSkippedError,
} from "../core/errors.ts";
import type { RunEvent, RunStatus } from "../core/events.ts";
import { findNonJson } from "../core/json.ts";
import {
  type CallOptions,
  type FlowDefinition,
  type FlowScope,
  flowScopeStorage,
  PROTOCOL_VERSION,
  type TaskDefinition,
} from "../core/protocol.ts";
import { getLogger, type Logger } from "@logtape/logtape";
import { WorkerExecutor } from "../executors/worker_executor.ts";
import { Attempts } from "./attempts.ts";
import { defaultCache } from "./cache.ts";
import { newRunId, substitute, workingDir } from "./calls.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { ContextScope } from "./context.ts";
import { ExecutorRegistry, InlineExecutor } from "./executor.ts";
import { GraphBuilder, type MapOptions, taskDefinitionOf } from "./graph.ts";
import { HookRunner } from "./hooks.ts";
import { JournalWriter, RunEvents } from "./journal.ts";
import { FAILED, isRef, Node, type TaskRef, valueOf } from "./node.ts";
import { runRecord } from "./record.ts";
import { ReplayCheck } from "./replay.ts";
import { Scheduler } from "./scheduler.ts";
import { RunSecrets } from "./secrets.ts";
import { TaskCache } from "./task_cache.ts";
import type { FlowOptions, RunOptions, RunRecord } from "./types.ts";

export { DEFAULT_MAP_LIMIT, type MapOptions, taskDefinitionOf } from "./graph.ts";
export type { TaskRef } from "./node.ts";

/** The handle a flow body receives as `f`. */
export interface FlowHandle {
  /** The run's id. */
  readonly runId: string;
  /** The flow's name. */
  readonly flow: string;
  /**
   * Calls `task` once per item of `items` (a list or a reference to one). Returns a reference
   * to the list of results, in order. Each item is its own task in the run (`name[i]`).
   */
  map<T, R>(
    items: readonly T[] | PromiseLike<readonly T[]>,
    task: (item: T) => PromiseLike<R>,
    options?: MapOptions,
  ): TaskRef<Awaited<R>[]>;
  /** Like the other form, with the list computed by `options.select` from any value. */
  map<T, R>(
    items: unknown,
    task: (item: T) => PromiseLike<R>,
    options: MapOptions & { select: (value: unknown) => readonly T[] },
  ): TaskRef<Awaited<R>[]>;
  /**
   * Calls `task` with `args` like calling it directly, with call options: an explicit `id`
   * and a `condition` decided when its dependencies have settled.
   */
  call<R>(
    task: (...args: never[]) => PromiseLike<R>,
    args: unknown[],
    options?: CallOptions,
  ): TaskRef<R>;
}

const refId = (v: object): string | undefined => v instanceof Node ? v.id : undefined;

/**
 * One run of a flow. Use {@linkcode executeFlow} rather than this class directly.
 */
export class FlowRun implements FlowScope {
  /** The scope protocol this engine speaks. */
  readonly protocol = PROTOCOL_VERSION;
  /** The run's id. */
  readonly runId: string;
  /** The flow's name. */
  readonly flow: string;
  /** The run's params, validated. */
  readonly params: Record<string, unknown>;
  /** The run's clock. */
  readonly clock: Clock;

  readonly #def: FlowDefinition;
  readonly #signal: AbortSignal | undefined;
  readonly #events: RunEvents;
  readonly #journal: JournalWriter<Node> | undefined;
  readonly #secrets: RunSecrets;
  readonly #hooks: HookRunner;
  readonly #executors: ExecutorRegistry;
  readonly #sched: Scheduler;
  readonly #graph: GraphBuilder;
  #started = false;
  #bodyDone = false;
  #bodyError: unknown = undefined;
  #hasBodyError = false;
  #result: unknown = undefined;
  #finished = false;
  #cancelled = false;
  #fatal: NonDeterminismError | undefined;
  #startedAt = 0;
  #logger: Logger | undefined;
  #resolveDone!: (r: RunRecord) => void;
  readonly #done: Promise<RunRecord>;
  readonly #onAbort = () => this.cancel(errorMessage(this.#signal!.reason));

  /** Prepares a run; nothing happens until {@linkcode FlowRun.start}. */
  constructor(def: FlowDefinition, params: Record<string, unknown>, options: RunOptions = {}) {
    this.#def = def;
    const opts = def.options as unknown as FlowOptions;
    this.flow = opts.name;
    this.params = params;
    this.clock = options.clock ?? systemClock;
    this.runId = options.runId ?? newRunId(this.clock.now());
    this.#signal = options.signal;
    const limit = runLimit(options.concurrency, opts.concurrency);
    const log = () => this.#log();
    this.#journal = options.journal === undefined ? undefined : new JournalWriter<Node>(
      options.journal,
      (gated) => this.#sched.admit(gated),
      (e) => this.cancel(`the state store failed: ${errorMessage(e)}`),
    );
    this.#events = new RunEvents(options.onEvent, this.#journal, log);
    this.#secrets = new RunSecrets(options.secrets ?? ((name) => Deno.env.get(name)));
    this.#hooks = new HookRunner(
      [opts.hooks, options.hooks],
      [...(options.middleware ?? []), ...(opts.middleware ?? [])],
      log,
    );
    this.#executors = executorsOf(options, this.#hooks.slow);
    this.#sched = new Scheduler({
      runId: this.runId,
      clock: this.clock,
      limit,
      events: this.#events,
      journal: this.#journal,
      replay: options.restore && new ReplayCheck(this.runId, options.restore, refId),
      hooks: this.#hooks,
      secrets: this.#secrets,
      onIdle: () => this.#maybeFinish(),
    });
    const scope: ContextScope = {
      runId: this.runId,
      flow: this.flow,
      params,
      clock: this.clock,
      secrets: this.#secrets,
      events: this.#events,
    };
    this.#sched.launcher = new Attempts({
      scope,
      executors: this.#executors,
      hooks: this.#hooks,
      cache: new TaskCache(options.cache ?? defaultCache, this.flow),
      authorize: options.authorize,
      decrypt: options.decrypt,
      random: options.random ?? Math.random,
      log,
      ...(options.priorAttempts ? { prior: options.priorAttempts } : {}),
    }, this.#sched);
    // "inline" is the default already; only another default changes tasks' settings (and a
    // run-wide "inline" must not count as a task's own choice under sandbox: "strict").
    const defaults = options.defaultExecutor && options.defaultExecutor !== "inline"
      ? { executor: options.defaultExecutor, ...opts.defaults }
      : opts.defaults;
    this.#graph = new GraphBuilder({
      flow: this.flow,
      runId: this.runId,
      defaults,
      ceiling: opts.permissions,
      sandbox: opts.sandbox,
      executors: Object.keys(options.executors ?? {}),
      baseDir: options.baseDir ?? workingDir(),
    }, this.#sched);
    this.#sched.graph = this.#graph;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Starts the body and resolves with the run record once every task has settled. */
  async start(): Promise<RunRecord> {
    if (this.#started) throw new Error(`Run "${this.runId}" was already started`);
    this.#started = true;
    this.#startedAt = this.clock.now();
    // Every run's events open with run.started, also those of a run cancelled before it began.
    if (this.#events.observed) {
      this.#events.emit({
        type: "run.started",
        runId: this.runId,
        time: this.#startedAt,
        flow: this.flow,
        params: this.params,
      });
    }
    const signal = this.#signal;
    if (signal?.aborted) {
      this.cancel(errorMessage(signal.reason));
      return this.#done;
    }
    // Removed when the run ends: one signal may serve many runs (a server's shutdown signal).
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    await this.#hooks.flowStart({ runId: this.runId, flow: this.flow, params: this.params });
    let returned: unknown;
    try {
      returned = flowScopeStorage().run(
        this,
        () =>
          (this.#def.body as (f: FlowHandle, p: unknown) => unknown)(this.#handle(), this.params),
      );
    } catch (e) {
      // A body that fails before yielding has started no task: an invalid flow never runs.
      if (e instanceof FlowValidationError || e instanceof NotJsonError) {
        this.#abandon("the flow body failed before any task started");
        throw e;
      }
      this.#bodyFailed(e);
      return this.#done;
    }
    Promise.resolve(returned).then(
      (v) => this.#bodyReturned(v),
      (e) => this.#bodyFailed(e),
    );
    return this.#done;
  }

  /** Cancels the run: no new task starts, running tasks are aborted, hooks run. */
  cancel(reason = "the run was cancelled"): void {
    if (this.#finished || this.#cancelled) return;
    this.#cancelled = true;
    this.#graph.close();
    const err = new RunCancelledError(this.runId, reason);
    this.#sched.cancel(err);
    // The run's error is the cancellation, also when the body had already returned.
    this.#bodyError = err;
    if (!this.#bodyDone) {
      this.#bodyDone = true;
      this.#hasBodyError = true;
    }
    this.#maybeFinish();
  }

  // ---- the scope: task calls from the body ----

  /** Adds a call of `task` to the run. Called by task functions through the ambient scope. */
  call(task: TaskDefinition, args: unknown[], options?: CallOptions): TaskRef<unknown> {
    try {
      return this.#graph.call(task, args, options);
    } catch (e) {
      throw this.#checked(e);
    }
  }

  #handle(): FlowHandle {
    return {
      runId: this.runId,
      flow: this.flow,
      map: (items, task, options) => {
        try {
          return this.#graph.map(items, task, options) as never;
        } catch (e) {
          throw this.#checked(e);
        }
      },
      call: (task, args, options) => this.call(taskDefinitionOf(task), args, options) as never,
    };
  }

  /** A call that does not match the resumed run stops the run: nothing else may start. */
  #checked(e: unknown): unknown {
    if (e instanceof NonDeterminismError && this.#fatal === undefined) {
      this.#fatal = e;
      this.cancel(e.message);
    }
    return e;
  }

  // ---- the body and the end of the run ----

  #bodyReturned(value: unknown): void {
    if (this.#bodyDone) return;
    const refs: Node[] = [];
    const p = findNonJson(value, "result", isRef, (r) => refs.push(r as Node));
    if (p) {
      this.#bodyFailed(
        new TypeError(
          `The flow's result is not JSON-compatible: ${p.path} is ${p.what}; ${p.hint}`,
        ),
      );
      return;
    }
    if (refs.length === 0) {
      this.#result = value;
      this.#bodyDone = true;
      this.#maybeFinish();
      return;
    }
    // The result keeps what the returned tasks produced; one that failed or was skipped is
    // null there (a failure fails the run by itself).
    const settled = () => {};
    Promise.all(refs.map((n) => n.promise().then(settled, settled))).then(() => {
      if (this.#bodyDone) return;
      this.#result = substitute(value, isRef, valueOf);
      this.#bodyDone = true;
      this.#maybeFinish();
    });
  }

  #bodyFailed(error: unknown): void {
    if (this.#bodyDone) return;
    this.#bodyDone = true;
    this.#hasBodyError = true;
    this.#bodyError = error;
    this.#maybeFinish();
  }

  #abandon(reason: string): void {
    this.#finished = true;
    this.#graph.close();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#sched.abandon(reason);
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#bodyDone || !this.#sched.idle) return;
    this.#finished = true;
    this.#sched.halted = true;
    this.#graph.close();
    void this.#finish();
  }

  #outcome(): { status: Exclude<RunStatus, "running">; error: string | undefined } {
    // A call that did not match the resumed run failed it, whatever was cancelled because of it.
    if (this.#fatal !== undefined) return { status: "failed", error: this.#fatal.message };
    if (this.#cancelled) return { status: "cancelled", error: errorMessage(this.#bodyError) };
    const failed = this.#sched.nodes.find((n) =>
      n.state === FAILED && !n.config.continueOnError && n.group === null
    );
    // A body that only rethrew a task's failure reports the task's own error; one that
    // stopped at a task skipped by its condition ends like that task: skipped, not failed.
    const skipped = this.#bodyError instanceof TaskSkippedError;
    const rethrown = skipped || this.#bodyError instanceof TaskFailedError;
    if (this.#hasBodyError && !(rethrown && failed) && !(skipped && !failed)) {
      return { status: "failed", error: errorMessage(this.#bodyError) };
    }
    if (failed) return { status: "failed", error: errorMessage(failed.error) };
    return { status: "succeeded", error: undefined };
  }

  async #finish(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const outcome = this.#outcome();
    const status = outcome.status;
    let error = outcome.error;
    await this.#hooks.settled();
    await this.#executors.close();
    if (error !== undefined) error = this.#secrets.mask(error);
    const record = this.#secrets.maskValue(this.record(status, error));
    await this.#hooks.flowEnd(status, record);
    if (this.#events.observed) {
      const e: RunEvent = {
        type: "run.finished",
        runId: this.runId,
        time: this.clock.now(),
        flow: this.flow,
        status,
      };
      if (error !== undefined) e.error = error;
      this.#events.emit(e, { value: record.result ?? null });
    }
    const journal = this.#journal;
    if (journal !== undefined) {
      await journal.durable();
      if (journal.failed && record.status !== "failed") {
        record.status = "failed";
        record.error = `the state store failed: ${errorMessage(journal.error)}`;
      }
    }
    this.#resolveDone(record);
  }

  /** The run record as it stands. */
  record(status: Exclude<RunStatus, "running">, error?: string): RunRecord {
    const run = {
      runId: this.runId,
      flow: this.flow,
      params: this.params,
      startedAt: this.#startedAt,
      finishedAt: this.clock.now(),
      result: this.#result,
    };
    return runRecord(run, this.#sched.nodes, status, error);
  }

  #log(): Logger {
    return (this.#logger ??= getLogger(["orchestra", "engine"]).with({ runId: this.runId }));
  }
}

function runLimit(run: number | undefined, flow: number | undefined): number {
  if (run !== undefined && !(Number.isInteger(run) && run >= 1)) {
    throw new RangeError(`Invalid run option concurrency ${run}: use a whole number ≥ 1`);
  }
  const limit = run ?? flow;
  return limit === undefined || limit <= 0 ? Infinity : limit;
}

/** The run's executors: those given, then inline and a worker pool (its own unless given). */
function executorsOf(options: RunOptions, slow: boolean): ExecutorRegistry {
  const registry = new ExecutorRegistry(options.executors);
  // The ambient task context costs about half a microsecond per task: entered only when
  // `context()` can be needed (secrets, hooks, middleware).
  registry.provide("inline", () => new InlineExecutor(options.secrets !== undefined || slow));
  const pool = options.workerPool;
  registry.provide("worker", () => new WorkerExecutor(pool, { own: pool === undefined }));
  return registry;
}

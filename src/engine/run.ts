/**
 * The scheduler: one {@linkcode FlowRun} executes one run of a flow. Task calls made by the
 * body become nodes; a node starts the moment its inputs are ready, within the concurrency
 * limits and in priority order; results, retries, timeouts, the cache, failure propagation,
 * cancellation, hooks and events all happen here.
 *
 * The hot path (an inline task without hooks, middleware or timeout) is synchronous where the
 * task is: a chain of synchronous tasks runs in one loop with no promise per task.
 *
 * @module
 */

import {
  errorMessage,
  FlowValidationError,
  MapLimitError,
  NonDeterminismError,
  NotJsonError,
  OrchestraError,
  RunCancelledError,
  TaskFailedError,
  TaskSkippedError,
  TaskTimeoutError,
} from "../core/errors.ts";
import type { EventListener, LogLevel, RunEvent, RunStatus, TaskStatus } from "../core/events.ts";
import { findNonJson } from "../core/json.ts";
import type { TaskConfig } from "../core/model.ts";
import type { PermissionSet } from "../core/permissions.ts";
import {
  type CallOptions,
  type ConditionInfo,
  type FlowDefinition,
  type FlowScope,
  flowScopeStorage,
  PROTOCOL_VERSION,
  type TaskCondition,
  taskContextStorage,
  type TaskDefinition,
} from "../core/protocol.ts";
import { getLogger, type Logger } from "@logtape/logtape";
import { type CacheHit, defaultCache, type ResultCache, stableJson } from "./cache.ts";
import {
  CallIds,
  newRunId,
  requestsAny,
  scanArgs,
  substitute,
  TaskConfigs,
  workingDir,
} from "./calls.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { type WorkerCall, WorkerPool } from "../executors/worker_pool.ts";
import { decryptDeep, holdsEncrypted } from "../permissions/encrypted.ts";
import { maskValue, secretMasker } from "../permissions/secrets.ts";
import { ReadyQueue } from "./ready_queue.ts";
import { isRetryable, retryDelay } from "./retry.ts";
import type {
  FlowOptions,
  Hooks,
  Journal,
  JournalEvent,
  Middleware,
  RestoredTask,
  RunOptions,
  RunRecord,
  TaskContext,
  TaskLogger,
  TaskLogLine,
  TaskRecord,
} from "./types.ts";

// Node states. Plain numbers: the scheduler compares them on every step.
const PENDING = 0, READY = 1, RUNNING = 2, SUCCEEDED = 3, FAILED = 4, SKIPPED = 5;
const CANCELLED = 6, CACHED = 7;
const STATUS: TaskStatus[] = [
  "pending",
  "pending",
  "running",
  "succeeded",
  "failed",
  "skipped",
  "cancelled",
  "cached",
];

/** The default bound on how many items one `map` may expand into. */
export const DEFAULT_MAP_LIMIT = 10_000;

/** A reference to the future result of a task call: pass it to tasks, or await it. */
export interface TaskRef<T> extends PromiseLike<T> {
  /** The id of the task call within its run. */
  readonly id: string;
}

interface MapState {
  items: Node[] | null;
  left: number;
  limit: number;
  running: number;
  parked: Node[] | null;
  maxItems: number;
  select: ((value: unknown) => unknown) | null;
}

const INSPECT = Symbol.for("Deno.customInspect");

// A node is also the reference the body holds: one object per task call keeps the hot path
// light on allocation.
class Node implements TaskRef<unknown> {
  state = PENDING;
  pending = 0;
  deps: Node[] | null = null;
  dependents: Node[] | null = null;
  args: unknown[] = EMPTY;
  nestedRefs = false;
  value: unknown = undefined;
  error: unknown = undefined;
  reason: string | undefined = undefined;
  attempts = 0;
  token = 0;
  // -1 until set: 0 is a valid time on an injected clock.
  startedAt = -1;
  finishedAt = -1;
  cacheKey: string | undefined = undefined;
  logs: TaskLogLine[] | undefined = undefined;
  ctx: Ctx | undefined = undefined;
  cancelTimer: (() => void) | undefined = undefined;
  deferred:
    | { promise: Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void }
    | null = null;
  group: Node | null = null;
  map: MapState | null = null;
  linkedTo: Node | null = null;
  condition: TaskCondition | null = null;

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly task: TaskDefinition,
    readonly config: TaskConfig,
    readonly priority: number,
  ) {}

  get settled(): boolean {
    return this.state >= SUCCEEDED;
  }

  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise().then(onfulfilled, onrejected);
  }

  toString(): string {
    return `TaskRef(${this.id})`;
  }

  [INSPECT](): string {
    return `TaskRef(${this.id})`;
  }

  promise(): Promise<unknown> {
    if (!this.deferred) {
      let resolve!: (v: unknown) => void, reject!: (e: unknown) => void;
      const promise = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.deferred = { promise, resolve, reject };
      if (this.settled) this.#settleDeferred();
    }
    return this.deferred.promise;
  }

  notify(): void {
    if (this.deferred) this.#settleDeferred();
  }

  #settleDeferred(): void {
    const d = this.deferred!;
    if (this.state === SUCCEEDED || this.state === CACHED) d.resolve(this.value);
    else if (this.state === FAILED && this.config.continueOnError) d.resolve(null);
    else d.reject(this.error);
  }
}

const EMPTY: unknown[] = [];

const isRef = (v: object): boolean => v instanceof Node;
const valueOf = (v: object): unknown => (v as Node).value;

let lastMs = NaN;
let lastIso = "";
function iso(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

const LEVELS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

class Ctx implements TaskContext {
  readonly #run: FlowRun;
  readonly #node: Node;
  readonly attempt: number;
  #controller: AbortController | undefined;
  #log: TaskLogger | undefined;

  constructor(run: FlowRun, node: Node, attempt: number) {
    this.#run = run;
    this.#node = node;
    this.attempt = attempt;
  }

  get runId(): string {
    return this.#run.runId;
  }
  get flow(): string {
    return this.#run.flow;
  }
  get taskId(): string {
    return this.#node.id;
  }
  get name(): string {
    return this.#node.config.name;
  }
  get params(): Readonly<Record<string, unknown>> {
    return this.#run.params;
  }
  get signal(): AbortSignal {
    // Created on first use: most tasks never look at their signal.
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }
  get log(): TaskLogger {
    return (this.#log ??= this.#run.taskLogger(this.#node));
  }
  sleep(ms: number): Promise<void> {
    return sleep(this.#run.clock, ms, this.signal);
  }
  secret(name: string): string {
    return this.#run.secretFor(this.#node, name);
  }
  abort(reason: unknown): void {
    this.#controller ??= new AbortController();
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }
}

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

/** Options of `f.map`. */
export interface MapOptions extends CallOptions {
  /** The most items of this map running at once. @default unlimited */
  concurrency?: number;
  /** The most items this map may expand into. @default 10_000 */
  maxItems?: number;
  /**
   * Computes the list from `items` once the references in it are resolved, so `items` may be
   * any value holding references (e.g. an object of them). @default the value itself
   */
  select?: (value: unknown) => unknown;
}

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
  readonly #opts: FlowOptions;
  readonly #listener: EventListener | undefined;
  readonly #cache: ResultCache;
  readonly #hooks: Hooks[];
  readonly #middleware: Middleware[];
  readonly #slow: boolean;
  readonly #configs: TaskConfigs;
  readonly #ids = new CallIds();
  readonly #random: () => number;
  readonly #limit: number;
  readonly #nodes: Node[] = [];
  readonly #ready = new ReadyQueue<Node>();
  readonly #hookPromises: Promise<unknown>[] = [];
  readonly #signal: AbortSignal | undefined;
  #workerPool: { run(call: WorkerCall): Promise<unknown> } | undefined;
  readonly #observed: boolean;
  readonly #authorize: RunOptions["authorize"];
  readonly #secrets: (name: string, taskId: string) => string | undefined;
  readonly #revealed = new Set<string>();
  readonly #contextual: boolean;
  readonly #decrypt: ((value: string) => Promise<string>) | undefined;
  #masker: ((text: string) => string) | undefined;
  #grants: Map<Node, PermissionSet> | undefined;
  readonly #journal: Journal | undefined;
  readonly #restore: ReadonlyMap<string, RestoredTask> | undefined;
  #batch: JournalEvent[] = [];
  #gated: Node[] = [];
  #flushScheduled = false;
  #flushing = false;
  #flushed: (() => void) | undefined;
  #journalError: unknown = undefined;
  #restoring = false;
  #ownPool: WorkerPool | undefined;
  #running = 0;
  #unsettled = 0;
  #draining = false;
  #kicked = false;
  #started = false;
  #bodyDone = false;
  #bodyError: unknown = undefined;
  #hasBodyError = false;
  #result: unknown = undefined;
  #finished = false;
  #cancelled = false;
  #startedAt = 0;
  #logger: Logger | undefined;
  #resolveDone!: (r: RunRecord) => void;
  readonly #done: Promise<RunRecord>;
  readonly #drainBound = () => {
    this.#kicked = false;
    this.#drain();
  };
  readonly #onAbort = () => this.cancel(errorMessage(this.#signal!.reason));

  /** Prepares a run; nothing happens until {@linkcode FlowRun.start}. */
  constructor(def: FlowDefinition, params: Record<string, unknown>, options: RunOptions = {}) {
    this.#def = def;
    this.#opts = def.options as unknown as FlowOptions;
    this.flow = this.#opts.name;
    this.params = params;
    this.clock = options.clock ?? systemClock;
    this.runId = options.runId ?? newRunId(this.clock.now());
    this.#listener = options.onEvent;
    this.#journal = options.journal;
    this.#restore = options.restore;
    this.#observed = this.#listener !== undefined || this.#journal !== undefined;
    this.#cache = options.cache ?? defaultCache;
    this.#random = options.random ?? Math.random;
    this.#hooks = [this.#opts.hooks, options.hooks].filter((h): h is Hooks => !!h);
    this.#middleware = [...(options.middleware ?? []), ...(this.#opts.middleware ?? [])];
    this.#slow = this.#middleware.length > 0 ||
      this.#hooks.some((h) => h.beforeTask || h.afterTask || h.onTaskRetry || h.onTaskError);
    // "inline" is the default already; only another default changes tasks' settings (and a
    // run-wide "inline" must not count as a task's own choice under sandbox: "strict").
    const defaults = options.defaultExecutor && options.defaultExecutor !== "inline"
      ? { executor: options.defaultExecutor, ...this.#opts.defaults }
      : this.#opts.defaults;
    const base = options.baseDir ?? workingDir();
    this.#configs = new TaskConfigs(defaults, this.#opts.permissions, this.#opts.sandbox, base);
    this.#authorize = options.authorize;
    this.#secrets = options.secrets ?? ((name) => Deno.env.get(name));
    // Entering the context store costs about half a microsecond: only when it can be needed.
    this.#contextual = options.secrets !== undefined;
    this.#decrypt = options.decrypt;
    this.#workerPool = options.workerPool;
    if (
      options.concurrency !== undefined &&
      !(Number.isInteger(options.concurrency) && options.concurrency >= 1)
    ) {
      throw new RangeError(
        `Invalid run option concurrency ${options.concurrency}: use a whole number ≥ 1`,
      );
    }
    const limit = options.concurrency ?? this.#opts.concurrency;
    this.#limit = limit === undefined || limit <= 0 ? Infinity : limit;
    this.#signal = options.signal;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Starts the body and resolves with the run record once every task has settled. */
  async start(): Promise<RunRecord> {
    if (this.#started) throw new Error(`Run "${this.runId}" was already started`);
    this.#started = true;
    this.#startedAt = this.clock.now();
    // Every run's events open with run.started, also those of a run cancelled before it began.
    if (this.#observed) {
      this.#emit({
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
    for (const h of this.#hooks) {
      if (h.onFlowStart) {
        await this.#guard(
          "onFlowStart",
          () => h.onFlowStart!({ runId: this.runId, flow: this.flow, params: this.params }),
        );
      }
    }
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
    const err = new RunCancelledError(this.runId, reason);
    const now = this.clock.now();
    // Tasks whose condition asks to run even then (always(), cancelled()) survive; the rest
    // stop now.
    const survivors: Node[] = [];
    for (const node of this.#nodes) {
      if (node.settled) continue;
      if (node.state === PENDING && node.condition?.evenIfUpstreamFailed) {
        survivors.push(node);
        continue;
      }
      if (node.state === RUNNING) {
        node.token++;
        node.cancelTimer?.();
        node.ctx?.abort(err);
      }
      this.#settleOne(node, CANCELLED, err, now);
    }
    this.#running = 0;
    for (const node of survivors) {
      node.pending = node.deps === null ? 0 : node.deps.filter((d) => !d.settled).length;
    }
    for (const node of survivors) if (node.pending === 0) this.#becomeReady(node);
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
    const node = this.#newNode(task, options?.id);
    if (options?.condition) node.condition = options.condition;
    this.#scanInto(node, args);
    node.args = args;
    this.#add(node);
    return node;
  }

  #handle(): FlowHandle {
    return {
      runId: this.runId,
      flow: this.flow,
      map: (items, task, options) => this.#map(items, task, options) as never,
      call: (task, args, options) => this.call(taskDefinitionOf(task), args, options) as never,
    };
  }

  #map(items: unknown, task: unknown, options: MapOptions = {}): TaskRef<unknown> {
    const def = taskDefinitionOf(task);
    const group = this.#newNode(def, options.id);
    if (options.condition) group.condition = options.condition;
    const map: MapState = {
      items: null,
      left: 0,
      limit: Infinity,
      running: 0,
      parked: null,
      maxItems: options.maxItems ?? DEFAULT_MAP_LIMIT,
      select: options.select ?? null,
    };
    group.map = map;
    if (options.concurrency !== undefined) {
      if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
        throw new RangeError(
          `f.map() of "${group.id}": concurrency must be a whole number ≥ 1, got ${options.concurrency}`,
        );
      }
      map.limit = options.concurrency;
    }
    if (items instanceof Node) {
      group.args = [items];
      this.#link(group, items);
      this.#add(group);
    } else if (Array.isArray(items) && map.select === null && group.condition === null) {
      this.#add(group);
      this.#expand(group, items);
    } else if (map.select !== null || group.condition !== null || Array.isArray(items)) {
      // The list is computed when the references in `items` are resolved.
      const args = [items];
      this.#scanInto(group, args);
      group.args = args;
      this.#add(group);
    } else {
      throw new TypeError(
        `f.map() of "${group.id}" needs a list or a task reference, got ${typeof items}`,
      );
    }
    return group;
  }

  #newNode(task: TaskDefinition, explicitId?: string): Node {
    if (this.#finished || this.#cancelled) {
      throw new RunCancelledError(this.runId, "no task can be added after the run ended");
    }
    const { config, issues } = this.#configs.get(task);
    if (issues.length) throw new FlowValidationError(this.flow, issues);
    const id = explicitId === undefined ? this.#ids.next(config.name) : this.#ids.claim(explicitId);
    return new Node(id, this.#nodes.length, task, config, config.priority);
  }

  #scanInto(node: Node, args: readonly unknown[]): void {
    // Primitives and top-level references are handled here without allocating; anything
    // nested goes through the full JSON check, which also finds references inside it.
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof Node) {
        this.#link(node, a);
      } else if (a !== null && typeof a === "object") {
        scanArgs(node.id, [a], isRef, (r) => this.#link(node, r as Node), i);
        if (node.deps !== null) node.nestedRefs = true;
      } else if (a !== undefined && a !== null) {
        const t = typeof a;
        if (t !== "string" && t !== "boolean" && !(t === "number" && Number.isFinite(a))) {
          scanArgs(node.id, [a], isRef, () => {}, i);
        }
      }
    }
  }

  #link(node: Node, dep: Node): void {
    // A node's references are linked all at once, so one mark per dependency de-duplicates.
    if (dep.linkedTo === node) return;
    dep.linkedTo = node;
    if (node.deps === null) node.deps = [dep];
    else node.deps.push(dep);
    if (!dep.settled) {
      node.pending++;
      if (dep.dependents === null) dep.dependents = [node];
      else dep.dependents.push(node);
    }
  }

  #add(node: Node): void {
    const restored = this.#restore !== undefined && node.map === null
      ? this.#restore.get(node.id)
      : undefined;
    if (restored !== undefined && restored.name !== node.config.name) {
      throw new NonDeterminismError(this.runId, node.id, restored.name, node.config.name);
    }
    this.#nodes.push(node);
    this.#unsettled++;
    // A restored call's row already holds its result: listeners see it, the journal does not.
    this.#restoring = restored !== undefined;
    // Nobody would see a restored call's events without a listener: they are not built.
    const observed = this.#listener !== undefined ||
      (this.#journal !== undefined && !this.#restoring);
    if (observed) {
      const e: RunEvent = {
        type: "task.created",
        runId: this.runId,
        time: this.clock.now(),
        taskId: node.id,
        name: node.config.name,
        needs: node.deps ? node.deps.map((d) => d.id) : [],
        kind: node.map ? "map" : "task",
      };
      if (node.group) e.group = node.group.id;
      this.#emit(e);
    }
    if (restored !== undefined) {
      {
        // Completed before: its journaled result stands; it does not run again.
        node.attempts = restored.attempts;
        node.startedAt = node.finishedAt = this.clock.now();
        node.value = restored.value;
        this.#settle(node, SUCCEEDED, undefined);
        this.#restoring = false;
        return;
      }
    }
    const deps = node.deps;
    if (deps !== null) {
      // A dependency that already settled badly decides this node's fate now.
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i];
        if (d.state >= SUCCEEDED && !ok(d) && !node.condition?.evenIfUpstreamFailed) {
          if (d.state === CANCELLED) this.#settle(node, CANCELLED, d.error);
          else this.#skip(node, d.state === SKIPPED ? d.reason! : `upstream "${d.id}" failed`);
          return;
        }
      }
    }
    // A map over a literal list (no args kept) is expanded by its caller right away.
    if (node.pending === 0 && !(node.map !== null && node.args === EMPTY)) {
      this.#becomeReady(node);
    }
  }

  #becomeReady(node: Node): void {
    if (node.condition !== null && !this.#conditionHolds(node)) return;
    if (node.map !== null) {
      const map = node.map;
      let list: unknown = node.args[0] instanceof Node
        ? node.args[0].value
        : substitute(node.args[0], isRef, valueOf);
      if (map.select !== null) {
        try {
          list = map.select(list);
        } catch (e) {
          node.attempts = 1;
          this.#fail(node, e);
          return;
        }
      }
      this.#expand(node, list);
      return;
    }
    node.state = READY;
    if (this.#journal !== undefined) {
      // What it depends on must be durable before it starts.
      this.#gated.push(node);
      this.#scheduleFlush();
      return;
    }
    this.#ready.push(node);
    if (!this.#draining && !this.#kicked) {
      this.#kicked = true;
      // Tasks start outside the flow scope, so a task that calls a task gets a clear error
      // instead of silently adding to the run. (Deno's `exit()` keeps the store: use `run`.)
      flowScopeStorage().run(undefined as never, queueMicrotask, this.#drainBound);
    }
  }

  /** Evaluates a node's condition; skips (or fails) it and returns false when it must not run. */
  #conditionHolds(node: Node): boolean {
    const c = node.condition!;
    const statuses: Record<string, TaskStatus> = {};
    const values: Record<string, unknown> = {};
    if (node.deps !== null) {
      for (const d of node.deps) {
        statuses[d.id] = STATUS[d.state];
        values[d.id] = d.value;
      }
    }
    const info: ConditionInfo = { statuses, values, cancelled: this.#cancelled };
    let holds: boolean;
    try {
      holds = c.test(info);
    } catch (e) {
      node.attempts = 1;
      this.#fail(node, new Error(`condition ${c.text} could not be evaluated: ${errorMessage(e)}`));
      return false;
    }
    if (!holds) this.#skip(node, `condition ${c.text} is false`);
    return holds;
  }

  #expand(group: Node, list: unknown): void {
    const map = group.map!;
    group.state = RUNNING;
    group.startedAt = this.clock.now();
    group.attempts = 1;
    map.items = [];
    if (!Array.isArray(list)) {
      this.#fail(
        group,
        new TypeError(
          `f.map() of "${group.id}" needs a list, but its input is ${
            list === null ? "null" : typeof list
          }`,
        ),
      );
      return;
    }
    if (list.length > map.maxItems) {
      this.#fail(group, new MapLimitError(group.id, list.length, map.maxItems));
      return;
    }
    map.left = list.length;
    if (this.#observed) {
      this.#emit({
        type: "map.expanded",
        runId: this.runId,
        time: group.startedAt,
        taskId: group.id,
        name: group.config.name,
        items: list.length,
      });
    }
    if (list.length === 0) {
      this.#succeed(group, []);
      return;
    }
    const cfg = group.config;
    for (let i = 0; i < list.length; i++) {
      const item = new Node(`${group.id}[${i}]`, this.#nodes.length, group.task, cfg, cfg.priority);
      item.group = group;
      const args = [list[i]];
      this.#scanInto(item, args);
      item.args = args;
      map.items.push(item);
      this.#add(item);
    }
  }

  // ---- scheduling ----

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // A run abandoned by an invalid body is finished: the tasks it queued never start.
      while (this.#running < this.#limit && !this.#finished) {
        const node = this.#ready.pop();
        if (node === undefined) break;
        if (node.state !== READY) continue; // cancelled while it waited
        const g = node.group;
        if (g !== null && g.map!.running >= g.map!.limit) {
          (g.map!.parked ??= []).push(node);
          continue;
        }
        this.#start(node);
      }
    } finally {
      this.#draining = false;
    }
    this.#maybeFinish();
  }

  #start(node: Node): void {
    this.#running++;
    if (node.group !== null) node.group.map!.running++;
    node.state = RUNNING;
    node.startedAt = this.clock.now();
    if (node.deps !== null) {
      // The args array is the call's own rest array: resolve references in place.
      const args = node.args;
      if (node.nestedRefs) {
        for (let i = 0; i < args.length; i++) args[i] = substitute(args[i], isRef, valueOf);
      } else {
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (a instanceof Node) args[i] = a.value;
        }
      }
      node.deps = null;
    }
    const cache = node.config.cache;
    if (cache !== undefined) {
      let key: string;
      let hit: CacheHit | Promise<CacheHit>;
      try {
        key = cache.key ? cache.key(node.args) : `${node.config.name}:${stableJson(node.args)}`;
        hit = this.#cache.get(key, node.startedAt);
      } catch (e) {
        this.#release(node);
        this.#fail(node, e);
        return;
      }
      node.cacheKey = key;
      if (hit instanceof Promise) {
        // A persistent cache answers later: the task keeps its slot meanwhile.
        hit.then(
          (found) => {
            if (node.state !== RUNNING) return;
            if (found) this.#cacheHit(node, found.value);
            else this.#launch(node);
            this.#drain();
          },
          (e) => {
            if (node.state !== RUNNING) return;
            this.#release(node);
            this.#fail(node, e);
            this.#drain();
          },
        );
        return;
      }
      if (hit) {
        this.#cacheHit(node, hit.value);
        return;
      }
    }
    this.#launch(node);
  }

  #cacheHit(node: Node, value: unknown): void {
    this.#release(node);
    // afterTask sees cached results too; no attempt was made, so the context's is 0.
    if (this.#slow) node.ctx = new Ctx(this, node, 0);
    this.#succeed(node, value, CACHED);
  }

  /** Authorizes and decrypts if needed, then makes the first attempt. */
  #launch(node: Node): void {
    const request = node.config.permissions;
    const authorize = this.#authorize !== undefined && requestsAny(request)
      ? this.#authorize
      : undefined;
    // Encrypted params are decrypted only when a task that uses them starts.
    const decrypt = this.#decrypt !== undefined && holdsEncrypted(node.args)
      ? this.#decrypt
      : undefined;
    if (authorize === undefined && decrypt === undefined) {
      this.#attempt(node);
      return;
    }
    // Once per task, before its first attempt: decryption, then the ceiling, the policy, the
    // service and the audit log.
    Promise.resolve()
      .then(async () => {
        if (decrypt) {
          node.args = await decryptDeep(node.args, decrypt, (p) => this.#reveal(p)) as unknown[];
        }
        return authorize
          ? authorize({
            runId: this.runId,
            taskId: node.id,
            name: node.config.name,
            request: request!,
            ...(node.task.plugin ? { plugin: node.task.plugin } : {}),
          })
          : undefined;
      })
      .then(
        (grant) => {
          if (node.state !== RUNNING) return;
          if (grant !== undefined) (this.#grants ??= new Map()).set(node, grant);
          this.#attempt(node);
        },
        (e) => {
          if (node.state !== RUNNING) return;
          this.#release(node);
          this.#fail(node, e);
          this.#drain();
        },
      );
  }

  #attempt(node: Node): void {
    const attempt = ++node.attempts;
    const token = ++node.token;
    const ctx = new Ctx(this, node, attempt);
    node.ctx = ctx;
    if (this.#observed) {
      this.#emit({
        type: "task.started",
        runId: this.runId,
        time: this.clock.now(),
        taskId: node.id,
        name: node.config.name,
        attempt,
      });
    }
    const timeoutMs = node.config.timeoutMs;
    if (timeoutMs !== undefined) {
      node.cancelTimer = this.clock.setTimer(() => {
        if (token !== node.token) return;
        const err = new TaskTimeoutError(node.id, timeoutMs);
        ctx.abort(err);
        this.#attemptFailed(node, token, err);
      }, timeoutMs);
    }
    if (this.#slow) {
      this.#attemptSlow(node, token, ctx);
      return;
    }
    let r: unknown;
    try {
      r = node.config.executor === "worker"
        ? this.#inWorker(node, ctx)
        : this.#contextual
        ? taskContextStorage().run(ctx, invoke, node.task.fn as never, node.args, ctx)
        : invoke(node.task.fn as (...a: unknown[]) => unknown, node.args, ctx);
    } catch (e) {
      this.#attemptFailed(node, token, e);
      return;
    }
    if (
      r !== null && typeof r === "object" && typeof (r as PromiseLike<unknown>).then === "function"
    ) {
      (r as PromiseLike<unknown>).then(
        (v) => this.#attemptSucceeded(node, token, v),
        (e) => this.#attemptFailed(node, token, e),
      );
    } else {
      this.#attemptSucceeded(node, token, r);
    }
  }

  #attemptSlow(node: Node, token: number, ctx: Ctx): void {
    const fn = node.task.fn as (...a: unknown[]) => unknown;
    const run = async () => {
      for (const h of this.#hooks) {
        if (h.beforeTask) await this.#guard("beforeTask", () => h.beforeTask!(ctx));
      }
      let next = async () =>
        node.config.executor === "worker"
          ? await this.#inWorker(node, ctx)
          : await taskContextStorage().run(ctx, invoke, fn, node.args, ctx);
      for (let i = this.#middleware.length - 1; i >= 0; i--) {
        const mw = this.#middleware[i];
        const inner = next;
        next = () => mw(ctx, inner);
      }
      return await next();
    };
    run().then(
      (v) => this.#attemptSucceeded(node, token, v),
      (e) => this.#attemptFailed(node, token, e),
    );
  }

  async #inWorker(node: Node, ctx: Ctx): Promise<unknown> {
    if (this.#workerPool === undefined) this.#workerPool = this.#ownPool = new WorkerPool();
    const methods = { debug: "debug", info: "info", warning: "warn", error: "error" } as const;
    const prepare = node.task.prepare as
      | ((args: unknown[], ctx: Ctx) => unknown[] | Promise<unknown[]>)
      | undefined;
    const args = prepare ? await prepare(node.args, ctx) : node.args;
    return await this.#workerPool.run({
      task: node.task,
      args,
      info: {
        runId: this.runId,
        flow: this.flow,
        taskId: node.id,
        attempt: ctx.attempt,
        params: this.params,
      },
      grant: this.#grants?.get(node) ?? node.config.permissions,
      secrets: Object.fromEntries(node.config.secrets.map((name) => [name, ctx.secret(name)])),
      signal: ctx.signal,
      onLog: (level, message, props) => ctx.log[methods[level]](message, props),
    });
  }

  #attemptSucceeded(node: Node, token: number, value: unknown): void {
    if (token !== node.token || node.state !== RUNNING) return;
    if (node.cancelTimer !== undefined) node.cancelTimer();
    if (value !== null && value !== undefined && typeof value !== "string") {
      const p = findNonJson(value, "result");
      if (p) {
        this.#release(node);
        this.#fail(node, new NotJsonError(node.id, p.path, p.what, p.hint));
        this.#drain();
        return;
      }
    }
    this.#release(node);
    const cache = node.config.cache;
    if (cache !== undefined) {
      // A cache that cannot store costs a later hit, not this result.
      const warn = (e: unknown) =>
        this.#log().warn("Caching the result of {taskId} failed: {error}", {
          taskId: node.id,
          error: errorMessage(e),
        });
      try {
        const stored = this.#cache.set(node.cacheKey!, value, node.startedAt + cache.ttlMs);
        if (stored instanceof Promise) stored.catch(warn);
      } catch (e) {
        warn(e);
      }
    }
    this.#succeed(node, value);
    this.#drain();
  }

  #attemptFailed(node: Node, token: number, error: unknown): void {
    if (token !== node.token || node.state !== RUNNING) return;
    node.cancelTimer?.();
    node.cancelTimer = undefined;
    const policy = node.config.retry;
    if (node.attempts < policy.attempts && !this.#cancelled && isRetryable(policy, error)) {
      const delayMs = retryDelay(policy, node.attempts, this.#random);
      if (this.#observed) {
        this.#emit({
          type: "task.retrying",
          runId: this.runId,
          time: this.clock.now(),
          taskId: node.id,
          name: node.config.name,
          attempt: node.attempts,
          delayMs,
          error: errorMessage(error),
        });
      }
      for (const h of this.#hooks) {
        if (h.onTaskRetry) {
          this.#later("onTaskRetry", () => h.onTaskRetry!(node.ctx!, error, delayMs));
        }
      }
      const retryToken = ++node.token;
      node.cancelTimer = this.clock.setTimer(() => {
        if (retryToken !== node.token || node.state !== RUNNING) return;
        node.cancelTimer = undefined;
        this.#attempt(node);
      }, delayMs);
      return;
    }
    this.#release(node);
    this.#fail(node, error);
    this.#drain();
  }

  #release(node: Node): void {
    this.#running--;
    const g = node.group;
    if (g !== null) {
      const map = g.map!;
      map.running--;
      if (map.parked !== null && map.parked.length) this.#ready.push(map.parked.shift()!);
    }
  }

  // ---- settling ----

  #succeed(node: Node, value: unknown, state = SUCCEEDED): void {
    node.value = value;
    this.#settle(node, state, undefined);
    for (const h of this.#hooks) {
      if (h.afterTask && node.ctx) this.#later("afterTask", () => h.afterTask!(node.ctx!, value));
    }
  }

  #fail(node: Node, error: unknown): void {
    const named = (error as Error | undefined)?.name === "PermissionDeniedError" ||
      error instanceof TaskFailedError || error instanceof TaskSkippedError ||
      error instanceof NotJsonError || error instanceof MapLimitError ||
      error instanceof RunCancelledError || error instanceof FlowValidationError;
    const wrapped = named ? error : new TaskFailedError(this.runId, node.id, node.attempts, error);
    this.#settle(node, FAILED, wrapped);
    for (const h of this.#hooks) {
      if (h.onTaskError && node.ctx) {
        this.#later("onTaskError", () => h.onTaskError!(node.ctx!, error));
      }
    }
  }

  #skip(node: Node, reason: string): void {
    node.reason = reason;
    this.#settle(node, SKIPPED, new TaskSkippedError(node.id, reason));
  }

  #settle(node: Node, state: number, error: unknown): void {
    if (node.state >= SUCCEEDED) return;
    const now = this.clock.now();
    this.#settleOne(node, state, error, now);
    const good = ok(node);
    const g = node.group;
    if (g !== null && g.state < SUCCEEDED) this.#itemSettled(g, node, good);
    const deps = node.dependents;
    if (deps === null) return;
    node.dependents = null;
    if (good) {
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i];
        if (--d.pending === 0 && d.state === PENDING) this.#becomeReady(d);
      }
      return;
    }
    // Everything downstream is skipped (or cancelled). Iterative: a failure at the head of a
    // 10,000-task chain must not recurse 10,000 deep.
    const reason = state === SKIPPED ? node.reason! : `upstream "${node.id}" failed`;
    const stack = deps.slice();
    while (stack.length) {
      const d = stack.pop()!;
      if (d.state >= SUCCEEDED) continue;
      if (d.condition?.evenIfUpstreamFailed) {
        // Its condition decides (always(), failure()): it waits for the rest as usual.
        if (--d.pending === 0 && d.state === PENDING) this.#becomeReady(d);
        continue;
      }
      if (state === CANCELLED) {
        this.#settleOne(d, CANCELLED, error, now);
      } else {
        d.reason = reason;
        this.#settleOne(d, SKIPPED, new TaskSkippedError(d.id, reason), now);
      }
      const dg = d.group;
      if (dg !== null && dg.state < SUCCEEDED) this.#itemSettled(dg, d, false);
      if (d.dependents !== null) { for (const x of d.dependents) stack.push(x); }
    }
  }

  /** Marks one node settled: no propagation. */
  #settleOne(node: Node, state: number, error: unknown, now: number): void {
    // Tasks that run after this one anyway (continueOnError, conditions) see null: JSON.
    if (state !== SUCCEEDED && state !== CACHED) node.value = null;
    node.state = state;
    node.error = error;
    node.finishedAt = now;
    if (node.startedAt < 0) node.attempts = 0;
    this.#unsettled--;
    if (node.deferred !== null) node.notify();
    if (this.#listener !== undefined || (this.#journal !== undefined && !this.#restoring)) {
      this.#emitSettled(node, now);
    }
    // What a settled node no longer needs goes now, while it is still young garbage.
    node.args = EMPTY;
    if (!this.#slow) node.ctx = undefined;
  }

  #itemSettled(group: Node, item: Node, good: boolean): void {
    const map = group.map!;
    map.left--;
    if (!good && item.state !== CANCELLED) {
      if (item.state === SKIPPED) this.#skip(group, item.reason!);
      else {
        const cause = item.error instanceof TaskFailedError ? item.error.cause : item.error;
        this.#settle(group, FAILED, new TaskFailedError(this.runId, item.id, item.attempts, cause));
      }
    } else if (map.left === 0) {
      const items = map.items!;
      const values = new Array(items.length);
      for (let i = 0; i < items.length; i++) values[i] = items[i].value;
      group.value = values;
      this.#settle(group, SUCCEEDED, undefined);
    }
  }

  #emitSettled(node: Node, now: number): void {
    const duration = node.startedAt >= 0 ? now - node.startedAt : 0;
    if (node.state === SUCCEEDED) {
      this.#emit({
        type: "task.succeeded",
        runId: this.runId,
        time: now,
        taskId: node.id,
        name: node.config.name,
        attempt: node.attempts,
        durationMs: duration,
      }, { value: node.value });
      return;
    }
    // Literals with one key order, as above: no spread copies, and few object shapes.
    const runId = this.runId;
    const taskId = node.id;
    const name = node.config.name;
    switch (node.state) {
      case CACHED:
        this.#emit(
          { type: "task.cached", runId, time: now, taskId, name, key: node.cacheKey! },
          { value: node.value },
        );
        break;
      case FAILED:
        this.#emit({
          type: "task.failed",
          runId,
          time: now,
          taskId,
          name,
          attempts: node.attempts,
          error: this.mask(errorMessage(node.error)),
          durationMs: duration,
        });
        break;
      case SKIPPED:
        this.#emit({ type: "task.skipped", runId, time: now, taskId, name, reason: node.reason! });
        break;
      case CANCELLED:
        this.#emit({ type: "task.cancelled", runId, time: now, taskId, name });
        break;
    }
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
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const node of this.#nodes) {
      if (!node.settled) {
        node.state = SKIPPED;
        node.reason = reason;
      }
    }
  }

  #maybeFinish(): void {
    if (this.#finished || !this.#bodyDone || this.#unsettled !== 0) return;
    this.#finished = true;
    void this.#finish();
  }

  async #finish(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    let status: Exclude<RunStatus, "running"> = "succeeded";
    let error: string | undefined;
    if (this.#cancelled) {
      status = "cancelled";
      error = errorMessage(this.#bodyError);
    } else {
      const failed = this.#nodes.find((n) =>
        n.state === FAILED && !n.config.continueOnError && n.group === null
      );
      // A body that only rethrew a task's failure reports the task's own error; one that
      // stopped at a task skipped by its condition ends like that task: skipped, not failed.
      const skipped = this.#bodyError instanceof TaskSkippedError;
      const rethrown = skipped || this.#bodyError instanceof TaskFailedError;
      if (this.#hasBodyError && !(rethrown && failed) && !(skipped && !failed)) {
        status = "failed";
        error = errorMessage(this.#bodyError);
      } else if (failed) {
        status = "failed";
        error = errorMessage(failed.error);
      }
    }
    if (this.#hookPromises.length) await Promise.allSettled(this.#hookPromises);
    if (this.#ownPool) await this.#ownPool.close();
    if (error !== undefined) error = this.mask(error);
    let record = this.record(status, error);
    if (this.#masker !== undefined) record = maskValue(record, this.#masker);
    for (const h of this.#hooks) {
      const hook = status === "succeeded"
        ? h.onFlowSuccess
        : status === "failed"
        ? h.onFlowFailure
        : h.onFlowCancel;
      if (hook) await this.#guard("flow hook", () => hook.call(h, record));
    }
    if (this.#observed) {
      const e: RunEvent = {
        type: "run.finished",
        runId: this.runId,
        time: this.clock.now(),
        flow: this.flow,
        status,
      };
      if (error !== undefined) e.error = error;
      this.#emit(e, { value: record.result ?? null });
    }
    if (this.#journal !== undefined) {
      try {
        await this.#durable();
      } catch {
        // reported through #journalError below
      }
      if (this.#journalError !== undefined && record.status !== "failed") {
        record.status = "failed";
        record.error = `the state store failed: ${errorMessage(this.#journalError)}`;
      }
    }
    this.#resolveDone(record);
  }

  /** The run record as it stands. */
  record(status: Exclude<RunStatus, "running">, error?: string): RunRecord {
    const tasks: TaskRecord[] = [];
    for (const node of this.#nodes) {
      if (node.group !== null) continue;
      tasks.push(taskRecord(node));
      const items = node.map?.items;
      if (items) { for (const item of items) tasks.push(taskRecord(item)); }
    }
    const record: RunRecord = {
      runId: this.runId,
      flow: this.flow,
      status,
      result: status === "succeeded" ? this.#result : undefined,
      params: this.params,
      startedAt: iso(this.#startedAt),
      finishedAt: iso(this.clock.now()),
      tasks,
    };
    if (error !== undefined) record.error = error;
    return record;
  }

  // ---- events, logs, hooks ----

  #emit(event: RunEvent, result?: { value: unknown }): void {
    if (this.#journal !== undefined && !this.#restoring) {
      // Only a listener would see the result on the event: without one, no copy is needed.
      let e: JournalEvent = event;
      if (result !== undefined) {
        if (this.#listener === undefined) (e as { result?: unknown }).result = result.value;
        else e = { ...event, result: result.value };
      }
      this.#batch.push(e);
      this.#scheduleFlush();
    }
    if (this.#listener === undefined) return;
    try {
      this.#listener(event);
    } catch (e) {
      this.#log().error("An event listener failed: {error}", { error: errorMessage(e) });
    }
  }

  // ---- the journal: durability per scheduler tick ----

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      void this.#flush();
    });
  }

  /** Writes the batch; tasks that became ready meanwhile start once it is durable. */
  async #flush(): Promise<void> {
    if (this.#flushing || this.#journal === undefined) return;
    this.#flushing = true;
    try {
      while (this.#batch.length || this.#gated.length) {
        const batch = this.#batch;
        const gated = this.#gated;
        this.#batch = [];
        this.#gated = [];
        if (batch.length) await this.#journal.append(batch);
        for (const node of gated) {
          if (node.state !== READY) continue;
          this.#ready.push(node);
        }
        if (gated.length) this.#drain();
      }
    } catch (e) {
      this.#journalError = e;
      this.cancel(`the state store failed: ${errorMessage(e)}`);
    } finally {
      this.#flushing = false;
      if (this.#batch.length || this.#gated.length) this.#scheduleFlush();
      this.#flushed?.();
    }
  }

  /** Resolves once everything emitted so far is durable. */
  #durable(): Promise<void> {
    if (this.#journal === undefined || (!this.#batch.length && !this.#flushing)) {
      return this.#batch.length ? this.#flush() : Promise.resolve();
    }
    return new Promise((resolve) => {
      const previous = this.#flushed;
      this.#flushed = () => {
        previous?.();
        if (!this.#batch.length && !this.#flushing) resolve();
        else void this.#flush().then(() => resolve());
      };
      this.#scheduleFlush();
    });
  }

  #log(): Logger {
    return (this.#logger ??= getLogger(["orchestra", "engine"]).with({ runId: this.runId }));
  }

  /** A secret for a task that declared it; remembered, so its value is masked from now on. */
  secretFor(node: unknown, name: string): string {
    const n = node as Node;
    if (!n.config.secrets.includes(name)) {
      throw new OrchestraError(
        `Task "${n.id}" reads secret "${name}" but does not declare it; add secrets: ` +
          `["${name}"] to the task's options`,
      );
    }
    const value = this.#secrets(name, n.id);
    if (value === undefined) {
      throw new OrchestraError(
        `Secret "${name}" of task "${n.id}" is not set: set it in the environment or in the ` +
          `secrets file`,
      );
    }
    this.#reveal(value);
    return value;
  }

  #reveal(value: string): void {
    if (value !== "" && !this.#revealed.has(value)) {
      this.#revealed.add(value);
      this.#masker = secretMasker(this.#revealed);
    }
  }

  /** Replaces revealed secret values with `***`. */
  mask(text: string): string {
    return this.#masker === undefined ? text : this.#masker(text);
  }

  /** The logger a task's context hands out. */
  taskLogger(node: unknown): TaskLogger {
    const n = node as Node;
    const logger = getLogger(["orchestra", "task"]).with({ runId: this.runId, taskId: n.id });
    const emit =
      (method: "debug" | "info" | "warn" | "error") =>
      (message: string, props?: Record<string, unknown>) => {
        const time = this.clock.now();
        const level = LEVELS[method];
        if (this.#masker !== undefined) {
          message = this.mask(message);
          if (props) props = maskValue(props, this.#masker);
        }
        const line: TaskLogLine = { time: iso(time), level, message };
        if (props) line.props = props;
        (n.logs ??= []).push(line);
        // A task's line is text, not a LogTape template: `{…}` (JSON, say) stays as it is.
        logger[method](message.replaceAll("{", "{{").replaceAll("}", "}}"), props ?? {});
        if (this.#observed) {
          const e: RunEvent = {
            type: "task.log",
            runId: this.runId,
            time,
            taskId: n.id,
            name: n.config.name,
            level,
            message,
          };
          if (props) e.props = props;
          this.#emit(e);
        }
      };
    return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
  }

  async #guard(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.#log().warn("The {hook} hook failed: {error}", { hook: what, error: errorMessage(e) });
    }
  }

  #later(what: string, fn: () => unknown): void {
    this.#hookPromises.push(this.#guard(what, fn));
  }
}

// Calls without spreading for the common arities: no arguments array per call.
function invoke(fn: (...a: unknown[]) => unknown, args: unknown[], ctx: Ctx): unknown {
  switch (args.length) {
    case 0:
      return fn(ctx);
    case 1:
      return fn(args[0], ctx);
    case 2:
      return fn(args[0], args[1], ctx);
    case 3:
      return fn(args[0], args[1], args[2], ctx);
    default:
      return fn(...args, ctx);
  }
}

function ok(node: Node): boolean {
  return node.state === SUCCEEDED || node.state === CACHED ||
    (node.state === FAILED && node.config.continueOnError);
}

function taskRecord(node: Node): TaskRecord {
  const r: TaskRecord = {
    id: node.id,
    name: node.config.name,
    status: STATUS[node.state],
    attempts: node.attempts,
  };
  if (node.startedAt >= 0) r.startedAt = iso(node.startedAt);
  if (node.finishedAt >= 0) r.finishedAt = iso(node.finishedAt);
  if ((node.state === SUCCEEDED || node.state === CACHED) && node.value !== undefined) {
    r.result = node.value;
  }
  if (node.state === FAILED) r.error = errorMessage(node.error);
  if (node.reason !== undefined) r.reason = node.reason;
  if (node.cacheKey !== undefined && node.state === CACHED) r.cacheKey = node.cacheKey;
  if (node.group !== null) r.group = node.group.id;
  if (node.map?.items) r.items = node.map.items.length;
  if (node.logs) r.logs = node.logs;
  return r;
}

/** The task definition behind a task function, or a clear error. */
export function taskDefinitionOf(task: unknown): TaskDefinition {
  if (
    (typeof task === "function" || (typeof task === "object" && task !== null)) &&
    (task as Record<symbol, unknown>)[Symbol.for("orchestra.task")] === PROTOCOL_VERSION
  ) {
    return task as TaskDefinition;
  }
  throw new TypeError(
    `Expected a task made with task(), got ${typeof task}; wrap the function with task("name", fn)`,
  );
}

/**
 * One task call of a run: the node the scheduler moves through its states, which is also the
 * reference the flow body holds and the call an executor receives. One object per task call
 * keeps the hot path light on allocation.
 *
 * @module
 */

import type { TaskStatus } from "../core/events.ts";
import type { TaskConfig } from "../core/model.ts";
import type { PermissionSet } from "../core/permissions.ts";
import type { TaskCondition, TaskDefinition } from "../core/protocol.ts";
import type { AttemptContext } from "./context.ts";
import type { TaskCall } from "./executor.ts";
import type { TaskLogLine } from "./types.ts";

// Node states. Plain numbers: the scheduler compares them on every step, and every state from
// SUCCEEDED on is settled.
/** Waiting for its dependencies (or its condition). */
export const PENDING = 0;
/** Its inputs are ready (and durable); waiting for a slot. */
export const READY = 1;
/** Started: looking up the cache, being authorized, or in an attempt. */
export const RUNNING = 2;
/** Settled with a result. */
export const SUCCEEDED = 3;
/** Settled with an error. */
export const FAILED = 4;
/** Settled without running: upstream failed or its condition was false. */
export const SKIPPED = 5;
/** Settled by cancellation. */
export const CANCELLED = 6;
/** Settled with a result from the cache. */
export const CACHED = 7;

/** The status each state is reported as. */
export const STATUS: readonly TaskStatus[] = [
  "pending",
  "pending",
  "running",
  "succeeded",
  "failed",
  "skipped",
  "cancelled",
  "cached",
];

/** A reference to the future result of a task call: pass it to tasks, or await it. */
export interface TaskRef<T> extends PromiseLike<T> {
  /** The id of the task call within its run. */
  readonly id: string;
}

/** What a `f.map` group knows about its items. */
export interface MapState {
  /** Its items, once expanded. */
  items: Node[] | null;
  /** Items not settled yet. */
  left: number;
  /** The most items running at once. */
  limit: number;
  /** Items running now. */
  running: number;
  /** Items that were ready while the map was at its limit, in order. */
  parked: Node[] | null;
  /** The most items it may expand into. */
  maxItems: number;
  /** Computes the list from the resolved input. */
  select: ((value: unknown) => unknown) | null;
}

/** The arguments of a call that has none (or no longer needs them): shared, never written. */
export const EMPTY: unknown[] = [];

const INSPECT = Symbol.for("Deno.customInspect");

/** A task call: its place in the graph, its state, and the reference the body holds. */
export class Node implements TaskRef<unknown>, TaskCall {
  /** One of the states above. */
  state = PENDING;
  /** Dependencies not settled yet. */
  pending = 0;
  /** What it depends on, until it starts (its arguments are resolved then). */
  deps: Node[] | null = null;
  /** What depends on it, until it settles. */
  dependents: Node[] | null = null;
  /** The call's arguments: references until it starts, their values from then on. */
  args: unknown[] = EMPTY;
  /** Whether references sit inside arrays or objects of the arguments (not only at the top). */
  nestedRefs = false;
  /** The result. */
  value: unknown = undefined;
  /** The error it settled with. */
  error: unknown = undefined;
  /** Why it was skipped. */
  reason: string | undefined = undefined;
  /** Attempts made. */
  attempts = 0;
  /** Bumped by every attempt, retry and cancellation: a stale callback sees another token. */
  token = 0;
  // -1 until set: 0 is a valid time on an injected clock.
  /** When it started. */
  startedAt = -1;
  /** When it settled. */
  finishedAt = -1;
  /** Where its cached result lives, once looked up. */
  cacheKey: string | undefined = undefined;
  /** What it logged. */
  logs: TaskLogLine[] | undefined = undefined;
  /** The context of its current (or last) attempt. */
  ctx: AttemptContext | undefined = undefined;
  /** Cancels its attempt's timeout or its retry's delay. */
  cancelTimer: (() => void) | undefined = undefined;
  /** The promise the body awaits, made on first use. */
  deferred:
    | { promise: Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void }
    | null = null;
  /** The map group it is an item of. */
  group: Node | null = null;
  /** For a map group: its state. */
  map: MapState | null = null;
  /** The node it was last linked to as a dependency (de-duplicates links). */
  linkedTo: Node | null = null;
  /** Decides, once its dependencies have settled, whether it runs. */
  condition: TaskCondition | null = null;
  /** What authorization granted, when it was asked. */
  grant: PermissionSet | undefined = undefined;

  /** Makes the node of call `id`, the `seq`-th of its run. */
  constructor(
    readonly id: string,
    readonly seq: number,
    readonly task: TaskDefinition,
    readonly config: TaskConfig,
    readonly priority: number,
  ) {}

  /** Whether it has settled. */
  get settled(): boolean {
    return this.state >= SUCCEEDED;
  }

  /** The context of the attempt an executor runs. */
  get context(): AttemptContext {
    return this.ctx!;
  }

  /** Waits for the result, like a promise. */
  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise().then(onfulfilled, onrejected);
  }

  /** `TaskRef(id)`. */
  toString(): string {
    return `TaskRef(${this.id})`;
  }

  /** `TaskRef(id)` in `console.log`. */
  [INSPECT](): string {
    return `TaskRef(${this.id})`;
  }

  /** The promise of its result, made on first use. */
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

  /** Settles the promise of its result, if one was made. */
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

/** Whether a value is a reference of this engine. */
export const isRef = (v: object): boolean => v instanceof Node;

/** The value behind a reference (once it settled). */
export const valueOf = (v: object): unknown => (v as Node).value;

/** Whether a settled node lets its dependents run: a result, or a failure they may ignore. */
export function ok(node: Node): boolean {
  return node.state === SUCCEEDED || node.state === CACHED ||
    (node.state === FAILED && node.config.continueOnError);
}

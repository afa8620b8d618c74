/**
 * The scheduler: moves a run's nodes from pending to settled. A node becomes ready when its
 * dependencies have settled (and its condition holds), waits until what it depends on is
 * durable (in a journaled run), and starts in priority order within the global and the per-map
 * concurrency limits; how it runs is the {@linkcode Launcher}'s business. Settling propagates:
 * results make dependents ready, failures skip (or cancel) what depends on them.
 *
 * @module
 */

import {
  errorMessage,
  FlowValidationError,
  MapLimitError,
  NotJsonError,
  RunCancelledError,
  TaskFailedError,
  TaskSkippedError,
} from "../core/errors.ts";
import { flowScopeStorage } from "../core/protocol.ts";
import type { Clock } from "./clock.ts";
import type { GraphBuilder, GraphSink } from "./graph.ts";
import type { HookRunner } from "./hooks.ts";
import type { JournalWriter, RunEvents } from "./journal.ts";
import {
  CACHED,
  CANCELLED,
  EMPTY,
  FAILED,
  Node,
  ok,
  PENDING,
  READY,
  RUNNING,
  SKIPPED,
  SUCCEEDED,
} from "./node.ts";
import { conditionInfo, emitCreated, emitSettled } from "./node_events.ts";
import { ReadyQueue } from "./ready_queue.ts";
import { argsHash, type ReplayCheck } from "./replay.ts";
import type { RunSecrets } from "./secrets.ts";

/** Starts a node the scheduler gave a slot: the cache, authorization, attempts. */
export interface Launcher {
  /** Runs `node` (now RUNNING, arguments resolved) until it reports back to the scheduler. */
  start(node: Node): void;
}

/** What the scheduler of one run works with. */
export interface SchedulerParts {
  /** The run's id. */
  runId: string;
  /** The run's clock. */
  clock: Clock;
  /** The most nodes running at once. */
  limit: number;
  /** The run's events. */
  events: RunEvents;
  /** The journal's writer: ready nodes start once it made what came before durable. */
  journal: JournalWriter<Node> | undefined;
  /** Checks calls against a resumed run's record, and restores them. */
  replay: ReplayCheck | undefined;
  /** Hooks about tasks' ends. */
  hooks: HookRunner;
  /** Masks secrets in error messages. */
  secrets: RunSecrets;
  /** Called when a drain found nothing more to start: the run may be done. */
  onIdle: () => void;
}

const refId = (v: object): string | undefined => v instanceof Node ? v.id : undefined;

/**
 * The scheduler of one run.
 *
 * @example
 * ```ts ignore
 * const scheduler = new Scheduler(parts);
 * scheduler.launcher = attempts;
 * scheduler.graph = new GraphBuilder(settings, scheduler);
 * ```
 */
export class Scheduler implements GraphSink {
  /** Every node of the run, in the order they were added. */
  readonly nodes: Node[] = [];
  /** Starts nodes. */
  launcher!: Launcher;
  /** Makes map items. */
  graph!: GraphBuilder;
  /** Whether the run is being cancelled (conditions see it; no retry follows). */
  cancelled = false;
  /** Whether the run has ended: nothing starts any more. */
  halted = false;
  readonly #p: SchedulerParts;
  readonly #ready = new ReadyQueue<Node>();
  #running = 0;
  #unsettled = 0;
  #draining = false;
  #kicked = false;
  readonly #drainBound = () => {
    this.#kicked = false;
    this.drain();
  };

  /** A scheduler over `parts`; set its launcher and graph before the first node. */
  constructor(parts: SchedulerParts) {
    this.#p = parts;
  }

  /** Whether every node added so far has settled. */
  get idle(): boolean {
    return this.#unsettled === 0;
  }

  /** Takes a new node: restores it, settles it at once (upstream failed), or makes it ready. */
  add(node: Node): void {
    const p = this.#p;
    const restored = p.replay?.check(node);
    this.nodes.push(node);
    this.#unsettled++;
    const events = p.events;
    // A restored call's row already holds its result: listeners see it, the journal does not.
    events.restoring = restored !== undefined;
    // Nobody would see a restored call's events without a listener: they are not built.
    if (events.wanted) {
      // What a resumed run's calls must match (only the journal keeps it).
      const hash = events.journaling ? argsHash(node.args, refId) : undefined;
      emitCreated(events, p.runId, node, p.clock.now(), hash);
    }
    if (restored !== undefined) {
      // Completed before: its journaled result stands; it does not run again.
      node.attempts = restored.attempts;
      node.startedAt = node.finishedAt = p.clock.now();
      node.value = restored.value;
      this.settle(node, SUCCEEDED, undefined);
      events.restoring = false;
      return;
    }
    const deps = node.deps;
    if (deps !== null) {
      // A dependency that already settled badly decides this node's fate now.
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i];
        if (d.state >= SUCCEEDED && !ok(d) && !node.condition?.evenIfUpstreamFailed) {
          if (d.state === CANCELLED) this.settle(node, CANCELLED, d.error);
          else this.skip(node, d.state === SKIPPED ? d.reason! : `upstream "${d.id}" failed`);
          return;
        }
      }
    }
    // A map over a literal list (no args kept) is expanded by its caller right away.
    if (node.pending === 0 && !(node.map !== null && node.args === EMPTY)) {
      this.#becomeReady(node);
    }
  }

  /** Expands a map group over `list`: one item per element, or the group fails. */
  expand(group: Node, list: unknown): void {
    const map = group.map!;
    const p = this.#p;
    group.state = RUNNING;
    group.startedAt = p.clock.now();
    group.attempts = 1;
    map.items = [];
    if (!Array.isArray(list)) {
      const what = list === null ? "null" : typeof list;
      this.fail(
        group,
        new TypeError(`f.map() of "${group.id}" needs a list, but its input is ${what}`),
      );
      return;
    }
    if (list.length > map.maxItems) {
      this.fail(group, new MapLimitError(group.id, list.length, map.maxItems));
      return;
    }
    map.left = list.length;
    if (p.events.observed) {
      p.events.emit({
        type: "map.expanded",
        runId: p.runId,
        time: group.startedAt,
        taskId: group.id,
        name: group.config.name,
        items: list.length,
      });
    }
    if (list.length === 0) {
      this.succeed(group, []);
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const item = this.graph.item(group, i, list[i]);
      map.items.push(item);
      this.add(item);
    }
  }

  #becomeReady(node: Node): void {
    if (node.condition !== null && !this.#conditionHolds(node)) return;
    if (node.map !== null) {
      let list = this.graph.mapInput(node);
      const select = node.map.select;
      if (select !== null) {
        try {
          list = select(list);
        } catch (e) {
          node.attempts = 1;
          this.fail(node, e);
          return;
        }
      }
      this.expand(node, list);
      return;
    }
    node.state = READY;
    const journal = this.#p.journal;
    if (journal !== undefined) {
      // What it depends on must be durable before it starts.
      journal.gate(node);
      return;
    }
    this.#ready.push(node);
    this.#kick();
  }

  #kick(): void {
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
    const info = conditionInfo(node, this.cancelled);
    let holds: boolean;
    try {
      holds = c.test(info);
    } catch (e) {
      node.attempts = 1;
      this.fail(node, new Error(`condition ${c.text} could not be evaluated: ${errorMessage(e)}`));
      return false;
    }
    if (!holds) this.skip(node, `condition ${c.text} is false`);
    return holds;
  }

  /** Ready nodes whose inputs are now durable. */
  admit(gated: readonly Node[]): void {
    for (const node of gated) if (node.state === READY) this.#ready.push(node);
    if (gated.length) this.drain();
  }

  /** Starts ready nodes while there are slots. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // A run abandoned by an invalid body is halted: the tasks it queued never start.
      while (this.#running < this.#p.limit && !this.halted) {
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
    this.#p.onIdle();
  }

  #start(node: Node): void {
    this.#running++;
    if (node.group !== null) node.group.map!.running++;
    node.state = RUNNING;
    node.startedAt = this.#p.clock.now();
    this.graph.resolve(node);
    this.launcher.start(node);
  }

  /** Gives a running node's slot back (it is about to settle, or waits for a retry no more). */
  release(node: Node): void {
    this.#running--;
    const g = node.group;
    if (g !== null) {
      const map = g.map!;
      map.running--;
      if (map.parked !== null && map.parked.length) this.#ready.push(map.parked.shift()!);
    }
  }

  /** Settles a node with its result (`CACHED` when it came from the cache). */
  succeed(node: Node, value: unknown, state = SUCCEEDED): void {
    node.value = value;
    this.settle(node, state, undefined);
    if (node.ctx !== undefined && this.#p.hooks.slow) this.#p.hooks.afterTask(node.ctx, value);
  }

  /** Settles a node with an error (wrapped in {@linkcode TaskFailedError} unless it is one of ours). */
  fail(node: Node, error: unknown): void {
    const named = (error as Error | undefined)?.name === "PermissionDeniedError" ||
      error instanceof TaskFailedError || error instanceof TaskSkippedError ||
      error instanceof NotJsonError || error instanceof MapLimitError ||
      error instanceof RunCancelledError || error instanceof FlowValidationError;
    const wrapped = named
      ? error
      : new TaskFailedError(this.#p.runId, node.id, node.attempts, error);
    this.settle(node, FAILED, wrapped);
    if (node.ctx !== undefined && this.#p.hooks.slow) this.#p.hooks.taskError(node.ctx, error);
  }

  /** Settles a node as skipped. */
  skip(node: Node, reason: string): void {
    node.reason = reason;
    this.settle(node, SKIPPED, new TaskSkippedError(node.id, reason));
  }

  /** Settles a node and propagates: dependents become ready, or are skipped or cancelled. */
  settle(node: Node, state: number, error: unknown): void {
    if (node.state >= SUCCEEDED) return;
    const now = this.#p.clock.now();
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
    if (this.#p.events.wanted) {
      emitSettled(this.#p.events, this.#p.runId, this.#p.secrets, node, now);
    }
    // What a settled node no longer needs goes now, while it is still young garbage.
    node.args = EMPTY;
    if (!this.#p.hooks.slow) node.ctx = undefined;
  }

  #itemSettled(group: Node, item: Node, good: boolean): void {
    const map = group.map!;
    map.left--;
    if (!good && item.state !== CANCELLED) {
      if (item.state === SKIPPED) this.skip(group, item.reason!);
      else {
        const cause = item.error instanceof TaskFailedError ? item.error.cause : item.error;
        this.settle(
          group,
          FAILED,
          new TaskFailedError(this.#p.runId, item.id, item.attempts, cause),
        );
      }
    } else if (map.left === 0) {
      const items = map.items!;
      const values = new Array(items.length);
      for (let i = 0; i < items.length; i++) values[i] = items[i].value;
      group.value = values;
      this.settle(group, SUCCEEDED, undefined);
    }
  }

  /**
   * Cancels every node that has not settled, aborting running attempts, except those whose
   * condition asks to run even then (`always()`, `cancelled()`): they run once their
   * dependencies have settled.
   */
  cancel(error: unknown): void {
    this.cancelled = true;
    const now = this.#p.clock.now();
    const survivors: Node[] = [];
    for (const node of this.nodes) {
      if (node.settled) continue;
      if (node.state === PENDING && node.condition?.evenIfUpstreamFailed) {
        survivors.push(node);
        continue;
      }
      if (node.state === RUNNING) {
        node.token++;
        node.cancelTimer?.();
        node.ctx?.abort(error);
      }
      this.#settleOne(node, CANCELLED, error, now);
    }
    this.#running = 0;
    for (const node of survivors) {
      node.pending = node.deps === null ? 0 : node.deps.filter((d) => !d.settled).length;
    }
    for (const node of survivors) if (node.pending === 0) this.#becomeReady(node);
  }

  /** Halts the run at once: nodes not settled are marked skipped with `reason`, no events. */
  abandon(reason: string): void {
    this.halted = true;
    for (const node of this.nodes) {
      if (!node.settled) {
        node.state = SKIPPED;
        node.reason = reason;
      }
    }
  }
}

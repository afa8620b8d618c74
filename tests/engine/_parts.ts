/**
 * The engine's parts wired by hand, for tests of one part at a time: a scheduler and a graph
 * builder whose nodes are started by a launcher the test controls.
 */

import { getLogger } from "@logtape/logtape";
import { FakeClock } from "../../src/engine/clock.ts";
import { GraphBuilder } from "../../src/engine/graph.ts";
import { HookRunner } from "../../src/engine/hooks.ts";
import { JournalWriter, RunEvents } from "../../src/engine/journal.ts";
import type { Node } from "../../src/engine/node.ts";
import type { ReplayCheck } from "../../src/engine/replay.ts";
import { type Launcher, Scheduler } from "../../src/engine/scheduler.ts";
import { RunSecrets } from "../../src/engine/secrets.ts";
import type { Journal, JournalEvent } from "../../src/engine/types.ts";
import type { RunEvent } from "../../src/core/events.ts";

/** The engine's logger, for parts that want one. */
export const log = () => getLogger(["orchestra", "test"]);

/** Waits until queued microtasks (the scheduler's kick, the journal's flush) have run. */
export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Options of {@linkcode parts}. */
export interface PartsOptions {
  /** The global concurrency limit. */
  limit?: number;
  /** A journal: ready nodes are gated on it. */
  journal?: Journal;
  /** Replay checks. */
  replay?: ReplayCheck;
  /** Executors the run offers besides inline and worker. */
  executors?: string[];
  /** A launcher; by default started nodes are only recorded. */
  launcher?: (sched: Scheduler, clock: FakeClock) => Launcher;
}

/** A scheduler and a graph builder over a fake clock; `events` collects what was emitted. */
export function parts(options: PartsOptions = {}) {
  const clock = new FakeClock(0);
  const started: Node[] = [];
  const events: RunEvent[] = [];
  let idle = 0;
  const journal = options.journal === undefined
    ? undefined
    : new JournalWriter<Node>(options.journal, (gated) => sched.admit(gated), () => {});
  const runEvents = new RunEvents((e) => events.push(e), journal, log);
  const sched: Scheduler = new Scheduler({
    runId: "r",
    clock,
    limit: options.limit ?? Infinity,
    events: runEvents,
    journal,
    replay: options.replay,
    hooks: new HookRunner([], [], log),
    secrets: new RunSecrets(() => undefined),
    onIdle: () => idle++,
  });
  sched.launcher = options.launcher?.(sched, clock) ?? { start: (n) => void started.push(n) };
  const graph = new GraphBuilder(
    {
      flow: "f",
      runId: "r",
      defaults: undefined,
      ceiling: undefined,
      sandbox: undefined,
      executors: options.executors,
    },
    sched,
  );
  sched.graph = graph;
  /** Ends a started node with `value`, as attempts would. */
  const finish = (node: Node, value: unknown) => {
    sched.release(node);
    sched.succeed(node, value);
    sched.drain();
  };
  /** Ends a started node with `error`. */
  const failWith = (node: Node, error: unknown) => {
    sched.release(node);
    sched.fail(node, error);
    sched.drain();
  };
  return {
    clock,
    sched,
    graph,
    started,
    events,
    journal,
    finish,
    failWith,
    get idleCalls() {
      return idle;
    },
  };
}

/** A journal that records its batches. */
export function recordingJournal(): Journal & { batches: JournalEvent[][] } {
  const batches: JournalEvent[][] = [];
  return {
    batches,
    append(events) {
      batches.push([...events]);
      return Promise.resolve();
    },
  };
}

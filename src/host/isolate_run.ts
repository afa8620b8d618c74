/**
 * A run of a TypeScript flow driven by the host, its engine in a flow isolate: the host makes
 * each journal batch durable and acknowledges it (dependents start only then), answers the
 * cache, launches task workers on request, and watches the pure tasks that have a timeout. A
 * pure task that holds the isolate past its timeout (a `for (;;)`) cannot be stopped inside
 * it: the host terminates the isolate, and the run continues from the journal in a fresh one —
 * completed calls restored, the task's attempt failed as timed out (retried while its policy
 * allows), every other call where it stood.
 *
 * @module
 */

import { getLogger, type Logger } from "@logtape/logtape";
import { errorMessage, TaskTimeoutError } from "../core/errors.ts";
import type { RunEvent } from "../core/events.ts";
import type { ResultCache } from "../engine/cache.ts";
import type { Journal, JournalEvent, RestoredTask, RunRecord } from "../engine/types.ts";
import { FlowIsolate } from "./flow_isolate.ts";
import type { IsolateToHost, LaunchRequest, PriorData, RunRequest } from "./isolate_protocol.ts";
import { errorFrom } from "./isolate_parts.ts";
import type { TaskLauncher } from "./task_launcher.ts";
import { errorData } from "./isolate_protocol.ts";

/** How long after a timed task's timeout the host asks whether the isolate still answers. */
const GRACE_MS = 50;
/** How long a healthy isolate may take to answer. */
const PING_MS = 250;

/** An attempt of a pure task with a timeout, as the host watches it. */
export interface Overrun {
  /** The call. */
  taskId: string;
  /** The attempt. */
  attempt: number;
  /** Its timeout. */
  timeoutMs: number;
  /** How long it had run when the isolate was stopped. */
  elapsedMs: number;
}

/** What a restarted run continues with. */
export interface Continuation {
  /** Calls restored. */
  restore: ReadonlyMap<string, RestoredTask>;
  /** Calls that made attempts. */
  prior: [string, PriorData][];
}

/** What a sandboxed run works with. */
export interface SandboxedRunOptions {
  /** The isolate the flow was planned in, if it is still there (it is used, then stopped). */
  isolate?: FlowIsolate;
  /** The flow's module. */
  moduleUrl: string;
  /** The isolate's read grant (the flow's module files). */
  files: readonly string[];
  /** The run request (restore and prior attempts of the first life). */
  request: RunRequest;
  /** Where batches are made durable (masked by the caller). */
  journal: Journal;
  /** The result cache. */
  cache: ResultCache;
  /** Cancels the run. */
  signal: AbortSignal;
  /** Every event, for the view. */
  onEvent?: (event: RunEvent) => void;
  /** Runs the tasks that need rights. */
  launcher: TaskLauncher;
  /** What a fresh isolate continues with after `overrun` stopped the last one. */
  continuation(overrun: Overrun, attempts: ReadonlyMap<string, number>): Promise<Continuation>;
  /** The host's logger. */
  log: Logger;
}

type Outcome =
  | { record: RunRecord }
  | { error: Error }
  | { overrun: Overrun };

/** Cache keys the isolate may use: a task cache key, never another part of the store's cache. */
const CACHE_KEY = /^(?!authz:)[^\n]{1,512}:[0-9a-f]{32}$/;

/** Drives one run across as many isolates as it takes. */
export async function runSandboxed(o: SandboxedRunOptions): Promise<RunRecord> {
  let isolate = o.isolate;
  let request = o.request;
  for (;;) {
    isolate ??= await FlowIsolate.open(o.moduleUrl, o.files);
    const life = new IsolateLife(isolate, o);
    const outcome = await life.run(request);
    isolate.terminate();
    isolate = undefined;
    if ("record" in outcome) return outcome.record;
    if ("error" in outcome) throw outcome.error;
    const { overrun } = outcome;
    o.log.warn(
      "{taskId} held the flow isolate past its timeout of {timeoutMs} ms: the isolate was " +
        "stopped, and the run continues in a fresh one",
      { taskId: overrun.taskId, timeoutMs: overrun.timeoutMs },
    );
    const next = await o.continuation(overrun, life.attempts);
    request = {
      ...request,
      restore: [...next.restore],
      prior: next.prior,
    };
  }
}

interface Watched extends Overrun {
  started: number;
  timer: ReturnType<typeof setTimeout>;
}

/** One isolate's part of a run. */
class IsolateLife {
  readonly #isolate: FlowIsolate;
  readonly #o: SandboxedRunOptions;
  readonly #launches = new Map<number, AbortController>();
  readonly #watched = new Map<string, Watched>();
  #journaled: Promise<void> = Promise.resolve();
  #resolve!: (o: Outcome) => void;
  #over = false;
  #ping = 0;
  #pong = 0;
  /**
   * Attempts each call made and finished, from the batches (a restart continues from there):
   * a started attempt counts once its outcome is journaled.
   */
  readonly attempts = new Map<string, number>();

  constructor(isolate: FlowIsolate, o: SandboxedRunOptions) {
    this.#isolate = isolate;
    this.#o = o;
  }

  run(request: RunRequest): Promise<Outcome> {
    const done = new Promise<Outcome>((resolve) => (this.#resolve = resolve));
    const onAbort = () =>
      this.#isolate.send({ type: "cancel", reason: errorMessage(this.#o.signal.reason) });
    this.#isolate.listen(
      (m) => this.#receive(m),
      (why) => this.#end({ error: new Error(`the flow isolate failed: ${why}`) }),
    );
    this.#isolate.send(request);
    if (this.#o.signal.aborted) onAbort();
    else this.#o.signal.addEventListener("abort", onAbort, { once: true });
    return done.finally(async () => {
      this.#o.signal.removeEventListener("abort", onAbort);
      for (const w of this.#watched.values()) clearTimeout(w.timer);
      for (const c of this.#launches.values()) c.abort(new Error("the flow isolate stopped"));
      // What was received is made durable before the run goes on or ends.
      await this.#journaled.catch(() => {});
    });
  }

  #end(outcome: Outcome): void {
    if (this.#over) return;
    this.#over = true;
    this.#resolve(outcome);
  }

  #receive(m: IsolateToHost): void {
    if (this.#over) return;
    switch (m.type) {
      case "journal":
        return this.#journal(m.seq, m.events);
      case "events":
        for (const e of m.events) this.#o.onEvent?.(e);
        return;
      case "launch":
        return void this.#launch(m.request);
      case "authorize":
        return void this.#o.launcher.authorize(m.request).then(
          (grant) => this.#isolate.send({ type: "authorized", id: m.id, ok: true, grant }),
          (e) =>
            this.#isolate.send({ type: "authorized", id: m.id, ok: false, error: errorData(e) }),
        );
      case "cancel-task":
        return this.#launches.get(m.id)?.abort(new Error(m.reason));
      case "cache-get":
      case "cache-set":
        return void this.#cache(m);
      case "attempt":
        return this.#watch(m.taskId, m.attempt, m.timeoutMs);
      case "ended":
        return this.#unwatch(m.taskId, m.attempt);
      case "pong":
        this.#pong = m.n;
        return;
      case "console":
        this.#o.log[m.level === "warning" ? "warn" : m.level]("{line}", { line: m.line });
        return;
      case "log": {
        const method = m.level === "warning" ? "warn" : m.level;
        getLogger(m.category)[method](m.message, m.properties);
        return;
      }
      case "warning":
        this.#o.log.warn("The flow isolate: {message}", { message: m.message });
        return;
      case "finished":
        return void this.#journaled.then(() => this.#end({ record: m.record }));
      case "failed":
        return this.#end({ error: errorFrom(m.error) });
    }
  }

  #journal(seq: number, events: JournalEvent[]): void {
    const runId = this.#o.request.runId;
    // The isolate writes only its own run's journal.
    const foreign = events.find((e) => e === null || typeof e !== "object" || e.runId !== runId);
    if (foreign !== undefined) {
      this.#end({
        error: new Error("the flow isolate sent events of another run; it was stopped"),
      });
      return;
    }
    for (const e of events) this.#count(e);
    this.#journaled = this.#journaled.then(async () => {
      try {
        await this.#o.journal.append(events);
      } catch (err) {
        this.#isolate.send({ type: "ack", seq, error: errorMessage(err) });
        throw err;
      }
      this.#isolate.send({ type: "ack", seq });
      const on = this.#o.onEvent;
      if (on !== undefined) { for (const e of events) on(e); }
    });
    this.#journaled.catch(() => {}); // reported through the ack
  }

  #count(e: JournalEvent): void {
    switch (e.type) {
      case "task.retrying":
        this.attempts.set(e.taskId, e.attempt);
        break;
      case "task.succeeded":
        this.attempts.set(e.taskId, e.attempt);
        break;
      case "task.failed":
        this.attempts.set(e.taskId, e.attempts);
        break;
    }
  }

  async #launch(r: LaunchRequest): Promise<void> {
    const controller = new AbortController();
    this.#launches.set(r.id, controller);
    // The host keeps the task's timeout too: the isolate may not cancel it.
    const timer = r.timeoutMs === undefined ? undefined : setTimeout(
      () => controller.abort(new TaskTimeoutError(r.taskId, r.timeoutMs!)),
      r.timeoutMs + GRACE_MS,
    );
    try {
      const value = await this.#o.launcher.launch(
        r,
        controller.signal,
        (level, message, props) =>
          this.#isolate.send({
            type: "task-log",
            id: r.id,
            level,
            message,
            ...(props ? { props } : {}),
          }),
      );
      this.#isolate.send({ type: "launched", id: r.id, ok: true, value });
    } catch (e) {
      this.#isolate.send({ type: "launched", id: r.id, ok: false, error: errorData(e) });
    } finally {
      clearTimeout(timer);
      this.#launches.delete(r.id);
    }
  }

  async #cache(m: Extract<IsolateToHost, { type: "cache-get" | "cache-set" }>): Promise<void> {
    try {
      if (!CACHE_KEY.test(m.key)) throw new Error(`"${m.key}" is not a task cache key`);
      if (m.type === "cache-get") {
        const hit = await this.#o.cache.get(m.key, m.now);
        this.#isolate.send({ type: "cached", id: m.id, hit });
      } else {
        await this.#o.cache.set(m.key, m.value, m.expiresAt);
        this.#isolate.send({ type: "cached", id: m.id, hit: undefined });
      }
    } catch (e) {
      this.#isolate.send({ type: "cached", id: m.id, hit: undefined, error: errorMessage(e) });
    }
  }

  #watch(taskId: string, attempt: number, timeoutMs: number): void {
    const key = `${taskId}\n${attempt}`;
    const w: Watched = {
      taskId,
      attempt,
      timeoutMs,
      elapsedMs: 0,
      started: performance.now(),
      timer: undefined as unknown as ReturnType<typeof setTimeout>,
    };
    w.timer = setTimeout(() => this.#check(key), timeoutMs + GRACE_MS);
    this.#watched.set(key, w);
  }

  #unwatch(taskId: string, attempt: number): void {
    const key = `${taskId}\n${attempt}`;
    const w = this.#watched.get(key);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.#watched.delete(key);
  }

  /** An attempt is past its timeout: an isolate that still answers stops it itself. */
  #check(key: string): void {
    const w = this.#watched.get(key);
    if (w === undefined || this.#over) return;
    const n = ++this.#ping;
    this.#isolate.send({ type: "ping", n });
    w.timer = setTimeout(() => {
      if (!this.#watched.has(key) || this.#over) return;
      if (this.#pong >= n) {
        // It answered: its own timer fails the attempt; look again later.
        w.timer = setTimeout(() => this.#check(key), PING_MS);
        return;
      }
      w.elapsedMs = Math.round(performance.now() - w.started);
      this.#isolate.terminate();
      this.#end({ overrun: w });
    }, PING_MS);
  }
}

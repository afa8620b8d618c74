/**
 * The remote executor: a task with `executor: "remote"` is enqueued in the PostgreSQL store's
 * task queue, with its call, its grant (what the orchestrating host authorized) and its tags,
 * and the attempt resolves with what an `orchestra worker` returned. Results arrive by
 * `LISTEN/NOTIFY`; a slow poll covers a notification lost to a reconnect. Aborting the attempt
 * (its timeout, the run's cancellation) cancels the queued row: a worker running it stops it at
 * its next heartbeat.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { NoRemoteExecutor, REMOTE_NEEDS_POSTGRES, RemoteUnavailableError } from "./no_remote.ts";
import type { Executor, TaskCall } from "../engine/executor.ts";
import type { TaskContext } from "../engine/types.ts";
export { NoRemoteExecutor, REMOTE_NEEDS_POSTGRES, RemoteUnavailableError };
import { type LoggedLine, type QueuedCall, type TaskOutcome, TaskQueue } from "./task_queue.ts";

/** One attempt to send to the workers. */
export interface Submission {
  /** The run. */
  runId: string;
  /** The call's id. */
  taskId: string;
  /** The engine's attempt. */
  attempt: number;
  /** Only workers with all of these tags may run it. */
  tags: readonly string[];
  /** The call. */
  call: QueuedCall;
}

/** The idempotency key of a call: the same for every attempt and delivery of it. */
export function idempotencyKey(runId: string, taskId: string): string {
  return `${runId}:${taskId}`;
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onLog(line: LoggedLine): void;
}

/** How often outstanding attempts are looked up in case a notification was missed. */
const POLL_MS = 1000;

/**
 * Sends attempts to `orchestra worker` processes through the store's task queue.
 *
 * @example
 * ```ts ignore
 * const remote = new RemoteExecutor("postgres://orchestra@127.0.0.1/orchestra");
 * await executeFlow(def, {}, { executors: { remote } });
 * await remote.close();
 * ```
 */
export class RemoteExecutor implements Executor {
  readonly #url: string;
  #queue: Promise<TaskQueue> | undefined;
  #unlisten: Promise<() => Promise<void>> | undefined;
  readonly #waiting = new Map<number, Waiter>();
  #poll: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** An executor over the store at `url` (connected on first use). */
  constructor(url: string) {
    this.#url = url;
  }

  #open(): Promise<TaskQueue> {
    this.#queue ??= TaskQueue.open(this.#url, { maxConnections: 3 });
    return this.#queue;
  }

  /** Enqueues one attempt of a task defined at a module's top level. */
  async run(call: TaskCall): Promise<unknown> {
    const ctx = call.context;
    const task = call.task;
    if (task.moduleUrl === undefined) {
      throw new OrchestraError(
        `Task "${call.id}" cannot run on a remote worker: workers load a task from its module, ` +
          `and this one is not defined at the top level of a module (or is a run: step, which ` +
          `runs as a process of the orchestrating host); define it with task(…) at a module's ` +
          `top level, or give it another executor`,
      );
    }
    if (task.prepare !== undefined && call.config.secrets.length > 0) {
      // A YAML step's arguments are prepared here, its secrets' values in them: never queued.
      throw new OrchestraError(
        `Task "${call.id}" cannot run on a remote worker: it declares secrets, and a YAML ` +
          `step's secrets would be written into the queue with its arguments; give it ` +
          `another executor, or move it into a TypeScript task (whose secrets each worker ` +
          `looks up on its own machine)`,
      );
    }
    const prepare = task.prepare as
      | ((args: unknown[], ctx: TaskContext) => unknown[] | Promise<unknown[]>)
      | undefined;
    const args = prepare ? await prepare(call.args, ctx) : call.args;
    const c = call.config;
    return await this.submit(
      {
        runId: ctx.runId,
        taskId: call.id,
        attempt: ctx.attempt,
        tags: c.tags,
        call: {
          moduleUrl: task.moduleUrl,
          workerName: task.workerName ?? task.options.name,
          name: c.name,
          flow: ctx.flow,
          params: ctx.params as Record<string, unknown>,
          args,
          grant: call.grant ?? c.permissions ?? {},
          secrets: [...c.secrets],
          ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
        },
      },
      ctx.signal,
      (l) => ctx.log[l.level === "warning" ? "warn" : l.level](l.message),
    );
  }

  /** Enqueues an attempt; resolves with its result, rejects with its error. */
  async submit(
    s: Submission,
    signal: AbortSignal,
    onLog: (line: LoggedLine) => void,
  ): Promise<unknown> {
    if (this.#closed) throw new Error("the remote executor is closed");
    signal.throwIfAborted();
    const queue = await this.#open();
    await this.#listen(queue);
    const id = await queue.enqueue({
      runId: s.runId,
      taskId: s.taskId,
      attempt: s.attempt,
      idempotencyKey: idempotencyKey(s.runId, s.taskId),
      tags: s.tags,
      call: s.call,
    });
    return await new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.#waiting.delete(id)) return;
        queue.cancel(id).then(() => queue.forget([id])).catch(() => {});
        reject(signal.reason);
      };
      const done = (fn: (v: unknown) => void) => (v: unknown) => {
        signal.removeEventListener("abort", onAbort);
        fn(v);
      };
      this.#waiting.set(id, { resolve: done(resolve), reject: done(reject), onLog });
      signal.addEventListener("abort", onAbort, { once: true });
      this.#polling(queue);
      // It may have finished before the waiter was set.
      void this.#look(queue, [id]);
    });
  }

  async #listen(queue: TaskQueue): Promise<void> {
    this.#unlisten ??= queue.listen(queue.resultsChannel, (payload) => {
      const id = Number(payload);
      if (this.#waiting.has(id)) void this.#look(queue, [id]);
    });
    await this.#unlisten;
  }

  #polling(queue: TaskQueue): void {
    if (this.#poll !== undefined) return;
    this.#poll = setInterval(() => {
      if (this.#waiting.size === 0) {
        clearInterval(this.#poll);
        this.#poll = undefined;
        return;
      }
      void this.#look(queue, [...this.#waiting.keys()]);
    }, POLL_MS);
  }

  async #look(queue: TaskQueue, ids: number[]): Promise<void> {
    let found: Map<number, TaskOutcome>;
    try {
      found = await queue.outcomes(ids);
    } catch {
      return; // the poll tries again
    }
    const read: number[] = [];
    for (const [id, outcome] of found) {
      const w = this.#waiting.get(id);
      if (w === undefined) continue;
      this.#waiting.delete(id);
      read.push(id);
      for (const line of outcome.logs ?? []) w.onLog(line);
      if (outcome.ok) w.resolve(outcome.value);
      else {
        const e = new Error(outcome.error.message);
        e.name = outcome.error.name;
        w.reject(e);
      }
    }
    await queue.forget(read).catch(() => {});
  }

  /** Cancels what still waits and closes the connections. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    this.#poll = undefined;
    const queue = this.#queue === undefined ? undefined : await this.#queue.catch(() => undefined);
    for (const [id, w] of this.#waiting) {
      w.reject(new Error("the run ended"));
      await queue?.cancel(id).catch(() => {});
    }
    this.#waiting.clear();
    if (this.#unlisten) await (await this.#unlisten.catch(() => undefined))?.().catch(() => {});
    await queue?.close().catch(() => {});
  }
}

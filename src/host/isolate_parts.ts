/**
 * The engine's ports as the flow isolate implements them, each a bridge to the host over the
 * sandbox's private port:
 *
 * - {@linkcode BridgeJournal}: each tick's batch is posted; the append resolves when the host
 *   acknowledges it durable, so the engine's durability gate holds as in the host.
 * - {@linkcode BridgeCache}: the host answers cache lookups and stores (the key is hashed
 *   here; the host keeps the entry).
 * - {@linkcode HostExecutor}: a task that needs rights — one that requests permissions,
 *   declares secrets or holds `enc:v1:` arguments, or chose `executor: "worker"` — is run by
 *   the host in a task worker; the isolate sends what the task asks for, the host decides.
 * - {@linkcode IsolateInlineExecutor}: pure tasks run here; one with a timeout is announced to
 *   the host first, which stops the isolate if the task holds it past its timeout.
 *
 * @module
 */

import { errorMessage, FlowValidationError, TaskTimeoutError } from "../core/errors.ts";
import type { LogLevel } from "../core/events.ts";
import type { CacheHit, ResultCache } from "../engine/cache.ts";
import { requestsAny } from "../engine/calls.ts";
import { type Executor, InlineExecutor, type TaskCall } from "../engine/executor.ts";
import type { Journal, JournalEvent, TaskContext } from "../engine/types.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { explainDenial } from "../permissions/denial.ts";
import { holdsEncrypted } from "../permissions/encrypted.ts";
import type { ErrorData, HostToIsolate, IsolateToHost } from "./isolate_protocol.ts";

/** Posts a message to the host. */
export type Send = (message: IsolateToHost) => void;

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** An error from its data, with the classes the engine tells apart. */
export function errorFrom(e: ErrorData): Error {
  if (e.name === "TaskTimeoutError" && e.timeoutMs !== undefined) {
    return new TaskTimeoutError(
      /"([^"]+)"/.exec(e.message)?.[1] ?? "task",
      e.timeoutMs,
      e.elapsedMs,
    );
  }
  if (e.name === "FlowValidationError" && e.issues) {
    return new FlowValidationError(e.flow ?? "flow", e.issues);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** The run's journal, made durable by the host. */
export class BridgeJournal implements Journal {
  readonly #send: Send;
  readonly #waiting = new Map<number, Waiting<void>>();
  #seq = 0;

  /** Posts batches through `send`. */
  constructor(send: Send) {
    this.#send = send;
  }

  /** Posts the batch; resolves once the host has made it durable. */
  append(events: readonly JournalEvent[]): Promise<void> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(seq, { resolve, reject });
      this.#send({ type: "journal", seq, events: events as JournalEvent[] });
    });
  }

  /** The host's answer about batch `seq`. */
  acknowledged(m: Extract<HostToIsolate, { type: "ack" }>): void {
    const w = this.#waiting.get(m.seq);
    if (w === undefined) return;
    this.#waiting.delete(m.seq);
    if (m.error === undefined) w.resolve();
    else w.reject(new Error(m.error));
  }
}

/** The result cache, kept by the host. */
export class BridgeCache implements ResultCache {
  readonly #send: Send;
  readonly #waiting = new Map<number, Waiting<CacheHit>>();
  #next = 0;

  /** Asks through `send`. */
  constructor(send: Send) {
    this.#send = send;
  }

  #ask(message: IsolateToHost & { id: number }): Promise<CacheHit> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(message.id, { resolve, reject });
      this.#send(message);
    });
  }

  /** Looks `key` up in the host's cache. */
  get(key: string, now: number): Promise<CacheHit> {
    return this.#ask({ type: "cache-get", id: ++this.#next, key, now });
  }

  /** Stores an entry in the host's cache. */
  async set(key: string, value: unknown, expiresAt: number): Promise<void> {
    await this.#ask({ type: "cache-set", id: ++this.#next, key, value, expiresAt });
  }

  /** A run never clears the cache (`orchestra cache clear` does). */
  clear(): never {
    throw new Error("the flow isolate cannot clear the cache");
  }

  /** The host's answer to a lookup or a store. */
  answered(m: Extract<HostToIsolate, { type: "cached" }>): void {
    const w = this.#waiting.get(m.id);
    if (w === undefined) return;
    this.#waiting.delete(m.id);
    if (m.error === undefined) w.resolve(m.hit);
    else w.reject(new Error(m.error));
  }
}

const METHODS = { debug: "debug", info: "info", warning: "warn", error: "error" } as const;

interface Launch extends Waiting<unknown> {
  log: TaskContext["log"];
}

/** Runs tasks that need rights in task workers the host launches. */
export class HostExecutor implements Executor {
  readonly #send: Send;
  readonly #launches = new Map<number, Launch>();
  readonly #authorizing = new Map<number, Waiting<PermissionSet>>();
  #next = 0;

  /** Asks through `send`. */
  constructor(send: Send) {
    this.#send = send;
  }

  /** Sends the call to the host; resolves with what its task worker returned. */
  async run(call: TaskCall): Promise<unknown> {
    const ctx = call.context;
    const task = call.task;
    if (task.moduleUrl === undefined) {
      throw new TypeError(
        `Task "${call.id}" cannot run in a task worker: it is not defined at the top level of ` +
          `a module. A task that requests permissions or declares secrets runs in a worker ` +
          `(the flow isolate has no permissions); define it with task(…) at a module's top level`,
      );
    }
    const prepare = task.prepare as
      | ((args: unknown[], ctx: TaskContext) => unknown[] | Promise<unknown[]>)
      | undefined;
    const args = prepare ? await prepare(call.args, ctx) : call.args;
    const id = ++this.#next;
    const signal = ctx.signal;
    return await new Promise((resolve, reject) => {
      const onAbort = () =>
        this.#send({ type: "cancel-task", id, reason: errorMessage(signal.reason) });
      const done = (fn: (v: unknown) => void) => (v: unknown) => {
        signal.removeEventListener("abort", onAbort);
        fn(v);
      };
      this.#launches.set(id, { resolve: done(resolve), reject: done(reject), log: ctx.log });
      signal.addEventListener("abort", onAbort, { once: true });
      const c = call.config;
      this.#send({
        type: "launch",
        request: {
          id,
          taskId: call.id,
          attempt: ctx.attempt,
          name: c.name,
          moduleUrl: task.moduleUrl!,
          workerName: task.workerName ?? task.options.name,
          args,
          ...(c.permissions ? { permissions: c.permissions } : {}),
          secrets: [...c.secrets],
          ...(task.plugin
            ? { plugin: { name: task.plugin.name, version: task.plugin.version } }
            : {}),
          ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
        },
      });
    });
  }

  /**
   * Asks the host what a task that requests permissions may have (the engine's `authorize`,
   * before the first attempt). The grant is the host's to keep: a launch uses the host's copy.
   */
  authorize(t: {
    taskId: string;
    name: string;
    request: PermissionSet;
    plugin?: { name: string; version: string };
  }): Promise<PermissionSet> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#authorizing.set(id, { resolve, reject });
      this.#send({
        type: "authorize",
        id,
        request: {
          taskId: t.taskId,
          name: t.name,
          permissions: t.request,
          ...(t.plugin ? { plugin: { name: t.plugin.name, version: t.plugin.version } } : {}),
        },
      });
    });
  }

  /** The host's answer about authorization `m.id`. */
  authorized(m: Extract<HostToIsolate, { type: "authorized" }>): void {
    const w = this.#authorizing.get(m.id);
    if (w === undefined) return;
    this.#authorizing.delete(m.id);
    if (m.ok) w.resolve(m.grant);
    else w.reject(errorFrom(m.error));
  }

  /** The host's answer about launch `m.id`. */
  launched(m: Extract<HostToIsolate, { type: "launched" }>): void {
    const l = this.#launches.get(m.id);
    if (l === undefined) return;
    this.#launches.delete(m.id);
    if (m.ok) l.resolve(m.value);
    else l.reject(errorFrom(m.error));
  }

  /** A line the task logged in its worker. */
  logged(m: Extract<HostToIsolate, { type: "task-log" }>): void {
    this.#launches.get(m.id)?.log[METHODS[m.level as LogLevel]](m.message, m.props);
  }
}

/** Whether a call needs rights the flow isolate does not have. */
export function needsHost(call: TaskCall): boolean {
  const c = call.config;
  return c.secrets.length > 0 || requestsAny(c.permissions) || holdsEncrypted(call.args);
}

/**
 * A denial inside the isolate, explained: a pure task asked for a permission (it requested
 * none, so it runs with none).
 */
function explained(call: TaskCall, e: unknown): unknown {
  if (!(e instanceof Error) || e.name !== "NotCapable") return e;
  const err = new Error(
    explainDenial(e.message, call.id, undefined, Deno.cwd()).replace(
      "; add it to the task's permissions",
      "; a task that requests no permissions runs in the flow isolate, which has none: add " +
        "it to the task's permissions",
    ),
  );
  err.name = e.name;
  return err;
}

/** Pure tasks in the isolate; tasks that need rights go to the host. */
export class IsolateInlineExecutor implements Executor {
  readonly #inline = new InlineExecutor(true);
  readonly #host: HostExecutor;
  readonly #send: Send;

  /** Hands what needs rights to `host`; announces timed tasks through `send`. */
  constructor(host: HostExecutor, send: Send) {
    this.#host = host;
    this.#send = send;
  }

  /** Runs the call here, or in a task worker when it needs rights. */
  run(call: TaskCall): unknown {
    if (needsHost(call)) return this.#host.run(call);
    const timeoutMs = call.config.timeoutMs;
    if (timeoutMs === undefined) return this.#untimed(call);
    // Told before the task runs: if it never gives the thread back, the host stops the isolate.
    const taskId = call.id;
    const attempt = call.context.attempt;
    this.#send({ type: "attempt", taskId, attempt, timeoutMs });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.#send({ type: "ended", taskId, attempt });
    };
    let r: unknown;
    try {
      r = this.#untimed(call);
    } catch (e) {
      end();
      throw e;
    }
    if (!isThenable(r)) {
      end();
      return r;
    }
    // An async task ends for the host when it settles, or when its timeout aborts it here.
    call.context.signal.addEventListener("abort", end, { once: true });
    return (r as Promise<unknown>).finally(end);
  }

  #untimed(call: TaskCall): unknown {
    let r: unknown;
    try {
      r = this.#inline.run(call);
    } catch (e) {
      throw explained(call, e);
    }
    return isThenable(r)
      ? (r as Promise<unknown>).catch((e) => Promise.reject(explained(call, e)))
      : r;
  }
}

function isThenable(r: unknown): boolean {
  return r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function";
}

/**
 * The worker side of the worker executor. A worker's generated entry module statically imports
 * the sandbox bootstrap, then this module, then the module that defines the tasks (so the
 * task's own grant need not include its source); tasks are found in the registry that `task()`
 * fills at module top level. A worker runs one task at a time, in the order they arrive.
 *
 * Everything here talks to the host only through the bootstrap's bridge (a private port), and
 * calls only functions captured before user code loaded: a task cannot see another task's
 * messages, context or result, nor post a reply in its name.
 *
 * @module
 */

import { REGISTRY_KEY, type TaskDefinition } from "../core/protocol.ts";
import type { LogLevel } from "../core/events.ts";
import { primordials as P, type SandboxScope, takeBridge } from "./sandbox_bootstrap.ts";

// Taken at this module's evaluation, which comes before the user's module in the entry.
const bridge = takeBridge();

/** What a task's context tells it inside a worker. */
export interface RunInfo {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** The call's id. */
  taskId: string;
  /** The attempt, from 1. */
  attempt: number;
  /** The run's params. */
  params: Record<string, unknown>;
}

/** A task to run, as the pool sends it. */
export interface RunMessage {
  /** Message type. */
  type: "run";
  /** The call's id in the pool. */
  id: number;
  /** Echoed in every reply about this call: the host takes nothing else as its answer. */
  nonce: string;
  /** The module whose top level defined the task. */
  moduleUrl: string;
  /** The task's name. */
  name: string;
  /** The task's arguments (references resolved). */
  args: unknown[];
  /** The secrets the task declared, by name. */
  secrets: Record<string, string>;
  /** What the task's context tells it. */
  info: RunInfo;
}

/** What the pool sends a worker on the private port. */
export type HostMessage =
  | RunMessage
  | { type: "runs"; runs: RunMessage[] }
  | { type: "abort"; id: number; reason: string };

/** An error as it crosses the port. */
export interface SerializedError {
  /** The error's name. */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack, if any. */
  stack?: string;
}

/** Messages a worker sends back (results travel in batches). */
export type WorkerReply =
  | { type: "ready" }
  | { type: "batch"; replies: WorkerReply[] }
  | { type: "result"; id: number; nonce: string; ok: true; value: unknown }
  | { type: "result"; id: number; nonce: string; ok: false; error: SerializedError }
  | {
    type: "log";
    id: number;
    nonce: string;
    level: LogLevel;
    message: string;
    props?: Record<string, unknown>;
  }
  /** Give this worker no more tasks: `running` (if any) finishes here, the rest go elsewhere. */
  | { type: "retire"; running: number | null; reason: string }
  /** The module could not be loaded (or its top level was refused): no task runs here. */
  | { type: "broken"; message: string };

function serializeError(e: unknown): SerializedError {
  try {
    if (e instanceof P.SafeError) {
      const out: SerializedError = { name: P.SafeString(e.name), message: P.SafeString(e.message) };
      if (typeof e.stack === "string") out.stack = e.stack;
      return out;
    }
    return { name: "Error", message: P.SafeString(e) };
  } catch {
    return { name: "Error", message: "the task threw an error that cannot be shown" };
  }
}

function format(args: unknown[]): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let text: string;
    if (typeof a === "string") text = a;
    else {
      try {
        text = P.JSONStringify(a) ?? P.SafeString(a);
      } catch {
        text = P.SafeString(a);
      }
    }
    out = i === 0 ? text : `${out} ${text}`;
  }
  return out;
}

interface Call {
  m: RunMessage;
  controller: AbortController;
  scope: SandboxScope;
  done: boolean;
}

interface Queued {
  m: RunMessage;
  next: Queued | undefined;
}

// Module loading: a refusal or an uncaught error of the top-level code breaks the worker.
let broken: string | undefined;
const moduleName = P.SafeString((globalThis as { name?: string }).name ?? "")
  .replace(/^orchestra:/, "");
const moduleScope: SandboxScope = {
  who: `the top-level code of ${moduleName || "the task's module"}`,
  context: undefined,
  loading: true,
  fail(error: Error): void {
    if (broken !== undefined) return;
    broken = error.message;
    bridge.send({ type: "broken", message: broken });
  },
};
bridge.setTopLevel(moduleScope);

type TaskFn = TaskDefinition["fn"];

/** The tasks as their modules defined them: a later change to the registry changes nothing. */
function snapshotTasks(): Map<string, TaskFn | "ambiguous"> {
  const tasks = new P.SafeMap<string, TaskFn | "ambiguous">();
  const registry = (globalThis as unknown as Record<symbol, unknown>)[REGISTRY_KEY];
  P.MapForEach(registry, (byName, url) => {
    P.MapForEach(byName, (def, name) => {
      const fn = def === "ambiguous" ? "ambiguous" : (def as TaskDefinition).fn;
      P.MapSet(tasks, `${url}\n${name}`, fn);
    });
  });
  return tasks;
}

function failure(m: RunMessage, error: SerializedError): WorkerReply {
  return { type: "result", id: m.id, nonce: m.nonce, ok: false, error };
}

/** Answers the pool: runs the calls it sends, one at a time, in order. */
class TaskServer {
  readonly #tasks = snapshotTasks();
  readonly #cancelled = new P.SafeMap<number, true>();
  readonly #calls = new P.SafeMap<SandboxScope, Call>();
  #head: Queued | undefined;
  #tail: Queued | undefined;
  #running: Call | undefined;
  #busy = false;
  #retiring = false;
  // Replies are batched: one message per drained queue (or per 64 replies), not per task.
  #outbox: WorkerReply[] = [];
  #outboxLength = 0;

  start(): void {
    this.#redirectConsole();
    bridge.onRetire((reason) => this.#retire(reason));
    bridge.receive((data) => this.#receive(data as HostMessage));
    bridge.send({ type: "ready" });
  }

  #flush(): void {
    if (this.#outboxLength === 0) return;
    const replies = this.#outbox;
    const n = this.#outboxLength;
    this.#outbox = [];
    this.#outboxLength = 0;
    bridge.send(n === 1 ? replies[0] : { type: "batch", replies });
  }

  #post(m: WorkerReply): void {
    if (m.type !== "result") {
      this.#flush();
      bridge.send(m);
      return;
    }
    // Fails here, not at flush, when a result cannot be cloned.
    if (m.ok) P.structuredClone(m.value);
    P.ObjectDefineProperty(this.#outbox, this.#outboxLength++, { value: m, enumerable: true });
    if (this.#outboxLength >= 64) this.#flush();
  }

  #log(call: Call, level: LogLevel, message: string, props?: Record<string, unknown>): void {
    if (call.done) return;
    const { id, nonce } = call.m;
    this.#post(
      props === undefined
        ? { type: "log", id, nonce, level, message }
        : { type: "log", id, nonce, level, message, props },
    );
  }

  #finish(call: Call, reply: WorkerReply): void {
    if (call.done) return;
    try {
      this.#post(reply);
    } catch (e) {
      this.#post(failure(call.m, {
        name: "NotJsonError",
        message: `Task "${call.m.info.taskId}": its result cannot leave the worker ` +
          `(${serializeError(e).message}); task outputs must be JSON values`,
      }));
    }
    call.done = true;
    if (this.#running === call) this.#running = undefined;
    P.MapDelete(this.#calls, call.scope);
    bridge.end(call.scope);
  }

  /** A task's console output goes to its own log; output outside every task is dropped. */
  #redirectConsole(): void {
    const to = (level: LogLevel) => (...a: unknown[]) => {
      const scope = bridge.current();
      const call = scope && P.MapGet(this.#calls, scope) as Call | undefined;
      if (call) this.#log(call, level, format(a));
    };
    console.log = console.info = to("info");
    console.debug = to("debug");
    console.warn = to("warning");
    console.error = to("error");
  }

  #retire(reason: string): void {
    if (this.#retiring) return;
    this.#retiring = true;
    this.#flush();
    bridge.send({ type: "retire", running: this.#running?.m.id ?? null, reason });
  }

  #context(call: Call, signal: AbortSignal) {
    const m = call.m;
    const secrets = m.secrets;
    const log = (level: LogLevel) => (msg: string, props?: Record<string, unknown>) =>
      this.#log(call, level, msg, props);
    return {
      ...m.info,
      name: m.name,
      signal,
      log: { debug: log("debug"), info: log("info"), warn: log("warning"), error: log("error") },
      secret: (name: string) => {
        if (!P.ObjectHasOwn(secrets, name)) {
          throw new P.SafeError(
            `Task "${m.info.taskId}" reads secret "${name}" but does not declare it; add ` +
              `secrets: ["${name}"] to the task's options`,
          );
        }
        return secrets[name];
      },
      sleep: (ms: number) =>
        new P.SafePromise<void>((resolve, reject) => {
          if (signal.aborted) return reject(signal.reason);
          const t = P.setTimeout(resolve, ms);
          signal.addEventListener("abort", () => {
            P.clearTimeout(t);
            reject(signal.reason);
          }, { once: true });
        }),
    };
  }

  #scope(call: Call, ctx: unknown): SandboxScope {
    return {
      who: `task "${call.m.info.taskId}"`,
      context: ctx,
      hint: "in work it started and did not await; await it, or catch its errors",
      output: (text, stream) => {
        const line = text.endsWith("\n") ? text.slice(0, -1) : text;
        if (line !== "") this.#log(call, stream === "stderr" ? "error" : "info", line);
      },
      fail: (error: Error) => this.#finish(call, failure(call.m, serializeError(error))),
    };
  }

  async #runOne(m: RunMessage): Promise<void> {
    const fn = P.MapGet(this.#tasks, `${m.moduleUrl}\n${m.name}`) as
      | TaskFn
      | "ambiguous"
      | undefined;
    if (fn === undefined || fn === "ambiguous") {
      const why = fn === "ambiguous"
        ? `two tasks named "${m.name}" are defined in ${m.moduleUrl}`
        : `no task named "${m.name}" is defined at the top level of ${m.moduleUrl}`;
      const message = `Cannot run task "${m.info.taskId}" in a worker: ${why}`;
      this.#post(failure(m, { name: "TypeError", message }));
      return;
    }
    const controller = new P.SafeAbortController();
    const call = { m, controller, done: false } as Call;
    const ctx = this.#context(call, P.signalOf(controller));
    call.scope = this.#scope(call, ctx);
    P.MapSet(this.#calls, call.scope, call);
    this.#running = call;
    const args = m.args;
    P.ObjectDefineProperty(args, args.length, { value: ctx, enumerable: true, writable: true });
    try {
      const value = await bridge.run(call.scope, invoke, fn, args);
      this.#finish(call, { type: "result", id: m.id, nonce: m.nonce, ok: true, value });
    } catch (e) {
      this.#finish(call, failure(m, serializeError(e)));
    }
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    while (this.#head !== undefined && !this.#retiring) {
      const m = this.#head.m;
      this.#head = this.#head.next;
      if (this.#head === undefined) this.#tail = undefined;
      if (P.MapDelete(this.#cancelled, m.id)) continue;
      await this.#runOne(m);
    }
    this.#busy = false;
    this.#flush();
  }

  #enqueue(m: RunMessage): void {
    const q: Queued = { m, next: undefined };
    if (this.#tail === undefined) this.#head = q;
    else this.#tail.next = q;
    this.#tail = q;
  }

  #receive(m: HostMessage): void {
    if (m.type === "run") {
      this.#enqueue(m);
      void this.#pump();
    } else if (m.type === "runs") {
      for (let i = 0; i < m.runs.length; i++) this.#enqueue(m.runs[i]);
      void this.#pump();
    } else if (m.type === "abort") {
      const running = this.#running;
      if (running?.m.id === m.id) P.abort(running.controller, new P.SafeError(m.reason));
      else P.MapSet(this.#cancelled, m.id, true);
    }
  }
}

/** Starts answering the pool: call once, at the end of the worker's entry module. */
export function serveTasks(): void {
  bridge.setTopLevel(undefined);
  if (broken === undefined) new TaskServer().start();
}

async function invoke(fn: TaskDefinition["fn"], args: unknown[]): Promise<unknown> {
  return await P.ReflectApply(fn as (...a: unknown[]) => unknown, undefined, args);
}

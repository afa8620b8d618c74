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

/** Starts answering the pool: call once, at the end of the worker's entry module. */
export function serveTasks(): void {
  bridge.setTopLevel(undefined);
  if (broken !== undefined) return;
  // The tasks as their modules defined them: a later change to the registry changes nothing.
  const tasks = new P.SafeMap<string, TaskDefinition["fn"] | "ambiguous">();
  const registry = (globalThis as unknown as Record<symbol, unknown>)[REGISTRY_KEY];
  P.MapForEach(registry, (byName, url) => {
    P.MapForEach(byName, (def, name) => {
      const fn = def === "ambiguous" ? "ambiguous" : (def as TaskDefinition).fn;
      P.MapSet(tasks, `${url}\n${name}`, fn);
    });
  });

  let head: Queued | undefined;
  let tail: Queued | undefined;
  const cancelled = new P.SafeMap<number, true>();
  const calls = new P.SafeMap<SandboxScope, Call>();
  let running: Call | undefined;
  let busy = false;
  let retiring = false;

  // Replies are batched: one message per drained queue (or per 64 replies), not per task.
  let outbox: WorkerReply[] = [];
  let outboxLength = 0;
  const flush = () => {
    if (outboxLength === 0) return;
    const replies = outbox;
    const n = outboxLength;
    outbox = [];
    outboxLength = 0;
    bridge.send(n === 1 ? replies[0] : { type: "batch", replies });
  };
  const post = (m: WorkerReply) => {
    if (m.type === "result") {
      // Fails here, not at flush, when a result cannot be cloned.
      if (m.ok) P.structuredClone(m.value);
      P.ObjectDefineProperty(outbox, outboxLength++, { value: m, enumerable: true });
      if (outboxLength >= 64) flush();
    } else {
      flush();
      bridge.send(m);
    }
  };

  const log = (call: Call, level: LogLevel, message: string, props?: Record<string, unknown>) => {
    if (call.done) return;
    const m: WorkerReply = props === undefined
      ? { type: "log", id: call.m.id, nonce: call.m.nonce, level, message }
      : { type: "log", id: call.m.id, nonce: call.m.nonce, level, message, props };
    post(m);
  };
  const finish = (call: Call, reply: WorkerReply) => {
    if (call.done) return;
    try {
      post(reply);
    } catch (e) {
      post({
        type: "result",
        id: call.m.id,
        nonce: call.m.nonce,
        ok: false,
        error: {
          name: "NotJsonError",
          message: `Task "${call.m.info.taskId}": its result cannot leave the worker ` +
            `(${serializeError(e).message}); task outputs must be JSON values`,
        },
      });
    }
    call.done = true;
    if (running === call) running = undefined;
    P.MapDelete(calls, call.scope);
    bridge.end(call.scope);
  };

  // A task's console output goes to its own log; output outside every task is dropped.
  const consoleLog = (level: LogLevel) => (...a: unknown[]) => {
    const scope = bridge.current();
    const call = scope && P.MapGet(calls, scope) as Call | undefined;
    if (call) log(call, level, format(a));
  };
  console.log = console.info = consoleLog("info");
  console.debug = consoleLog("debug");
  console.warn = consoleLog("warning");
  console.error = consoleLog("error");

  bridge.onRetire((reason) => {
    if (retiring) return;
    retiring = true;
    flush();
    bridge.send({ type: "retire", running: running?.m.id ?? null, reason });
  });

  function contextFor(call: Call, m: RunMessage, signal: AbortSignal) {
    const secrets = m.secrets;
    return {
      ...m.info,
      name: m.name,
      signal,
      log: {
        debug: (msg: string, props?: Record<string, unknown>) => log(call, "debug", msg, props),
        info: (msg: string, props?: Record<string, unknown>) => log(call, "info", msg, props),
        warn: (msg: string, props?: Record<string, unknown>) => log(call, "warning", msg, props),
        error: (msg: string, props?: Record<string, unknown>) => log(call, "error", msg, props),
      },
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

  async function runOne(m: RunMessage): Promise<void> {
    const fn = P.MapGet(tasks, `${m.moduleUrl}\n${m.name}`) as
      | TaskDefinition["fn"]
      | "ambiguous"
      | undefined;
    if (fn === undefined || fn === "ambiguous") {
      const why = fn === "ambiguous"
        ? `two tasks named "${m.name}" are defined in ${m.moduleUrl}`
        : `no task named "${m.name}" is defined at the top level of ${m.moduleUrl}`;
      post({
        type: "result",
        id: m.id,
        nonce: m.nonce,
        ok: false,
        error: {
          name: "TypeError",
          message: `Cannot run task "${m.info.taskId}" in a worker: ${why}`,
        },
      });
      return;
    }
    const controller = new P.SafeAbortController();
    const call: Call = {
      m,
      controller,
      done: false,
      scope: undefined as unknown as SandboxScope,
    };
    const ctx = contextFor(call, m, P.signalOf(controller));
    call.scope = {
      who: `task "${m.info.taskId}"`,
      context: ctx,
      hint: "in work it started and did not await; await it, or catch its errors",
      output: (text, stream) => {
        const line = text.endsWith("\n") ? text.slice(0, -1) : text;
        if (line !== "") log(call, stream === "stderr" ? "error" : "info", line);
      },
      fail: (error: Error) =>
        finish(call, {
          type: "result",
          id: m.id,
          nonce: m.nonce,
          ok: false,
          error: serializeError(error),
        }),
    };
    P.MapSet(calls, call.scope, call);
    running = call;
    const args = m.args;
    P.ObjectDefineProperty(args, args.length, { value: ctx, enumerable: true, writable: true });
    try {
      const value = await bridge.run(call.scope, invoke, fn, args);
      finish(call, { type: "result", id: m.id, nonce: m.nonce, ok: true, value });
    } catch (e) {
      finish(call, {
        type: "result",
        id: m.id,
        nonce: m.nonce,
        ok: false,
        error: serializeError(e),
      });
    }
  }

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    while (head !== undefined && !retiring) {
      const m = head.m;
      head = head.next;
      if (head === undefined) tail = undefined;
      if (P.MapDelete(cancelled, m.id)) continue;
      await runOne(m);
    }
    busy = false;
    flush();
  }

  const enqueue = (m: RunMessage) => {
    const q: Queued = { m, next: undefined };
    if (tail === undefined) head = q;
    else tail.next = q;
    tail = q;
  };

  bridge.receive((data) => {
    const m = data as HostMessage;
    if (m.type === "run") {
      enqueue(m);
      void pump();
    } else if (m.type === "runs") {
      for (let i = 0; i < m.runs.length; i++) enqueue(m.runs[i]);
      void pump();
    } else if (m.type === "abort") {
      if (running?.m.id === m.id) P.abort(running.controller, new P.SafeError(m.reason));
      else P.MapSet(cancelled, m.id, true);
    }
  });
  bridge.send({ type: "ready" });
}

async function invoke(fn: TaskDefinition["fn"], args: unknown[]): Promise<unknown> {
  return await P.ReflectApply(fn as (...a: unknown[]) => unknown, undefined, args);
}

/**
 * The worker side of the worker executor. A worker's generated entry module statically imports
 * the module that defines the tasks (so the task's own grant need not include its source) and
 * then this module; tasks are found in the registry that `task()` fills at module top level.
 * A worker runs one task at a time, in the order they arrive.
 *
 * @module
 */

import { taskRegistry, WORKER_CONTEXT } from "../core/protocol.ts";
import type { LogLevel } from "../core/events.ts";

/** A task to run, as the pool sends it. */
export interface RunMessage {
  /** Message type. */
  type: "run";
  /** The call's id in the pool. */
  id: number;
  /** The module whose top level defined the task. */
  moduleUrl: string;
  /** The task's name. */
  name: string;
  /** The task's arguments (references resolved). */
  args: unknown[];
  /** The secrets the task declared, by name. */
  secrets: Record<string, string>;
  /** What the task's context tells it. */
  info: {
    runId: string;
    flow: string;
    taskId: string;
    attempt: number;
    params: Record<string, unknown>;
  };
}

/** Messages a worker sends back (results travel in batches). */
export type WorkerReply =
  | { type: "ready" }
  | { type: "batch"; replies: WorkerReply[] }
  | { type: "result"; id: number; ok: true; value: unknown }
  | {
    type: "result";
    id: number;
    ok: false;
    error: { name: string; message: string; stack?: string };
  }
  | { type: "log"; id: number; level: LogLevel; message: string; props?: Record<string, unknown> };

function serializeError(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) {
    const out: { name: string; message: string; stack?: string } = {
      name: e.name,
      message: e.message,
    };
    if (e.stack) out.stack = e.stack;
    return out;
  }
  return { name: "Error", message: String(e) };
}

function format(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === "string") return a;
    try {
      return JSON.stringify(a) ?? String(a);
    } catch {
      return String(a);
    }
  }).join(" ");
}

// The worker's global scope, typed here: a lib reference would change globals for the package.
const self = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

/** Starts answering the pool: call once, at the end of the worker's entry module. */
export function serveTasks(): void {
  const queue: RunMessage[] = [];
  const cancelled = new Set<number>();
  let current: { id: number; controller: AbortController } | undefined;
  let busy = false;

  // Replies are batched: one message per drained queue (or per 64 replies), not per task.
  let outbox: WorkerReply[] = [];
  const flush = () => {
    if (outbox.length === 0) return;
    const replies = outbox;
    outbox = [];
    self.postMessage(replies.length === 1 ? replies[0] : { type: "batch", replies });
  };
  const post = (m: WorkerReply) => {
    if (m.type === "result") {
      // Fails here, not at flush, when a result cannot be cloned.
      if (m.ok) structuredClone(m.value);
      outbox.push(m);
      if (outbox.length >= 64) flush();
    } else {
      flush();
      self.postMessage(m);
    }
  };
  const log = (level: LogLevel, message: string, props?: Record<string, unknown>) => {
    if (!current) return;
    const m: WorkerReply = { type: "log", id: current.id, level, message };
    if (props) m.props = props;
    post(m);
  };
  // A task's console output goes to its own log.
  console.log = console.info = (...a: unknown[]) => log("info", format(a));
  console.debug = (...a: unknown[]) => log("debug", format(a));
  console.warn = (...a: unknown[]) => log("warning", format(a));
  console.error = (...a: unknown[]) => log("error", format(a));

  async function runOne(m: RunMessage): Promise<void> {
    const def = taskRegistry().get(m.moduleUrl)?.get(m.name);
    if (def === undefined || def === "ambiguous") {
      const why = def === "ambiguous"
        ? `two tasks named "${m.name}" are defined in ${m.moduleUrl}`
        : `no task named "${m.name}" is defined at the top level of ${m.moduleUrl}`;
      post({
        type: "result",
        id: m.id,
        ok: false,
        error: {
          name: "TypeError",
          message: `Cannot run task "${m.info.taskId}" in a worker: ${why}`,
        },
      });
      return;
    }
    const controller = new AbortController();
    current = { id: m.id, controller };
    const ctx = {
      ...m.info,
      name: m.name,
      signal: controller.signal,
      log: {
        debug: (msg: string, props?: Record<string, unknown>) => log("debug", msg, props),
        info: (msg: string, props?: Record<string, unknown>) => log("info", msg, props),
        warn: (msg: string, props?: Record<string, unknown>) => log("warning", msg, props),
        error: (msg: string, props?: Record<string, unknown>) => log("error", msg, props),
      },
      secret: (name: string) => {
        if (!Object.hasOwn(m.secrets, name)) {
          throw new Error(
            `Task "${m.info.taskId}" reads secret "${name}" but does not declare it; add ` +
              `secrets: ["${name}"] to the task's options`,
          );
        }
        return m.secrets[name];
      },
      sleep: (ms: number) =>
        new Promise<void>((resolve, reject) => {
          if (controller.signal.aborted) return reject(controller.signal.reason);
          const t = setTimeout(resolve, ms);
          controller.signal.addEventListener("abort", () => {
            clearTimeout(t);
            reject(controller.signal.reason);
          }, { once: true });
        }),
    };
    const g = globalThis as unknown as Record<symbol, unknown>;
    g[WORKER_CONTEXT] = ctx;
    try {
      const value = await (def.fn as (...a: unknown[]) => unknown)(...m.args, ctx);
      try {
        post({ type: "result", id: m.id, ok: true, value });
      } catch (e) {
        post({
          type: "result",
          id: m.id,
          ok: false,
          error: {
            name: "NotJsonError",
            message: `Task "${m.info.taskId}": its result cannot leave the worker ` +
              `(${(e as Error).message}); task outputs must be JSON values`,
          },
        });
      }
    } catch (e) {
      post({ type: "result", id: m.id, ok: false, error: serializeError(e) });
    } finally {
      current = undefined;
      g[WORKER_CONTEXT] = undefined;
    }
  }

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const m = queue.shift()!;
      if (cancelled.delete(m.id)) continue;
      await runOne(m);
    }
    busy = false;
    flush();
  }

  self.onmessage = (e: MessageEvent) => {
    const m = e.data as
      | RunMessage
      | { type: "runs"; runs: RunMessage[] }
      | { type: "abort"; id: number; reason: string };
    if (m.type === "run") {
      queue.push(m);
      void pump();
    } else if (m.type === "runs") {
      for (const r of m.runs) queue.push(r);
      void pump();
    } else if (m.type === "abort") {
      if (current?.id === m.id) current.controller.abort(new Error(m.reason));
      else cancelled.add(m.id);
    }
  };
  self.postMessage({ type: "ready" });
}

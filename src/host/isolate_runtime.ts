/**
 * The flow isolate's runtime: what runs inside the Web Worker (no permissions) that holds a
 * TypeScript flow's module. Its generated entry imports the sandbox bootstrap first, then this
 * module (which takes the bootstrap's bridge to the host before any user code loads), then
 * loads the user's module and calls {@linkcode serveFlowIsolate} with it.
 *
 * It answers the host: `describe` (the flows the module exports, as data), `plan` (the graph,
 * for `validate`, `describe`, `graph` and `--dry-run`) and `run` (the engine, with the ports
 * of `isolate_parts.ts`: journal, cache and task workers are the host's).
 *
 * @module
 */

import { configure, type LogRecord } from "@logtape/logtape";
import { errorMessage } from "../core/errors.ts";
import type { RunEvent } from "../core/events.ts";
import { taskContextStorage } from "../core/protocol.ts";
import type { FlowDefinition } from "../core/protocol.ts";
import { planFlow } from "../engine/plan.ts";
import { FlowRun } from "../engine/run.ts";
import type { PriorAttempts, RunRecord, TaskContext } from "../engine/types.ts";
import { captureConsole } from "../executors/console_capture.ts";
import { type SandboxScope, takeBridge } from "../executors/sandbox_bootstrap.ts";
import { flowsOf } from "../loaders/ts_loader.ts";
import {
  BridgeCache,
  BridgeJournal,
  errorFrom,
  HostExecutor,
  IsolateInlineExecutor,
  type Send,
} from "./isolate_parts.ts";
import {
  errorData,
  type FlowSummary,
  type HostToIsolate,
  type IsolateToHost,
  type PriorData,
  type RunRequest,
  toData,
} from "./isolate_protocol.ts";

// Taken as this module evaluates, before the user's module in the entry.
const bridge = takeBridge();
const send: Send = (m: IsolateToHost) => bridge.send(m);

// A worker cannot read its own working directory without read permission; it is the host's
// (told in the entry, before the user's module loads, and with each request).
let cwd = "/";
Object.defineProperty(Deno, "cwd", { value: () => cwd, writable: false, configurable: false });

/** Sets the working directory the isolate reports (the host's). */
export function setHostCwd(dir: string): void {
  cwd = dir;
}

// The user's module loads as this scope: what it does wrong at its top level breaks the
// isolate with a message that says so.
let broken: string | undefined;
const moduleScope: SandboxScope = {
  who: "the top-level code of the flow's module",
  context: undefined,
  loading: true,
  fail(error: Error): void {
    if (broken !== undefined) return;
    broken = error.message;
    send({ type: "broken", message: broken });
  },
};
bridge.setTopLevel(moduleScope);

// Console output of a pure task goes to its log; anywhere else, to the host's log.
captureConsole({
  current: () => (taskContextStorage().getStore() as TaskContext | undefined)?.log,
  fallback: (level, line) => send({ type: "console", level, line }),
});

function summaries(mod: Record<string, unknown>): FlowSummary[] {
  return flowsOf(mod).map(({ name, flow }) => {
    const o = flow.options as Record<string, unknown>;
    const options: FlowSummary["options"] = {
      name: o.name as string,
      keys: Object.keys(o),
    };
    const data = ["description", "params", "permissions", "concurrency", "sandbox", "schedule"];
    for (const k of data) {
      if (o[k] !== undefined) (options as Record<string, unknown>)[k] = toData(o[k]);
    }
    const s: FlowSummary = { exportName: name, options };
    if (flow.location) s.location = flow.location;
    return s;
  });
}

function priorOf(data: PriorData): PriorAttempts {
  const p: PriorAttempts = { attempts: data.attempts };
  if (data.error) {
    // A call that failed for good failed with its own error: the engine wraps it once more.
    const message = data.final
      ? data.error.message.replace(/^Task "[^"]*" failed after \d+ attempts?: /, "")
      : data.error.message;
    p.error = errorFrom({ ...data.error, message });
  }
  if (data.final) p.final = true;
  return p;
}

/** Answers the host for one module. */
class IsolateServer {
  readonly #mod: Record<string, unknown>;
  readonly #journal = new BridgeJournal(send);
  readonly #cache = new BridgeCache(send);
  readonly #host = new HostExecutor(send);
  readonly #controller = new AbortController();
  #running = false;

  constructor(mod: Record<string, unknown>) {
    this.#mod = mod;
  }

  #flow(exportName: string): FlowDefinition {
    const found = flowsOf(this.#mod).find((f) => f.name === exportName);
    if (!found) throw new Error(`the module exports no flow "${exportName}"`);
    return found.flow;
  }

  receive(m: HostToIsolate): void {
    switch (m.type) {
      case "ping":
        return send({ type: "pong", n: m.n });
      case "ack":
        return this.#journal.acknowledged(m);
      case "launched":
        return this.#host.launched(m);
      case "authorized":
        return this.#host.authorized(m);
      case "task-log":
        return this.#host.logged(m);
      case "cached":
        return this.#cache.answered(m);
      case "cancel":
        return this.#controller.abort(new Error(m.reason));
      case "describe":
        cwd = m.cwd;
        return send({ type: "described", flows: summaries(this.#mod) });
      case "plan":
        cwd = m.cwd;
        return void this.#plan(m);
      case "run":
        cwd = m.cwd;
        return void this.#run(m);
    }
  }

  async #plan(m: Extract<HostToIsolate, { type: "plan" }>): Promise<void> {
    try {
      const graph = await planFlow(this.#flow(m.exportName), m.params, {
        baseDir: m.baseDir,
        sandboxed: true,
      });
      send({ type: "planned", graph: toData(graph) as typeof graph });
    } catch (e) {
      send({ type: "failed", error: errorData(e) });
    }
  }

  async #run(m: RunRequest): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await forwardLogs(m.logLevel ?? "info");
    let record: RunRecord;
    try {
      const restore = new Map(m.restore);
      const restored = new Set(restore.keys());
      const run = new FlowRun(this.#flow(m.exportName), m.params, {
        runId: m.runId,
        baseDir: m.baseDir,
        journal: this.#journal,
        cache: this.#cache,
        signal: this.#controller.signal,
        executors: {
          inline: new IsolateInlineExecutor(this.#host, send),
          worker: this.#host,
        },
        // Secrets are the host's: a task that declares one runs in a worker the host launches.
        secrets: () => undefined,
        // Asked before the first attempt, as in the host: a denied task never starts.
        authorize: (t) => this.#host.authorize(t),
        ...(restore.size ? { restore, onEvent: restoredEvents(restored) } : {}),
        ...(m.prior.length
          ? { priorAttempts: new Map(m.prior.map(([id, p]) => [id, priorOf(p)])) }
          : {}),
        ...(m.concurrency !== undefined ? { concurrency: m.concurrency } : {}),
        ...(m.defaultExecutor !== undefined
          ? { defaultExecutor: m.defaultExecutor as "inline" | "worker" }
          : {}),
      });
      record = await run.start();
    } catch (e) {
      send({ type: "failed", error: errorData(e) });
      return;
    }
    try {
      send({ type: "finished", record });
    } catch (e) {
      send({ type: "failed", error: { name: "Error", message: errorMessage(e) } });
    }
  }
}

/**
 * The engine's and the tasks' log lines (LogTape, category `orchestra`) go to the host, which
 * writes them where its own go.
 */
async function forwardLogs(level: NonNullable<RunRequest["logLevel"]>): Promise<void> {
  const sink = (record: LogRecord) => {
    const raw = record.rawMessage;
    const message = typeof raw === "string" ? raw : raw.join("");
    let properties: Record<string, unknown>;
    try {
      properties = structuredClone(record.properties);
    } catch {
      properties = toData(record.properties) as Record<string, unknown>;
    }
    send({
      type: "log",
      category: [...record.category],
      level: record.level as never,
      message,
      properties,
    });
  };
  await configure({
    reset: true,
    sinks: { host: sink },
    loggers: [
      { category: ["orchestra"], lowestLevel: level, sinks: ["host"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["host"] },
    ],
  });
}

/**
 * Restored calls are not journaled (their rows hold their results): their events go to the
 * host for its view, batched per tick.
 */
function restoredEvents(restored: Set<string>): (e: RunEvent) => void {
  let batch: IsolateToHost & { type: "events" } | undefined;
  return (e) => {
    const taskId = (e as { taskId?: string }).taskId;
    if (taskId === undefined || !restored.has(taskId)) return;
    if (batch === undefined) {
      const b: IsolateToHost & { type: "events" } = { type: "events", events: [] };
      batch = b;
      queueMicrotask(() => {
        batch = undefined;
        send(b);
      });
    }
    batch.events.push(e);
  };
}

/**
 * Starts answering the host about `mod` (the user's module namespace): call once, from the
 * entry, after the module loaded.
 */
export function serveFlowIsolate(mod: Record<string, unknown>): void {
  bridge.setTopLevel(undefined);
  if (broken !== undefined) return;
  const server = new IsolateServer(mod);
  bridge.onRetire((reason) => send({ type: "warning", message: reason }));
  bridge.receive((data) => server.receive(data as HostToIsolate));
  send({ type: "ready" });
}

/** The user's module failed to load: the host is told why. */
export function moduleFailed(error: unknown): void {
  bridge.setTopLevel(undefined);
  if (broken !== undefined) return;
  broken = errorMessage(error);
  send({ type: "broken", message: broken });
}

/**
 * The worker executor: a pool of Web Workers keyed by module, permission set and the names of
 * the secrets a task declared (tasks that declare different secrets never share a worker),
 * each started with exactly the Deno permissions its tasks were granted (`Worker` option
 * `deno.permissions`, which needs `--unstable-worker-options`). Tasks are pipelined to warm
 * workers; a timeout or cancellation terminates the worker running the task, so even a
 * CPU-bound loop stops, and the pool replaces it.
 *
 * Each worker starts from the sandbox bootstrap (`sandbox_bootstrap.ts`) and talks to the pool
 * only over a private `MessagePort` sent in the first message; a reply counts only with the
 * nonce of its call, which task code never sees. A worker that reports a refused action or an
 * uncaught error is retired: it finishes the task it runs, the rest move to a fresh worker.
 *
 * @module
 */

import type { LogLevel } from "../core/events.ts";
import { PERMISSION_NAMES, type PermissionSet } from "../core/permissions.ts";
import type { TaskDefinition } from "../core/protocol.ts";
import { explainDenial } from "../permissions/denial.ts";
import type { HostMessage, RunMessage, WorkerReply } from "./worker_entry.ts";

/** What a task's context tells it inside a worker. */
export interface WorkerTaskInfo {
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

/** One task call for a worker. */
export interface WorkerCall {
  /** The task; it must have been defined at the top level of a module. */
  task: TaskDefinition;
  /** Its arguments, references resolved. */
  args: unknown[];
  /** What its context tells it. */
  info: WorkerTaskInfo;
  /** The permissions it runs with. */
  grant: PermissionSet | undefined;
  /** The values of the secrets it declared (and nothing else). */
  secrets?: Record<string, string>;
  /** Aborting it terminates the worker running the task. */
  signal: AbortSignal;
  /** Receives the task's log lines and console output. */
  onLog(level: LogLevel, message: string, props?: Record<string, unknown>): void;
}

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** The most workers per module and permission set. @default navigator.hardwareConcurrency */
  size?: number;
}

interface Pending {
  id: number;
  /** Only a reply carrying it is this call's. */
  nonce: string;
  /** The worker it was sent to. */
  slot?: Slot;
  call: WorkerCall;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onAbort: () => void;
}

interface Slot {
  key: string;
  worker: Worker;
  /** The pool's end of the private channel: the only place replies are taken from. */
  port: MessagePort;
  ready: boolean;
  /** Takes no new task; terminated once what runs in it has answered. */
  retiring: boolean;
  backlog: RunMessage[];
  /** Calls to send at the end of this tick, in one message. */
  outbox: RunMessage[];
  /** In the order sent; the first is the one running. */
  inflight: Map<number, Pending>;
  dead: boolean;
}

/** The `deno.permissions` of a worker for a grant: every name explicit, nothing inherited. */
export function workerPermissions(grant: PermissionSet | undefined): Deno.PermissionOptionsObject {
  const out: Record<string, boolean | string[]> = {};
  for (const name of PERMISSION_NAMES) {
    const v = grant?.[name];
    out[name] = v === true ? true : Array.isArray(v) && v.length ? [...v] : false;
  }
  return out as Deno.PermissionOptionsObject;
}

const BOOTSTRAP = new URL("./sandbox_bootstrap.ts", import.meta.url).href;
const ENTRY = new URL("./worker_entry.ts", import.meta.url).href;

function entryModule(moduleUrl: string): string {
  // Static imports need no read permission in the worker: its grant stays what the task asked.
  // The bootstrap comes first and the protocol module second, so both run before user code.
  const code = `import ${JSON.stringify(BOOTSTRAP)};\n` +
    `import { serveTasks } from ${JSON.stringify(ENTRY)};\n` +
    `import ${JSON.stringify(moduleUrl)};\nserveTasks();\n`;
  return `data:application/javascript;base64,${btoa(code)}`;
}

/** Where a worker's relative paths point: the process's working directory, its workers' too. */
function workingDir(): string {
  try {
    return Deno.cwd();
  } catch {
    return "."; // not allowed to read it: relative paths stay as written
  }
}

/** The pool key: tasks share a worker only with the same module, grant and secret names. */
function poolKey(moduleUrl: string, call: WorkerCall): string {
  const secrets = Object.keys(call.secrets ?? {}).sort();
  return `${moduleUrl}\n${JSON.stringify(workerPermissions(call.grant))}\n${
    JSON.stringify(secrets)
  }`;
}

function runMessage(moduleUrl: string, p: Pending): RunMessage {
  return {
    type: "run",
    id: p.id,
    nonce: p.nonce,
    moduleUrl,
    name: p.call.task.workerName ?? p.call.task.options.name,
    args: p.call.args,
    info: p.call.info,
    secrets: p.call.secrets ?? {},
  };
}

function toError(e: { name: string; message: string; stack?: string }, call: WorkerCall): Error {
  let message = e.message;
  if (e.name === "NotCapable" || /^Requires \w+ access/.test(e.message)) {
    message = explainDenial(e.message, call.info.taskId, call.grant, workingDir());
  }
  const err = new Error(message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * A pool of permission-scoped workers.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool({ size: 2 });
 * const value = await pool.run({ task, args: [21], info, grant: {}, signal, onLog: () => {} });
 * await pool.close();
 * ```
 */
export class WorkerPool {
  readonly #size: number;
  readonly #slots = new Map<string, Slot[]>();
  #nextId = 1;
  #closed = false;

  /** Creates an empty pool; workers start on first use and stay warm. */
  constructor(options: WorkerPoolOptions = {}) {
    this.#size = Math.max(1, options.size ?? navigator.hardwareConcurrency ?? 2);
  }

  /** Runs a task in a worker of its module and grant; resolves with its result. */
  run(call: WorkerCall): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("the worker pool is closed"));
    const moduleUrl = call.task.moduleUrl;
    if (!moduleUrl) {
      return Promise.reject(
        new TypeError(
          `Task "${call.info.taskId}" cannot run in a worker: it is not defined at the top ` +
            `level of a module; define it with task(…) at a module's top level`,
        ),
      );
    }
    if (call.signal.aborted) return Promise.reject(call.signal.reason);
    const key = poolKey(moduleUrl, call);
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const pending: Pending = {
        id,
        nonce: crypto.randomUUID(),
        call,
        resolve,
        reject,
        onAbort: () => this.#abort(pending, call.signal.reason),
      };
      call.signal.addEventListener("abort", pending.onAbort, { once: true });
      this.#send(this.#pick(key, moduleUrl, call.grant), pending, runMessage(moduleUrl, pending));
    });
  }

  /** Terminates every worker; calls in flight are rejected. */
  close(): Promise<void> {
    this.#closed = true;
    for (const slots of this.#slots.values()) {
      for (const slot of slots) this.#kill(slot, new Error("the worker pool was closed"));
    }
    this.#slots.clear();
    return Promise.resolve();
  }

  /** How many workers are alive (for tests and the live view). */
  get workers(): number {
    let n = 0;
    for (const slots of this.#slots.values()) n += slots.length;
    return n;
  }

  #pick(key: string, moduleUrl: string, grant: PermissionSet | undefined): Slot {
    const slots = this.#slots.get(key) ?? [];
    this.#slots.set(key, slots);
    let best: Slot | undefined;
    for (const s of slots) {
      if (!s.retiring && (!best || s.inflight.size < best.inflight.size)) best = s;
    }
    if (best && (best.inflight.size === 0 || slots.length >= this.#size)) return best;
    const slot = this.#spawn(key, moduleUrl, grant);
    slots.push(slot);
    return slot;
  }

  #spawn(key: string, moduleUrl: string, grant: PermissionSet | undefined): Slot {
    const worker = new Worker(entryModule(moduleUrl), {
      type: "module",
      name: `orchestra:${moduleUrl.slice(moduleUrl.lastIndexOf("/") + 1)}`,
      deno: { permissions: workerPermissions(grant) },
    } as WorkerOptions);
    const channel = new MessageChannel();
    const slot: Slot = {
      key,
      worker,
      port: channel.port1,
      ready: false,
      retiring: false,
      backlog: [],
      outbox: [],
      inflight: new Map(),
      dead: false,
    };
    // The first message hands the worker's bootstrap its end of the private channel; anything
    // posted on the worker's global scope (by task code) is not listened to.
    worker.postMessage({ type: "connect" }, [channel.port2]);
    channel.port1.onmessage = (e: MessageEvent<WorkerReply>) => this.#onMessage(slot, e.data);
    const where = moduleUrl.slice(moduleUrl.lastIndexOf("/") + 1);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#kill(slot, new Error(`The worker for tasks of ${where} failed: ${e.message}`));
    };
    return slot;
  }

  #send(slot: Slot, pending: Pending, message: RunMessage): void {
    pending.slot = slot;
    slot.inflight.set(pending.id, pending);
    if (!slot.ready) {
      slot.backlog.push(message);
      return;
    }
    // Everything the scheduler starts in one tick goes to a worker as one message.
    if (slot.outbox.push(message) === 1) queueMicrotask(() => this.#flush(slot));
  }

  #flush(slot: Slot): void {
    if (slot.dead || slot.outbox.length === 0) return;
    const runs = slot.outbox;
    slot.outbox = [];
    this.#post(slot, runs.length === 1 ? runs[0] : { type: "runs", runs });
  }

  #post(slot: Slot, message: HostMessage): void {
    slot.port.postMessage(message);
  }

  #onMessage(slot: Slot, m: WorkerReply): void {
    if (slot.dead) return;
    if (m.type === "ready") {
      slot.ready = true;
      if (slot.backlog.length) this.#post(slot, { type: "runs", runs: slot.backlog });
      slot.backlog = [];
      return;
    }
    if (m.type === "batch") {
      for (const r of m.replies) this.#onMessage(slot, r);
      return;
    }
    if (m.type === "broken") {
      const url = slot.key.slice(0, slot.key.indexOf("\n"));
      const where = url.slice(url.lastIndexOf("/") + 1);
      this.#kill(slot, new Error(`The worker for tasks of ${where} failed: ${m.message}`));
      return;
    }
    if (m.type === "retire") {
      this.#retire(slot, m.running);
      return;
    }
    const pending = slot.inflight.get(m.id);
    // Aborted meanwhile, or not this call's reply.
    if (!pending || m.nonce !== pending.nonce) return;
    if (m.type === "log") {
      pending.call.onLog(m.level, m.message, m.props);
      return;
    }
    slot.inflight.delete(m.id);
    pending.call.signal.removeEventListener("abort", pending.onAbort);
    if (m.ok) pending.resolve(m.value);
    else pending.reject(toError(m.error, pending.call));
    if (slot.retiring && slot.inflight.size === 0) this.#kill(slot, undefined);
  }

  /**
   * Gives the worker no more tasks: the call it runs (if any) may finish there, every other
   * call sent to it moves to another worker, and it is terminated once it is idle.
   */
  #retire(slot: Slot, running: number | null): void {
    if (slot.retiring) return;
    slot.retiring = true;
    const moved = [...slot.inflight.values()].filter((p) => p.id !== running);
    for (const p of moved) slot.inflight.delete(p.id);
    slot.backlog = [];
    slot.outbox = [];
    if (slot.inflight.size === 0) this.#kill(slot, undefined);
    this.#resend(slot.key, moved);
  }

  #resend(key: string, calls: Pending[]): void {
    const moduleUrl = key.slice(0, key.indexOf("\n"));
    for (const p of calls) {
      this.#send(this.#pick(key, moduleUrl, p.call.grant), p, runMessage(moduleUrl, p));
    }
  }

  #abort(pending: Pending, reason: unknown): void {
    const slot = pending.slot;
    const id = pending.id;
    if (!slot || slot.dead || !slot.inflight.has(id)) return;
    const running = slot.inflight.keys().next().value === id && slot.ready;
    if (!running) {
      // Not started: the worker will skip it.
      slot.inflight.delete(id);
      slot.backlog = slot.backlog.filter((m) => m.id !== id);
      slot.outbox = slot.outbox.filter((m) => m.id !== id);
      if (slot.ready) this.#post(slot, { type: "abort", id, reason: String(reason) });
      pending.reject(reason);
      if (slot.retiring && slot.inflight.size === 0) this.#kill(slot, undefined);
      return;
    }
    // Running: only terminating the worker stops a CPU-bound task. What was queued behind it
    // moves to a fresh worker.
    slot.inflight.delete(id);
    pending.reject(reason);
    const queued = [...slot.inflight.values()];
    slot.inflight.clear();
    this.#kill(slot, reason);
    this.#resend(slot.key, queued);
  }

  #kill(slot: Slot, reason: unknown): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.worker.terminate();
    slot.port.close();
    const slots = this.#slots.get(slot.key);
    if (slots) slots.splice(slots.indexOf(slot), 1);
    for (const p of slot.inflight.values()) {
      p.call.signal.removeEventListener("abort", p.onAbort);
      p.reject(reason);
    }
    slot.inflight.clear();
  }
}

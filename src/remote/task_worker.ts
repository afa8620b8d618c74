/**
 * The loop of `orchestra worker`: claims ready attempts from the store's task queue in batches
 * (as many as it has free slots), runs each in a task worker with exactly its grant (the same
 * {@linkcode WorkerRunner} a local run uses), and writes its outcome under its claim's fencing
 * token. It waits on `LISTEN` only when a claim came back short, so it never sleeps while work
 * it may take is queued; its heartbeat (every `heartbeatMs`) renews its leases, stops the
 * attempts whose claim it lost (cancelled, or taken over after a pause longer than the lease),
 * and looks for attempts whose worker died (their lease lapsed).
 *
 * The process running it is a host: it never imports a task's module itself, the task workers
 * do, each granted what the orchestrating host authorized for that task.
 *
 * @module
 */

import { errorMessage, TaskTimeoutError } from "../core/errors.ts";
import type { LogLevel } from "../core/events.ts";
import { PROTOCOL_VERSION, TASK_BRAND, type TaskDefinition } from "../core/protocol.ts";
import type { WorkerRunner } from "../executors/worker_executor.ts";
import type { WorkerTaskInfo } from "../executors/worker_pool.ts";
import { decryptDeep, holdsEncrypted } from "../permissions/encrypted.ts";
import { type ClaimedTask, type LoggedLine, type TaskOutcome, TaskQueue } from "./task_queue.ts";

/** Options of a {@linkcode TaskWorker}. */
export interface TaskWorkerOptions {
  /** The PostgreSQL store's URL. */
  url: string;
  /** Attempts run at once at most. @default 4 */
  concurrency?: number;
  /** Its tags: it takes only attempts whose tags are all among them. @default [] */
  tags?: readonly string[];
  /** How often it renews its leases. @default 1000 */
  heartbeatMs?: number;
  /** How long a lease lasts without a heartbeat. @default twice heartbeatMs */
  leaseMs?: number;
  /** Runs task workers. */
  pool: WorkerRunner;
  /** A secret's value on this machine, for a task that declared it. */
  secret(name: string): string | undefined;
  /** Decrypts an `enc:v1:` argument (with this machine's key). */
  decrypt?(value: string): Promise<string>;
  /** Where its own notices go. */
  log(level: "info" | "warn", message: string): void;
  /** Its machine's name. @default Deno.hostname() */
  host?: string;
}

interface Running {
  claim: ClaimedTask;
  controller: AbortController;
  /** Its claim was lost: its outcome is not written. */
  lost: boolean;
}

/** Lines of a task's log sent back with its outcome, at most. */
const MAX_LINES = 1000;

/** One worker process's claim loop. */
export class TaskWorker {
  /** Its id in the `workers` table. */
  readonly workerId: string = crypto.randomUUID();
  readonly #o: TaskWorkerOptions;
  readonly #concurrency: number;
  readonly #tags: string[];
  readonly #heartbeatMs: number;
  readonly #leaseMs: number;
  readonly #running = new Map<number, Running>();
  readonly #tasks = new Set<Promise<void>>();
  #queue: TaskQueue | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #woken = false;
  /** Attempts it ran to an outcome that was recorded. */
  completed = 0;

  /** A worker with these settings (connects in `run`). */
  constructor(options: TaskWorkerOptions) {
    this.#o = options;
    this.#concurrency = options.concurrency ?? 4;
    this.#tags = [...new Set(options.tags ?? [])].sort();
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#leaseMs = options.leaseMs ?? 2 * this.#heartbeatMs;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number ≥ 1, got ${this.#concurrency}`);
    }
    if (this.#leaseMs <= this.#heartbeatMs) {
      throw new RangeError(
        `the lease (${this.#leaseMs} ms) must be longer than the heartbeat ` +
          `(${this.#heartbeatMs} ms), or every pause would give its tasks away`,
      );
    }
  }

  /** Connects, registers, and claims until {@linkcode stop}; resolves once drained. */
  async run(onReady?: () => void): Promise<void> {
    const queue = await TaskQueue.open(this.#o.url, { maxConnections: 4 });
    this.#queue = queue;
    let beat: ReturnType<typeof setInterval> | undefined;
    let unlisten: (() => Promise<void>) | undefined;
    try {
      await queue.register({
        workerId: this.workerId,
        host: this.#o.host ?? Deno.hostname(),
        pid: Deno.pid,
        tags: this.#tags,
        concurrency: this.#concurrency,
        leaseMs: this.#leaseMs,
      });
      unlisten = await queue.listen(queue.tasksChannel, () => this.#wakeUp());
      beat = setInterval(() => void this.#beat(queue), this.#heartbeatMs);
      onReady?.();
      while (!this.#stopping) {
        const free = this.#concurrency - this.#running.size;
        let short = true;
        if (free > 0) {
          try {
            const claimed = await queue.claim(this.workerId, free, this.#tags, this.#leaseMs);
            for (const c of claimed) this.#start(queue, c);
            short = claimed.length < free;
          } catch (e) {
            this.#o.log("warn", `could not claim tasks: ${errorMessage(e)}`);
          }
        }
        if (short && !this.#stopping) await this.#sleep();
      }
      while (this.#tasks.size) await Promise.all([...this.#tasks]);
    } finally {
      clearInterval(beat);
      await unlisten?.().catch(() => {});
      await queue.unregister(this.workerId).catch(() => {});
      await queue.close().catch(() => {});
    }
  }

  /**
   * Stops claiming. Without `force` the attempts it runs finish first (a drain); with it they
   * are stopped and given back to the queue at once.
   */
  async stop(force = false): Promise<void> {
    this.#stopping = true;
    this.#wakeUp();
    if (!force) return;
    const held = [...this.#running.values()];
    for (const r of held) {
      r.lost = true;
      r.controller.abort(new Error("the worker stopped"));
    }
    await this.#queue?.release(held.map((r) => ({ id: r.claim.id, token: r.claim.token })))
      .catch(() => {});
  }

  /** How many attempts it runs now. */
  get running(): number {
    return this.#running.size;
  }

  #wakeUp(): void {
    this.#woken = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#woken = false;
        resolve();
      };
    });
  }

  async #beat(queue: TaskQueue): Promise<void> {
    const held = [...this.#running.values()].map((r) => ({
      id: r.claim.id,
      token: r.claim.token,
    }));
    try {
      const lost = await queue.heartbeat({
        workerId: this.workerId,
        running: held.length,
        leaseMs: this.#leaseMs,
      }, held);
      for (const id of lost) {
        const r = this.#running.get(id);
        if (r === undefined) continue;
        r.lost = true;
        r.controller.abort(new Error("its claim was lost (cancelled, or given to another worker)"));
      }
    } catch (e) {
      this.#o.log("warn", `heartbeat failed: ${errorMessage(e)}`);
    }
    // Attempts whose worker died are ready again once their lease lapsed.
    this.#wakeUp();
  }

  #start(queue: TaskQueue, claim: ClaimedTask): void {
    const r: Running = { claim, controller: new AbortController(), lost: false };
    this.#running.set(claim.id, r);
    const task = this.#attempt(r).then(async (outcome) => {
      if (r.lost) return;
      const recorded = await queue.complete(claim.id, claim.token, outcome).catch((e) => {
        this.#o.log("warn", `could not record ${claim.taskId}: ${errorMessage(e)}`);
        return false;
      });
      if (recorded) this.completed++;
      else {
        this.#o.log(
          "warn",
          `the result of task "${claim.taskId}" of run ${claim.runId} was discarded: its ` +
            `claim had been given to another worker or cancelled`,
        );
      }
    }).finally(() => {
      this.#running.delete(claim.id);
      this.#tasks.delete(task);
      this.#wakeUp();
    });
    this.#tasks.add(task);
  }

  async #attempt(r: Running): Promise<TaskOutcome> {
    const { claim } = r;
    const call = claim.call;
    const logs: LoggedLine[] = [];
    const secrets: Record<string, string> = {};
    const values: string[] = [];
    const mask = (text: string) => values.reduce((t, v) => t.replaceAll(v, "***"), text);
    for (const name of call.secrets) {
      const value = this.#o.secret(name);
      if (value === undefined) {
        return {
          ok: false,
          error: {
            name: "Error",
            message: `Secret "${name}" of task "${claim.taskId}" is not set on the worker's ` +
              `machine (${this.#o.host ?? Deno.hostname()}): set it in the environment or the ` +
              `secrets file of every orchestra worker`,
          },
        };
      }
      secrets[name] = value;
      if (value !== "") values.push(value);
    }
    const timer = call.timeoutMs === undefined ? undefined : setTimeout(
      () => r.controller.abort(new TaskTimeoutError(claim.taskId, call.timeoutMs!)),
      call.timeoutMs,
    );
    const task = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options: { name: call.workerName },
      fn: () => undefined,
      moduleUrl: call.moduleUrl,
      workerName: call.workerName,
    } as TaskDefinition;
    // A delivery after a lost worker is one more attempt for the task.
    const info: WorkerTaskInfo & { idempotencyKey: string } = {
      runId: claim.runId,
      flow: call.flow,
      taskId: claim.taskId,
      attempt: claim.attempt + claim.claims - 1,
      params: call.params,
      idempotencyKey: claim.idempotencyKey,
    };
    try {
      const decrypt = this.#o.decrypt;
      const args = decrypt !== undefined && holdsEncrypted(call.args)
        ? await decryptDeep(call.args, decrypt, (v) => values.push(v)) as unknown[]
        : call.args;
      const value = await this.#o.pool.run({
        task,
        args,
        info,
        grant: call.grant,
        secrets,
        signal: r.controller.signal,
        onLog: (level: LogLevel, message: string) => {
          if (logs.length < MAX_LINES) logs.push({ level, message: mask(message) });
        },
      });
      return { ok: true, value, logs };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      return { ok: false, error: { name: error.name, message: mask(error.message) }, logs };
    } finally {
      clearTimeout(timer);
    }
  }
}

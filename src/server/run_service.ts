/**
 * The runs `orchestra serve` starts, through the runners of their flows' folders: start,
 * cancel, resume, retry; their events turned into metrics and passed to whoever follows a run
 * live; the runs it owns kept in the state store (scope `serve.owned:<server>`), so that after
 * a restart those that were interrupted are resumed; and draining, when the server stops.
 *
 * @module
 */

import type { RunEvent } from "../core/events.ts";
import { newRunId } from "../engine/calls.ts";
import type { Store } from "../store/store.ts";
import type { CatalogEntry } from "./catalog.ts";
import type { Metrics } from "./metrics.ts";
import type { RunnerPool } from "./runner_pool.ts";
import type { RunnerNotice, RunnerReply, Trigger } from "./runner_protocol.ts";
import type { ValidationIssue } from "../core/errors.ts";

/** A failure the API turns into a problem document. */
export interface RunFailure {
  /** The HTTP status. */
  status: number;
  /** What failed and how to fix it. */
  error: string;
  /** Every problem, for a 422. */
  issues?: ValidationIssue[];
}

/** What a started run is. */
export interface Started {
  /** Its id. */
  runId: string;
}

interface Active {
  flow: string;
  trigger: Trigger;
  requestedAt: number;
  firstTask: boolean;
  ended: PromiseWithResolvers<string>;
}

/** Where the trigger of each run is kept. */
export const TRIGGER_SCOPE = "serve.trigger";

/** What the run service needs. */
export interface RunServiceOptions {
  /** The state store. */
  store: Store;
  /** The runners. */
  pool: RunnerPool;
  /** The metrics it updates. */
  metrics: Metrics;
  /** This server's identity: which runs are its own after a restart. */
  serverId: string;
  /** A run ended (the scheduler's `buffer-one` waits for it). */
  onEnded?(runId: string, status: string): void;
  /** Log lines. */
  log(level: "info" | "warning", message: string, props: Record<string, unknown>): void;
}

/** The server's runs. */
export class RunService {
  readonly #o: RunServiceOptions;
  readonly #active = new Map<string, Active>();
  readonly #followers = new Map<string, Set<(e: RunEvent | undefined) => void>>();
  #draining = false;

  /** Creates the service. */
  constructor(options: RunServiceOptions) {
    this.#o = options;
  }

  get #owned(): string {
    return `serve.owned:${this.#o.serverId}`;
  }

  /** Whether new runs are refused (the server is stopping). */
  get draining(): boolean {
    return this.#draining;
  }

  /** How many runs are going. */
  get running(): number {
    return this.#active.size;
  }

  /** Whether this server is running `runId`. */
  isRunning(runId: string): boolean {
    return this.#active.has(runId);
  }

  /** Starts a run of `entry` with `params`. */
  async start(
    entry: CatalogEntry,
    params: Record<string, unknown>,
    trigger: Trigger,
  ): Promise<Started | RunFailure> {
    if (this.#draining) return { status: 503, error: "The server is stopping: it starts no runs" };
    if (!entry.valid) {
      return {
        status: 409,
        error:
          `Flow "${entry.name}" is invalid and cannot run; fix the problems GET /api/v1/flows lists for it`,
        issues: entry.issues,
      };
    }
    const runId = newRunId();
    this.#track(runId, entry.name, trigger);
    const reply = await this.#o.pool.request(entry.folder, {
      op: "start",
      file: entry.file,
      flow: entry.exportName ?? entry.name,
      params,
      runId,
    });
    return await this.#started(runId, reply, entry.name, trigger);
  }

  /** Resumes a run that was interrupted or failed, in the runner of its flow file's folder. */
  async resume(runId: string, trigger: Trigger): Promise<Started | RunFailure> {
    if (this.#draining) return { status: 503, error: "The server is stopping: it starts no runs" };
    if (this.#active.has(runId)) return { status: 409, error: `Run "${runId}" is running` };
    const row = await this.#o.store.getRun(runId);
    if (!row) return { status: 404, error: `No run "${runId}"; GET /api/v1/runs lists them` };
    if (!row.flowFile) return { status: 409, error: `Run "${runId}" records no flow file` };
    this.#track(runId, row.flow, trigger);
    const folder = row.flowFile.slice(0, row.flowFile.lastIndexOf("/")) || "/";
    const reply = await this.#o.pool.request(folder, { op: "resume", runId });
    return await this.#started(runId, reply, row.flow, trigger);
  }

  /** Retries a run as a new run: `from` and what follows it run again, the rest is kept. */
  async retry(
    runId: string,
    options: { from?: string; params?: Record<string, unknown> },
    trigger: Trigger,
  ): Promise<Started | RunFailure> {
    if (this.#draining) return { status: 503, error: "The server is stopping: it starts no runs" };
    const row = await this.#o.store.getRun(runId);
    if (!row) return { status: 404, error: `No run "${runId}"; GET /api/v1/runs lists them` };
    if (!row.flowFile) return { status: 409, error: `Run "${runId}" records no flow file` };
    const newId = newRunId();
    this.#track(newId, row.flow, trigger);
    const folder = row.flowFile.slice(0, row.flowFile.lastIndexOf("/")) || "/";
    const reply = await this.#o.pool.request(folder, {
      op: "retry",
      runId,
      newRunId: newId,
      from: options.from ?? "",
      ...(options.params ? { params: options.params } : {}),
    });
    return await this.#started(newId, reply, row.flow, trigger);
  }

  /** Cancels a run: this server's through its runner, another process's through the store. */
  async cancel(runId: string): Promise<RunFailure | undefined> {
    const row = await this.#o.store.getRun(runId);
    if (!row) return { status: 404, error: `No run "${runId}"; GET /api/v1/runs lists them` };
    if (row.status !== "running") {
      return { status: 409, error: `Run "${runId}" is not running (it ${row.status})` };
    }
    const reply = await this.#o.pool.requestHolder(runId, { op: "cancel", runId });
    if (!reply?.ok) await this.#o.store.requestCancel(runId);
    return undefined;
  }

  /** Follows a run's events live; `undefined` when it ended. Returns how to stop. */
  follow(runId: string, fn: (e: RunEvent | undefined) => void): () => void {
    let set = this.#followers.get(runId);
    if (!set) this.#followers.set(runId, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#followers.delete(runId);
    };
  }

  /** Takes a runner's notice. */
  onNotice(n: RunnerNotice): void {
    if (n.type === "event") return this.#event(n.event);
    if (n.type !== "ended") return;
    const a = this.#active.get(n.runId);
    if (!a) return;
    this.#active.delete(n.runId);
    this.#o.metrics.running.inc({ flow: a.flow }, -1);
    if (n.status !== "interrupted") {
      this.#o.metrics.runs.inc({ flow: a.flow, status: n.status });
      this.#o.store.stateDelete(this.#owned, n.runId).catch(() => {});
    }
    a.ended.resolve(n.status);
    for (const f of this.#followers.get(n.runId) ?? []) f(undefined);
    this.#o.onEnded?.(n.runId, n.status);
  }

  /** A runner ended with runs in it: they are interrupted, to be resumed by the next server. */
  onRunnerExit(runs: readonly string[]): void {
    for (const runId of runs) this.onNotice({ type: "ended", runId, status: "interrupted" });
  }

  /**
   * Drains: no new runs; running ones get `graceMs` to end; then the runners are stopped and
   * what still runs stays `running` in the store, owned by this server, to be resumed.
   */
  async drain(graceMs: number): Promise<string[]> {
    this.#draining = true;
    const left = [...this.#active.values()].map((a) => a.ended.promise);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(left),
      new Promise((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    const interrupted = [...this.#active.keys()];
    await this.#o.pool.stop();
    for (const runId of interrupted) {
      this.onNotice({ type: "ended", runId, status: "interrupted" });
    }
    return interrupted;
  }

  /**
   * The runs a previous instance of this server owned that are still `running` (interrupted
   * by its end): resumed now. Entries of runs that ended are forgotten.
   */
  async resumeInterrupted(): Promise<string[]> {
    const resumed: string[] = [];
    for (const { key } of await this.#o.store.stateList(this.#owned, Date.now())) {
      const row = await this.#o.store.getRun(key);
      // Its runner ended with it (a drain, a crash): the run's lease ended too.
      if (!row || row.status !== "interrupted") {
        await this.#o.store.stateDelete(this.#owned, key);
        continue;
      }
      const r = await this.resume(key, { kind: "resume", of: key, by: "restart" });
      if ("runId" in r) resumed.push(key);
      else {
        this.#o.log("warning", "Cannot resume run {runId} after the restart: {error}", {
          runId: key,
          error: r.error,
        });
      }
    }
    return resumed;
  }

  /** Waits for a run this server runs to end; resolves at once when it runs none of that id. */
  async ended(runId: string): Promise<string | undefined> {
    return await this.#active.get(runId)?.ended.promise;
  }

  #track(runId: string, flow: string, trigger: Trigger): void {
    this.#o.metrics.running.inc({ flow });
    this.#active.set(runId, {
      flow,
      trigger,
      requestedAt: Date.now(),
      firstTask: false,
      ended: Promise.withResolvers<string>(),
    });
  }

  async #started(
    runId: string,
    reply: RunnerReply,
    flow: string,
    trigger: Trigger,
  ): Promise<Started | RunFailure> {
    if (!reply.ok) {
      if (this.#active.delete(runId)) this.#o.metrics.running.inc({ flow }, -1);
      return {
        status: reply.status,
        error: reply.error,
        ...(reply.issues ? { issues: reply.issues } : {}),
      };
    }
    this.#o.metrics.started.inc({ flow, trigger: trigger.kind });
    const now = Date.now();
    await Promise.all([
      this.#o.store.statePut(this.#owned, runId, { flow, since: new Date(now).toISOString() }),
      this.#o.store.statePut(TRIGGER_SCOPE, runId, trigger),
    ]).catch((e) =>
      this.#o.log("warning", "Cannot record run {runId}: {error}", { runId, error: String(e) })
    );
    return { runId };
  }

  #event(e: RunEvent): void {
    const a = this.#active.get(e.runId);
    const flow = a?.flow ?? "";
    const m = this.#o.metrics;
    switch (e.type) {
      case "task.started":
        if (a && !a.firstTask) {
          a.firstTask = true;
          m.queueSeconds.observe({ flow }, Math.max(0, e.time - a.requestedAt) / 1000);
        }
        break;
      case "task.succeeded":
        m.tasks.inc({ flow, status: "succeeded" });
        m.taskSeconds.observe({ flow, status: "succeeded" }, e.durationMs / 1000);
        break;
      case "task.failed":
        m.tasks.inc({ flow, status: "failed" });
        m.taskSeconds.observe({ flow, status: "failed" }, e.durationMs / 1000);
        break;
      case "task.skipped":
      case "task.cancelled":
      case "task.cached":
        m.tasks.inc({ flow, status: e.type.slice(5) });
        break;
    }
    for (const f of this.#followers.get(e.runId) ?? []) f(e);
  }
}

/**
 * The task queue of remote workers, in the PostgreSQL store's schema (migration 3 of
 * `src/store/postgres_migrations.ts`). Every statement of both sides is here:
 *
 * - the orchestrating side ({@linkcode RemoteExecutor}) enqueues an attempt, waits for its
 *   result (`LISTEN` on the results channel, with a slow poll as a safety net), cancels it;
 * - the worker side ({@linkcode TaskWorker}) claims ready attempts in batches with
 *   `FOR UPDATE SKIP LOCKED` (an attempt whose lease lapsed is ready again), renews its leases
 *   by heartbeat, and writes a result only while its claim's fencing token is the row's.
 *
 * `NOTIFY` carries no data that matters: it only wakes the other side, which reads the rows.
 *
 * @module
 */

import type postgres from "postgres";
import { connect, parseStoreUrl, type StoreUrl, translate } from "../store/_pg_connection.ts";
import { migrate } from "../store/postgres_migrations.ts";
import type { PermissionSet } from "../core/permissions.ts";

/** One attempt of a task, as it travels through the queue (JSON). */
export interface QueuedCall {
  /** The module whose top level defined the task. */
  moduleUrl: string;
  /** The name a worker finds it under in that module. */
  workerName: string;
  /** The task's name. */
  name: string;
  /** The flow's name. */
  flow: string;
  /** The run's params. */
  params: Record<string, unknown>;
  /** Its arguments. */
  args: unknown[];
  /** Exactly what it may do (authorized by the orchestrating host). */
  grant: PermissionSet;
  /** The names of the secrets it declared: the worker looks their values up. */
  secrets: string[];
  /** Its timeout, if it has one. */
  timeoutMs?: number;
}

/** What a worker claimed. */
export interface ClaimedTask {
  /** The queue row. */
  id: number;
  /** The claim's fencing token. */
  token: number;
  /** The run. */
  runId: string;
  /** The call's id in the run. */
  taskId: string;
  /** The engine's attempt. */
  attempt: number;
  /** How many times it was claimed (1 for the first delivery). */
  claims: number;
  /** Stable across attempts and deliveries. */
  idempotencyKey: string;
  /** The call. */
  call: QueuedCall;
}

/** An attempt's outcome as a worker writes it. */
export type TaskOutcome =
  | { ok: true; value: unknown; logs?: LoggedLine[] }
  | { ok: false; error: { name: string; message: string }; logs?: LoggedLine[] };

/** A line a remote task logged, sent back with its outcome. */
export interface LoggedLine {
  /** Its level. */
  level: "debug" | "info" | "warning" | "error";
  /** Its text. */
  message: string;
}

/** A live worker, as `orchestra workers` shows it. */
export interface WorkerRow {
  /** Its id. */
  workerId: string;
  /** Its machine. */
  host: string;
  /** Its process. */
  pid: number;
  /** Its tags. */
  tags: string[];
  /** How many tasks it runs at once at most. */
  concurrency: number;
  /** How many it runs now. */
  running: number;
  /** When it started (ISO). */
  startedAt: string;
  /** Its last heartbeat (ISO). */
  heartbeatAt: string;
}

/** Options of {@linkcode TaskQueue.open}. */
export interface TaskQueueOptions {
  /** Connections at most. @default 4 */
  maxConnections?: number;
}

const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();

/** The queue's statements over one connection pool. */
export class TaskQueue {
  readonly #sql: postgres.Sql;
  readonly #u: StoreUrl;
  readonly #s: string;
  /** The channel that wakes workers. */
  readonly tasksChannel: string;
  /** The channel that wakes orchestrators. */
  readonly resultsChannel: string;

  private constructor(sql: postgres.Sql, u: StoreUrl) {
    this.#sql = sql;
    this.#u = u;
    this.#s = `"${u.schema}"`;
    this.tasksChannel = `${u.schema}_tasks`;
    this.resultsChannel = `${u.schema}_results`;
  }

  /** Connects to the store at `url` and brings its schema up to date. */
  static async open(url: string, options: TaskQueueOptions = {}): Promise<TaskQueue> {
    const u = parseStoreUrl(url);
    const sql = await connect(u, {
      max: options.maxConnections ?? 4,
      connectTimeoutSeconds: u.connectTimeoutSeconds ?? 10,
      synchronousCommit: "on",
      idleInTransactionMs: 15_000,
    });
    try {
      await migrate(sql, u);
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw translate(e, u);
    }
    return new TaskQueue(sql, u);
  }

  /** The store's URL, password masked. */
  get url(): string {
    return this.#u.shown;
  }

  /** Enqueues one attempt and wakes the workers; resolves with its row id. */
  async enqueue(t: {
    runId: string;
    taskId: string;
    attempt: number;
    idempotencyKey: string;
    tags: readonly string[];
    call: QueuedCall;
  }): Promise<number> {
    const [row] = await this.#sql.unsafe(
      `WITH q AS (
        INSERT INTO ${this.#s}.task_queue (run_id, task_id, attempt, idempotency_key, tags, call)
        VALUES ($1, $2, $3, $4, $5::text[], $6) RETURNING id
      ) SELECT q.id, pg_notify($7, '') FROM q`,
      [
        t.runId,
        t.taskId,
        t.attempt,
        t.idempotencyKey,
        [...t.tags] as never,
        JSON.stringify(t.call),
        this.tasksChannel,
      ],
    );
    return Number(row.id);
  }

  /**
   * Claims up to `n` ready attempts whose tags are all among `tags`: queued ones, and running
   * ones whose lease lapsed (their worker is presumed dead). Each gets a new fencing token.
   */
  async claim(
    workerId: string,
    n: number,
    tags: readonly string[],
    leaseMs: number,
  ): Promise<ClaimedTask[]> {
    const rows = await this.#sql.unsafe(
      `WITH c AS (
        SELECT id FROM ${this.#s}.task_queue
        WHERE (status = 'queued' OR (status = 'running' AND lease_expires_at < now()))
          AND tags <@ $3::text[]
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
      )
      UPDATE ${this.#s}.task_queue q SET status = 'running',
        token = nextval('${this.#s}.task_tokens'), worker_id = $1, claims = q.claims + 1,
        lease_expires_at = now() + $4::bigint * interval '1 millisecond', started_at = now()
      FROM c WHERE q.id = c.id
      RETURNING q.id, q.token, q.run_id, q.task_id, q.attempt, q.claims, q.idempotency_key,
        q.call`,
      [workerId, n, [...tags] as never, leaseMs],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      token: Number(r.token),
      runId: r.run_id,
      taskId: r.task_id,
      attempt: r.attempt,
      claims: r.claims,
      idempotencyKey: r.idempotency_key,
      call: JSON.parse(r.call),
    })).sort((a, b) => a.id - b.id);
  }

  /**
   * Renews the leases of the claims a worker holds and its own row; resolves with the ids of
   * the claims it no longer holds (taken over, cancelled, or finished elsewhere).
   */
  async heartbeat(
    worker: { workerId: string; running: number; leaseMs: number },
    held: readonly { id: number; token: number }[],
  ): Promise<number[]> {
    await this.#sql.unsafe(
      `UPDATE ${this.#s}.workers SET heartbeat_at = now(), running = $2,
        expires_at = now() + $3::bigint * interval '1 millisecond' WHERE worker_id = $1`,
      [worker.workerId, worker.running, worker.leaseMs],
    );
    if (held.length === 0) return [];
    const rows = await this.#sql.unsafe(
      `UPDATE ${this.#s}.task_queue q
        SET lease_expires_at = now() + $3::bigint * interval '1 millisecond'
      FROM unnest($1::bigint[], $2::bigint[]) AS h(id, token)
      WHERE q.id = h.id AND q.token = h.token AND q.status = 'running'
      RETURNING q.id`,
      [held.map((h) => h.id) as never, held.map((h) => h.token) as never, worker.leaseMs],
    );
    const kept = new Set(rows.map((r) => Number(r.id)));
    return held.filter((h) => !kept.has(h.id)).map((h) => h.id);
  }

  /**
   * Writes an attempt's outcome if the claim still holds the row's token; resolves with
   * false when it does not (the result was discarded: the task was given to another worker,
   * or cancelled).
   */
  async complete(id: number, token: number, outcome: TaskOutcome): Promise<boolean> {
    const rows = await this.#sql.unsafe(
      `WITH u AS (
        UPDATE ${this.#s}.task_queue SET status = $3, result = $4, finished_at = now(),
          lease_expires_at = NULL
        WHERE id = $1 AND token = $2 AND status = 'running' RETURNING id
      ) SELECT u.id, pg_notify($5, u.id::text) FROM u`,
      [
        id,
        token,
        outcome.ok ? "succeeded" : "failed",
        JSON.stringify(outcome),
        this.resultsChannel,
      ],
    );
    return rows.length === 1;
  }

  /** Gives claims back to the queue at once (a worker stopping before they finished). */
  async release(held: readonly { id: number; token: number }[]): Promise<void> {
    if (held.length === 0) return;
    await this.#sql.unsafe(
      `WITH u AS (
        UPDATE ${this.#s}.task_queue q SET status = 'queued', lease_expires_at = NULL,
          worker_id = NULL
        FROM unnest($1::bigint[], $2::bigint[]) AS h(id, token)
        WHERE q.id = h.id AND q.token = h.token AND q.status = 'running' RETURNING q.id
      ) SELECT count(*), pg_notify($3, '') FROM u`,
      [held.map((h) => h.id) as never, held.map((h) => h.token) as never, this.tasksChannel],
    );
  }

  /** The outcomes of those of `ids` that finished. */
  async outcomes(ids: readonly number[]): Promise<Map<number, TaskOutcome>> {
    const found = new Map<number, TaskOutcome>();
    if (ids.length === 0) return found;
    const rows = await this.#sql.unsafe(
      `SELECT id, result FROM ${this.#s}.task_queue
      WHERE id = ANY($1::bigint[]) AND status IN ('succeeded', 'failed')`,
      [[...ids] as never],
    );
    for (const r of rows) found.set(Number(r.id), JSON.parse(r.result));
    return found;
  }

  /** Removes the rows of attempts whose outcome was read. */
  async forget(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#sql.unsafe(`DELETE FROM ${this.#s}.task_queue WHERE id = ANY($1::bigint[])`, [
      [...ids] as never,
    ]);
  }

  /** Cancels an attempt that did not finish (its worker notices at its next heartbeat). */
  async cancel(id: number): Promise<void> {
    await this.#sql.unsafe(
      `UPDATE ${this.#s}.task_queue SET status = 'cancelled', finished_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
      [id],
    );
  }

  /** How many attempts wait for a worker. */
  async depth(): Promise<number> {
    const [r] = await this.#sql.unsafe(
      `SELECT count(*)::int AS n FROM ${this.#s}.task_queue WHERE status = 'queued'`,
    );
    return r.n;
  }

  /** Registers a worker (its row lives while it heartbeats). */
  async register(w: {
    workerId: string;
    host: string;
    pid: number;
    tags: readonly string[];
    concurrency: number;
    leaseMs: number;
  }): Promise<void> {
    await this.#sql.unsafe(
      `INSERT INTO ${this.#s}.workers (worker_id, host, pid, tags, concurrency, expires_at)
      VALUES ($1, $2, $3, $4::text[], $5, now() + $6::bigint * interval '1 millisecond')`,
      [w.workerId, w.host, w.pid, [...w.tags] as never, w.concurrency, w.leaseMs],
    );
  }

  /** Removes a worker's row (it stopped), and the rows of workers long dead. */
  async unregister(workerId: string): Promise<void> {
    await this.#sql.unsafe(
      `DELETE FROM ${this.#s}.workers
      WHERE worker_id = $1 OR expires_at < now() - interval '1 day'`,
      [workerId],
    );
  }

  /** The live workers (whose last heartbeat has not lapsed), oldest first. */
  async workers(): Promise<WorkerRow[]> {
    const rows = await this.#sql.unsafe(
      `SELECT worker_id, host, pid, tags, concurrency, running, started_at, heartbeat_at
      FROM ${this.#s}.workers WHERE expires_at > now() ORDER BY started_at, worker_id`,
    );
    return rows.map((r) => ({
      workerId: r.worker_id,
      host: r.host,
      pid: r.pid,
      tags: r.tags,
      concurrency: r.concurrency,
      running: r.running,
      startedAt: iso(r.started_at),
      heartbeatAt: iso(r.heartbeat_at),
    }));
  }

  /** Calls `onNotify` on each notification of `channel`; resolves with how to stop. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const sub = await this.#sql.listen(channel, onNotify);
    return () => sub.unlisten();
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 2 });
  }
}

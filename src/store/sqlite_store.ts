/**
 * The SQLite store: one file `<state dir>/state.db`, opened with the built-in `node:sqlite`, in
 * WAL mode, so any number of Orchestra processes can share a state dir: readers never wait,
 * and writers take turns (an OS file lock on `state.db-lock` around each write transaction),
 * so no one sees "database is locked".
 *
 * An append is one transaction that writes one `journal` row per run (the batch's events as
 * JSON) and, unless the run changes, nothing else: the task rows are the journal folded when
 * they are read (see `_sqlite_journal.ts`), so a chain's append writes about one page and
 * fsyncs once.
 *
 * Durability (`durability`):
 *
 * - `"full"` (the default, `synchronous=FULL`): every append is fsynced before it resolves.
 *   A committed append survives a killed process, an OS crash and a power cut.
 * - `"normal"` (`synchronous=NORMAL`): the WAL is fsynced only at checkpoints. A killed
 *   process loses nothing; an OS crash or a power cut may lose the last appends (the
 *   database stays consistent, but a resumed run may redo tasks that had succeeded).
 *
 * @module
 */

import type { RunStatus } from "../core/events.ts";
import { OrchestraError } from "../core/errors.ts";
import {
  encodeBatch,
  fromJson,
  HEARTBEAT_MS,
  iso,
  isoArgument,
  type RunBatch,
  toJson,
} from "./_journal.ts";
import { SqliteConnection, storeError } from "./_sqlite_connection.ts";
import { SqliteJournal } from "./_sqlite_journal.ts";
import { deleteProcess, insertProcess, selectProcesses } from "./_sqlite_processes.ts";
import {
  deleteState,
  insertNewState,
  listState,
  selectState,
  upsertState,
} from "./_sqlite_state.ts";
import { FileRunOwnership } from "./file_ownership.ts";
import { type RunClaim, RunOwnedError, type RunOwner } from "./ownership.ts";
import { MIGRATIONS } from "./sqlite_migrations.ts";
import {
  type AppendEvent,
  type CacheEntry,
  type EventQuery,
  type NewRun,
  type ProcessRecord,
  type ReopenOptions,
  type RunFilter,
  RunNotFoundError,
  type RunRow,
  type StateEntry,
  type StatePutOptions,
  type Store,
  type StoredEvent,
  type TaskRow,
} from "./store.ts";

/** How hard each commit tries to survive a crash; see the module documentation. */
export type Durability = "full" | "normal";

/** The name of the database file inside the state dir. */
export const STATE_FILE = "state.db";

/** Options of {@linkcode SqliteStore.open}. */
export interface SqliteStoreOptions {
  /** `full`: fsync every append; `normal`: fsync at checkpoints only. @default "full" */
  durability?: Durability;
  /** How long one statement waits for another process's lock (SQLite's busy timeout). @default 5000 */
  busyTimeoutMs?: number;
  /**
   * How long a write keeps retrying when SQLite reports the database locked (by a client that
   * does not take Orchestra's writer lock) before it fails. @default 60000
   */
  lockWaitMs?: number;
  /** The clock of `updatedAt`, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /**
   * Open for reading only (`runs`, `status`, `logs`): nothing is created or written, so a
   * read-only state dir or file can be read. Writes reject with `StoreError`. @default false
   */
  readOnly?: boolean;
}

/** The connection settings as SQLite reports them (read back, not as requested). */
export interface SqlitePragmas {
  /** `wal`. */
  journalMode: string;
  /** `full` (2) or `normal` (1). */
  synchronous: "off" | "normal" | "full" | "extra";
  /** The busy timeout in milliseconds. */
  busyTimeoutMs: number;
  /** Whether foreign keys are enforced. */
  foreignKeys: boolean;
  /** The schema version. */
  userVersion: number;
}

type Row = Record<string, unknown>;

/**
 * A {@linkcode Store} in one SQLite file, shared safely by many processes.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "@orchestra/orchestra";
 * const dir = await Deno.makeTempDir();
 * const store = await SqliteStore.open(dir, { durability: "normal" });
 * await store.append([{ type: "run.started", runId: "r1", time: 0, flow: "etl", params: {} }]);
 * console.assert((await store.getRun("r1"))?.status === "running");
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SqliteStore implements Store {
  /** The durability it was opened with. */
  readonly durability: Durability;
  readonly #conn: SqliteConnection;
  readonly #journal: SqliteJournal;
  readonly #now: () => number;
  // Who runs what: lock files beside the database (see file_ownership.ts).
  readonly #owners: FileRunOwnership;
  // When this store last wrote each running run's updatedAt (ms), for the heartbeat.
  readonly #touched = new Map<string, number>();

  private constructor(
    conn: SqliteConnection,
    durability: Durability,
    now: () => number,
    stateDir: string,
  ) {
    this.#conn = conn;
    this.#journal = new SqliteJournal(conn);
    this.durability = durability;
    this.#now = now;
    this.#owners = new FileRunOwnership(stateDir);
  }

  /**
   * Opens (creating the dir and the file as needed) `<stateDir>/state.db`, switches it to WAL
   * and migrates its schema; with `readOnly`, only opens it. Rejects with `StoreError` when
   * the file cannot be used (corrupt, not writable, missing when read-only).
   */
  static async open(stateDir: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const durability = options.durability ?? "full";
    if (durability !== "full" && durability !== "normal") {
      throw new TypeError(
        `durability must be "full" or "normal", got ${JSON.stringify(durability)}`,
      );
    }
    const dir = stateDir.replace(/[\\/]+$/, "");
    const path = `${dir}/${STATE_FILE}`;
    if (!options.readOnly) {
      try {
        await Deno.mkdir(stateDir, { recursive: true });
      } catch (e) {
        throw storeError(path, "open", e);
      }
    }
    const conn = await SqliteConnection.open(path, {
      synchronous: durability === "full" ? "FULL" : "NORMAL",
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      lockWaitMs: options.lockWaitMs ?? 60_000,
      readOnly: options.readOnly ?? false,
    });
    return new SqliteStore(conn, durability, options.now ?? Date.now, dir);
  }

  /** The database file. */
  get path(): string {
    return this.#conn.path;
  }

  /** The connection's settings, read back from SQLite. */
  pragmas(): SqlitePragmas {
    const sync = ["off", "normal", "full", "extra"] as const;
    return {
      journalMode: String(this.#conn.pragma("journal_mode")),
      synchronous: sync[Number(this.#conn.pragma("synchronous"))],
      busyTimeoutMs: Number(this.#conn.pragma("busy_timeout")),
      foreignKeys: Number(this.#conn.pragma("foreign_keys")) === 1,
      userVersion: this.#conn.schemaVersion(),
    };
  }

  /**
   * Journals the events and updates the rows in one transaction. A run's `run.started`
   * claims the run first (unless this store holds it); its `run.finished` releases it.
   */
  append(events: readonly AppendEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    let batch: Map<string, RunBatch>;
    try {
      batch = encodeBatch(events);
    } catch (e) {
      return Promise.reject(e);
    }
    const claims: string[] = [];
    for (const b of batch.values()) {
      if (b.start !== null && !this.#owners.holds(b.runId)) claims.push(b.runId);
    }
    return claims.length ? this.#claimThenAppend(claims, batch) : this.#write(batch);
  }

  async #claimThenAppend(runIds: string[], batch: Map<string, RunBatch>): Promise<void> {
    for (const runId of runIds) {
      const claim = await this.#claim(runId);
      if (claim.heldBy) throw new RunOwnedError(runId, claim.heldBy);
    }
    await this.#write(batch);
  }

  async #write(batch: Map<string, RunBatch>): Promise<void> {
    let done: (() => void)[] = [];
    await this.#conn.write(() => {
      const now = this.#now();
      done = [];
      for (const b of batch.values()) done.push(this.#appendRun(b, now));
    }, () => {
      for (const f of done) f();
    });
    // A finished run has no owner any more, once its end is committed: the append that records
    // the end resolves after the lock is let go, so whoever reads next sees no owner.
    const releases: Promise<void>[] = [];
    for (const b of batch.values()) {
      if (b.state !== null && b.state.status !== "running") {
        releases.push(this.#owners.release(b.runId).catch(() => {}));
      }
    }
    if (releases.length) await Promise.all(releases);
  }

  #claim(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    return this.#owners.claimRun(runId, owner).catch((e) =>
      Promise.reject(storeError(this.#owners.path(runId), "write", e))
    );
  }

  /** Claims the run for this store (see {@linkcode RunOwnership}): a lock file held open. */
  claimRun(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    return this.#claim(runId, owner);
  }

  /** Who holds the run's lock file, if anyone. */
  runOwner(runId: string): Promise<RunOwner | undefined> {
    return this.#owners.runOwner(runId);
  }

  #appendRun(b: RunBatch, now: number): () => void {
    const runId = b.runId;
    const head = this.#journal.head(runId);
    if (head.tasksSeq === null) {
      if (b.start === null) throw new RunNotFoundError(runId);
      this.#conn.stmt(
        `INSERT INTO runs (run_id, flow, status, params, started_at, updated_at)
         VALUES (?, ?, 'running', ?, ?, ?)`,
      ).run(runId, b.start.flow, b.start.params, b.start.startedAt, iso(now));
      this.#touched.set(runId, now);
    }
    const committed = this.#journal.append(b, head);
    // The run's page is rewritten only when the run changes, or as a heartbeat.
    const s = b.state;
    if (s !== null) {
      this.#conn.stmt(
        `UPDATE runs SET status = ?2, finished_at = ?3, error = ?4, result = ?5, updated_at = ?6
         WHERE run_id = ?1`,
      ).run(runId, s.status, s.finishedAt, s.error, s.result, iso(now));
      if (s.status === "running") this.#touched.set(runId, now);
      else this.#touched.delete(runId);
    } else if (!(now - (this.#touched.get(runId) ?? -Infinity) < HEARTBEAT_MS)) {
      this.#conn.stmt("UPDATE runs SET updated_at = ? WHERE run_id = ?").run(iso(now), runId);
      this.#touched.set(runId, now);
    }
    return committed;
  }

  /** Records a new run. */
  createRun(row: NewRun): Promise<void> {
    const params = JSON.stringify(row.params ?? {});
    const result = toJson(row.result);
    return this.#conn.write(() => {
      const now = this.#now();
      if (this.#conn.stmt("SELECT 1 FROM runs WHERE run_id = ?").get(row.runId)) {
        throw new OrchestraError(`Cannot create run "${row.runId}": it already exists`);
      }
      this.#conn.stmt(
        `INSERT INTO runs (run_id, flow, status, params, started_at, finished_at, error, result,
          flow_file, flow_hash, pid, host, cancel_requested, updated_at, retry_of)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        row.runId,
        row.flow,
        row.status,
        params,
        row.startedAt,
        row.finishedAt ?? null,
        row.error ?? null,
        result,
        row.flowFile ?? null,
        row.flowHash ?? null,
        row.pid ?? null,
        row.host ?? null,
        row.cancelRequested ? 1 : 0,
        iso(now),
        row.retryOf ?? null,
      );
      if (row.status === "running") this.#touched.set(row.runId, now);
    });
  }

  /** The run's row; a `running` one without a live owner is `interrupted`. */
  async getRun(runId: string): Promise<RunRow | undefined> {
    const row = await this.#row(runId);
    return row && await this.#live(row);
  }

  #row(runId: string): Promise<RunRow | undefined> {
    return this.#conn.read(() => {
      const r = this.#conn.stmt("SELECT * FROM runs WHERE run_id = ?").get(runId) as
        | Row
        | undefined;
      return r && runRow(r);
    });
  }

  /** Runs, newest first. */
  async listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    // Whether a running run is interrupted is known only from its lease: filter after.
    const live = filter.status === "running" || filter.status === "interrupted";
    const limit = filter.limit === undefined ? -1 : Math.max(0, filter.limit);
    const rows = await this.#conn.read(() => {
      const olderThan = filter.olderThan === undefined
        ? null
        : isoArgument("olderThan", filter.olderThan);
      return (this.#conn.stmt(
        `SELECT * FROM runs
         WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR status = ?2)
           AND (?3 IS NULL OR started_at < ?3)
           AND (?5 IS NULL OR substr(run_id, 1, length(?5)) = ?5)
           AND (?6 IS NULL OR retry_of = ?6)
         ORDER BY started_at DESC, rowid DESC LIMIT ?4`,
      ).all(
        filter.flow ?? null,
        live ? "running" : filter.status ?? null,
        olderThan,
        live ? -1 : limit,
        filter.idPrefix ?? null,
        filter.retryOf ?? null,
      ) as Row[]).map(runRow);
    });
    const out = await Promise.all(rows.map((r) => this.#live(r)));
    if (!live) return out;
    const kept = out.filter((r) => r.status === filter.status);
    return limit < 0 ? kept : kept.slice(0, limit);
  }

  async #live(row: RunRow): Promise<RunRow> {
    if (row.status !== "running") return row;
    let owner: RunOwner | undefined;
    try {
      owner = await this.#owners.runOwner(row.runId);
    } catch {
      return row; // the lock file cannot be read: its owner is unknown, not gone
    }
    if (owner !== undefined) {
      row.owner = owner;
      return row;
    }
    // Its owner may have recorded its end and let go between the read and the probe (the
    // lease ends after the commit): read again before calling it interrupted.
    const now = await this.#row(row.runId);
    if (now !== undefined && now.status !== "running") return now;
    row.status = "interrupted";
    return row;
  }

  /** The run's tasks in seq order. */
  getTasks(runId: string): Promise<TaskRow[]> {
    return this.#conn.read(() => this.#journal.tasks(runId), true);
  }

  /** The run's journal. */
  events(runId: string, query: EventQuery = {}): Promise<StoredEvent[]> {
    return this.#conn.read(() => this.#journal.events(runId, query));
  }

  /** Sets the run running again and resets the given tasks. */
  reopenRun(runId: string, options: ReopenOptions = {}): Promise<boolean> {
    let reopened: () => void = () => {};
    return this.#conn.write(() => {
      const now = this.#now();
      const { changes } = this.#conn.stmt(
        `UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, result = NULL,
           cancel_requested = 0, pid = coalesce(?2, pid), host = coalesce(?3, host),
           flow_hash = coalesce(?4, flow_hash), updated_at = ?5
         WHERE run_id = ?1`,
      ).run(runId, options.pid ?? null, options.host ?? null, options.flowHash ?? null, iso(now));
      if (!changes) return false;
      this.#touched.set(runId, now);
      reopened = this.#journal.reopen(runId, options.resetTasks ?? []);
      return true;
    }, () => reopened());
  }

  /** Flags the run for cancellation. */
  requestCancel(runId: string): Promise<boolean> {
    return this.#conn.write(() => {
      const now = this.#now();
      const { changes } = this.#conn.stmt(
        `UPDATE runs SET cancel_requested = 1, updated_at = ?
         WHERE run_id = ? AND status = 'running'`,
      ).run(iso(now), runId);
      if (changes > 0) this.#touched.set(runId, now);
      return changes > 0;
    });
  }

  /** Whether a cancel was requested. */
  isCancelRequested(runId: string): Promise<boolean> {
    return this.#conn.read(() => {
      const r = this.#conn.stmt("SELECT cancel_requested FROM runs WHERE run_id = ?").get(runId);
      return (r as Row | undefined)?.cancel_requested === 1;
    });
  }

  /** Deletes runs that finished before the time, with their tasks and events. */
  pruneRuns(olderThan: string): Promise<number> {
    let before: string;
    try {
      before = isoArgument("olderThan", olderThan);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#conn.write(() =>
      Number(
        this.#conn.stmt(
          `DELETE FROM runs
           WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < ?`,
        ).run(before).changes,
      )
    );
  }

  /** Records a process group of a run. */
  recordProcess(p: ProcessRecord): Promise<void> {
    return this.#conn.write(() => insertProcess(this.#conn, p));
  }

  /** Forgets a process group that ended. */
  forgetProcess(p: Pick<ProcessRecord, "runId" | "host" | "pgid">): Promise<void> {
    return this.#conn.write(() => deleteProcess(this.#conn, p));
  }

  /** The run's recorded process groups. */
  processes(runId: string): Promise<ProcessRecord[]> {
    return this.#conn.read(() => selectProcesses(this.#conn, runId));
  }

  /** A fresh cache entry. */
  cacheGet(key: string, now: number): Promise<CacheEntry | undefined> {
    return this.#conn.read(() => {
      const r = this.#conn.stmt("SELECT value, expires_at FROM cache WHERE key = ?").get(key) as
        | { value: string | null; expires_at: number }
        | undefined;
      if (!r || r.expires_at <= now) return undefined;
      return { value: fromJson(r.value) };
    });
  }

  /** Stores a cache entry. */
  cacheSet(key: string, value: unknown, expiresAt: number): Promise<void> {
    let json: string | null;
    try {
      json = toJson(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#conn.write(() => {
      this.#conn.stmt(
        `INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      ).run(key, json, expiresAt);
    });
  }

  /** Empties the cache. */
  cacheClear(): Promise<number> {
    return this.#conn.write(() => Number(this.#conn.stmt("DELETE FROM cache").run().changes));
  }

  /** An unexpired state entry. */
  stateGet(scope: string, key: string, now: number): Promise<StateEntry | undefined> {
    return this.#conn.read(() => selectState(this.#conn, scope, key, now));
  }

  /** The unexpired entries of a scope, by key. */
  stateList(scope: string, now: number): Promise<StateEntry[]> {
    return this.#conn.read(() => listState(this.#conn, scope, now));
  }

  /** Writes a state entry. */
  statePut(
    scope: string,
    key: string,
    value: unknown,
    options: StatePutOptions = {},
  ): Promise<void> {
    let json: string | null;
    try {
      json = toJson(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#conn.write(() => upsertState(this.#conn, scope, key, json, options.expiresAt));
  }

  /** Writes a state entry unless an unexpired one holds the key (in one transaction). */
  statePutNew(
    scope: string,
    key: string,
    value: unknown,
    options: StatePutOptions & { now: number },
  ): Promise<StateEntry | undefined> {
    let json: string | null;
    try {
      json = toJson(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#conn.write(() => insertNewState(this.#conn, scope, key, json, options));
  }

  /** Removes a state entry. */
  stateDelete(scope: string, key: string): Promise<boolean> {
    return this.#conn.write(() => deleteState(this.#conn, scope, key));
  }

  /** Waits for queued writes, releases the runs it holds, then closes the database. */
  async close(): Promise<void> {
    try {
      await this.#conn.close();
    } finally {
      await this.#owners.releaseAll();
    }
  }
}

function runRow(r: Row): RunRow {
  const row: RunRow = {
    runId: r.run_id as string,
    flow: r.flow as string,
    status: r.status as RunStatus,
    params: JSON.parse(r.params as string),
    startedAt: r.started_at as string,
    updatedAt: r.updated_at as string,
  };
  if (r.finished_at !== null) row.finishedAt = r.finished_at as string;
  if (r.error !== null) row.error = r.error as string;
  if (r.result !== null) row.result = JSON.parse(r.result as string);
  if (r.flow_file !== null) row.flowFile = r.flow_file as string;
  if (r.flow_hash !== null) row.flowHash = r.flow_hash as string;
  if (r.pid !== null) row.pid = r.pid as number;
  if (r.host !== null) row.host = r.host as string;
  if (r.cancel_requested === 1) row.cancelRequested = true;
  if (r.retry_of !== null && r.retry_of !== undefined) row.retryOf = r.retry_of as string;
  return row;
}

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

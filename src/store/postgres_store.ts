/**
 * The PostgreSQL store: runs, journals and the result cache in a PostgreSQL database, shared by
 * every Orchestra process pointed at it (`--store postgres://user@host:port/db`). Its tables
 * live in one schema (`orchestra`, or `?schema=NAME`); opening the store migrates it
 * (`postgres_migrations.ts`).
 *
 * An append is one transaction: the runs it starts are created, then one statement raises each
 * run's `journal_seq` (locking the run's row, so appends to a run take turns across processes)
 * and writes its events as journal rows numbered from there. Task rows are not written: they
 * are the journal folded when read (`_pg_journal.ts`), from a snapshot that a reopen writes.
 *
 * Ownership (`_pg_leases.ts`): a run is owned through a lease row that its owner renews (a
 * heartbeat) and that another process may take over once it expired on the server's clock
 * (`leaseTimeoutSeconds`, `lease_timeout` in the URL: 15 s). Every write of a run this store
 * holds (append, reopen, a recorded process) checks its fencing token in the same statement,
 * so once the run was taken over it fails with `RunLeaseLostError` and writes nothing.
 *
 * Durability (`durability`): `"full"` (the default) waits at each commit until the server has
 * flushed its WAL; `"normal"` (`synchronous_commit = off`) does not, so a crash of the server
 * or its machine may lose the last appends (a killed Orchestra process loses nothing).
 *
 * @module
 */

import type postgres from "postgres";
import { OrchestraError } from "../core/errors.ts";
import { encodeBatch, fromJson, iso, isoArgument, type RunBatch, toJson } from "./_journal.ts";
import {
  connect,
  connectionProblem,
  leaseTimeoutProblem,
  parseStoreUrl,
  type PostgresStoreInfo,
  serverInfo,
  StoreConnectionError,
  type StoreUrl,
  translate,
} from "./_pg_connection.ts";
import { importCache, type ImportedCacheEntry, type ImportedRun, importRun } from "./_pg_import.ts";
import {
  endedLeases,
  type EventRow,
  filterEvents,
  readTasks,
  reopen,
  writeBatch,
} from "./_pg_journal.ts";
import { PgLeases } from "./_pg_leases.ts";
import { processRow, runRow, stateEntry } from "./_pg_rows.ts";
import { type RunClaim, RunOwnedError, type RunOwner } from "./ownership.ts";
import {
  checkVersion,
  migrate,
  type MigrationReport,
  PG_SCHEMA_VERSION,
  PostgresVersionError,
  schemaVersion,
} from "./postgres_migrations.ts";
import { type PgStatements, statements } from "./_pg_statements.ts";
import {
  type AppendEvent,
  type CacheEntry,
  type EventQuery,
  type NewRun,
  type ProcessRecord,
  type ReopenOptions,
  type RunFilter,
  type RunRow,
  type StateEntry,
  type StatePutOptions,
  type Store,
  type StoredEvent,
  type TaskRow,
} from "./store.ts";

export { PostgresVersionError, StoreConnectionError };
export type { ImportedCacheEntry, ImportedRun, PostgresStoreInfo };

/** How long a run's lease lasts without a heartbeat unless the URL or the options say. */
export const DEFAULT_LEASE_TIMEOUT_SECONDS = 15;

/** How hard each commit tries to survive a crash; see the module documentation. */
export type PostgresDurability = "full" | "normal";

/** Options of {@linkcode PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** `full`: commits wait for the WAL flush; `normal`: `synchronous_commit = off`. @default "full" */
  durability?: PostgresDurability;
  /** Bring the schema up to date on open; when false, an old schema is an error. @default true */
  migrate?: boolean;
  /** At most this many connections to the server. @default 4 */
  maxConnections?: number;
  /** Seconds to wait for the server when connecting (`connect_timeout` in the URL wins). @default 10 */
  connectTimeoutSeconds?: number;
  /**
   * Seconds a run's lease lasts without a heartbeat (its owner renews it every third of
   * this): when an owner dies, its runs read as interrupted, and may be taken over, that long
   * after its last heartbeat. `lease_timeout` in the URL wins. Expiry is decided by the
   * server's clock. @default 15
   */
  leaseTimeoutSeconds?: number;
  /**
   * The clock of `updatedAt`, in milliseconds since the epoch (leases use the server's
   * clock). @default Date.now
   */
  now?: () => number;
}

/**
 * A {@linkcode Store} in a PostgreSQL database, shared by many processes and machines.
 *
 * @example
 * ```ts ignore
 * import { PostgresStore } from "./postgres_store.ts";
 * const store = await PostgresStore.open("postgres://orchestra@127.0.0.1:5432/orchestra");
 * await store.append([{ type: "run.started", runId: "r1", time: Date.now(), flow: "etl", params: {} }]);
 * console.assert((await store.getRun("r1"))?.status === "running");
 * await store.close();
 * ```
 */
export class PostgresStore implements Store {
  /** The durability it was opened with. */
  readonly durability: PostgresDurability;
  /** What opening it migrated (nothing when the schema was up to date). */
  readonly migration: MigrationReport;
  readonly #url: StoreUrl;
  readonly #sql: postgres.Sql;
  readonly #q: PgStatements;
  readonly #now: () => number;
  readonly #leases: PgLeases;
  // Writes take turns, in call order: a tick's append must not overtake the one before.
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    url: StoreUrl,
    sql: postgres.Sql,
    migration: MigrationReport,
    options: { durability: PostgresDurability; now: () => number; leaseMs: number },
  ) {
    this.#url = url;
    this.#sql = sql;
    this.#q = statements(url.schema);
    this.migration = migration;
    this.durability = options.durability;
    this.#now = options.now;
    this.#leases = new PgLeases(sql, this.#q, url.shown, options.leaseMs);
  }

  /**
   * Connects to the database of `url` and migrates the store's schema. Rejects with a
   * `StoreConnectionError` (one line, password masked) when the server cannot be used, and a
   * `PostgresVersionError` for a schema written by a newer Orchestra.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const durability = options.durability ?? "full";
    if (durability !== "full" && durability !== "normal") {
      throw new TypeError(
        `durability must be "full" or "normal", got ${JSON.stringify(durability)}`,
      );
    }
    const u = parseStoreUrl(url);
    const lease = u.leaseTimeoutSeconds ?? options.leaseTimeoutSeconds ??
      DEFAULT_LEASE_TIMEOUT_SECONDS;
    const problem = leaseTimeoutProblem(lease);
    if (problem !== undefined) throw new RangeError(`leaseTimeoutSeconds ${problem}, got ${lease}`);
    const sql = await connect(u, {
      max: options.maxConnections ?? 4,
      connectTimeoutSeconds: u.connectTimeoutSeconds ?? options.connectTimeoutSeconds ?? 10,
      synchronousCommit: durability === "full" ? "on" : "off",
      // A transaction of the store's lasts milliseconds; one that waits on its client for as
      // long as a lease is one whose process stopped: end it, so its locks go.
      idleInTransactionMs: Math.round(lease * 1000),
    });
    try {
      const report = options.migrate === false ? await checkVersion(sql, u) : await migrate(sql, u);
      return new PostgresStore(u, sql, report, {
        durability,
        now: options.now ?? Date.now,
        leaseMs: Math.round(lease * 1000),
      });
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw translate(e, u);
    }
  }

  /** The store's URL with its password masked. */
  get url(): string {
    return this.#url.shown;
  }

  /** The schema its tables live in. */
  get schema(): string {
    return this.#url.schema;
  }

  /** How long a run's lease lasts without a heartbeat, in seconds. */
  get leaseTimeoutSeconds(): number {
    return this.#leases.leaseMs / 1000;
  }

  /** The schema version this code writes. */
  static readonly SCHEMA_VERSION: number = PG_SCHEMA_VERSION;

  /** The server, the connection and the schema, as the server reports them. */
  info(): Promise<PostgresStoreInfo> {
    return this.#read(async () => ({
      ...await serverInfo(this.#sql, this.#url),
      schemaVersion: await schemaVersion(this.#sql, this.#url.schema),
    }));
  }

  /**
   * Journals the events and updates the runs in one transaction. A run's `run.started` claims
   * the run first (unless this store holds it); its `run.finished` releases it in the same
   * transaction. A run this store holds is written only while its lease is still this
   * store's: once taken over, the append rejects with `RunLeaseLostError`, writing nothing.
   */
  append(events: readonly AppendEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    let batch: Map<string, RunBatch>;
    try {
      batch = encodeBatch(events);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(async () => {
      for (const b of batch.values()) {
        if (b.start === null || this.#leases.holds(b.runId)) continue;
        const claim = await this.#leases.claim(b.runId);
        if (claim.heldBy) throw new RunOwnedError(b.runId, claim.heldBy);
      }
      const runIds = [...batch.keys()];
      const tokens = this.#leases.tokens(runIds);
      const ending = endedLeases(batch, tokens);
      this.#leases.releasing(ending);
      let committed = false;
      try {
        await this.#sql.begin(async (tx) => {
          const fenced = await writeBatch(tx, this.#q, batch, { tokens, now: this.#now() });
          if (fenced !== undefined) throw await this.#leases.lost(fenced);
        });
        committed = true;
      } catch (e) {
        // A connection dropped under a held run's append: say so if the run was taken over.
        if (connectionProblem(e, this.#url) === undefined) throw e;
        throw (await this.#leases.explain(runIds.filter((_, i) => tokens[i] !== null))) ?? e;
      } finally {
        this.#leases.released(ending, committed);
      }
    });
  }

  /** Claims the run for this store: a lease in the database, renewed while held. */
  claimRun(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    return this.#write(() => this.#leases.claim(runId, owner));
  }

  /** Who holds the run's lease now (expired leases hold nothing), on the server's clock. */
  runOwner(runId: string): Promise<RunOwner | undefined> {
    return this.#read(() => this.#leases.owner(runId));
  }

  /** Records a new run. */
  createRun(row: NewRun): Promise<void> {
    let params: string;
    let result: string | null;
    try {
      params = JSON.stringify(row.params ?? {});
      result = toJson(row.result);
      this.#leases.token(row.runId); // a lease found lost: refused
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(async () => {
      const inserted = await this.#sql.unsafe(this.#q.createRun, [
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
        row.cancelRequested === true,
        iso(this.#now()),
        row.retryOf ?? null,
      ], { prepare: true });
      if (inserted.length === 0) {
        throw new OrchestraError(`Cannot create run "${row.runId}": it already exists`);
      }
    });
  }

  /** The run's row. */
  getRun(runId: string): Promise<RunRow | undefined> {
    return this.#read(async () => {
      const [r] = await this.#sql.unsafe(this.#q.getRun, [runId], { prepare: true });
      return r && runRow(r);
    });
  }

  /** Runs, newest first. */
  listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    let olderThan: string | null;
    try {
      olderThan = filter.olderThan === undefined
        ? null
        : isoArgument("olderThan", filter.olderThan);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#read(async () => {
      const rows = await this.#sql.unsafe(this.#q.listRuns, [
        filter.flow ?? null,
        filter.status ?? null,
        olderThan,
        filter.limit === undefined ? null : Math.max(0, filter.limit),
        filter.idPrefix ?? null,
        filter.retryOf ?? null,
      ], { prepare: true });
      return rows.map(runRow);
    });
  }

  /** The run's tasks in seq order. */
  getTasks(runId: string): Promise<TaskRow[]> {
    return this.#read(() => readTasks(this.#sql, this.#q, runId));
  }

  /** The run's journal. */
  events(runId: string, query: EventQuery = {}): Promise<StoredEvent[]> {
    return this.#read(async () => {
      const rows = await this.#sql.unsafe(this.#q.eventRows, [runId, query.afterSeq ?? 0], {
        prepare: true,
      }).values();
      return filterEvents(runId, rows as unknown as EventRow[], query);
    });
  }

  /**
   * Sets the run running again and resets the given tasks (in a new task snapshot); for a run
   * this store holds, only while its lease is still this store's.
   */
  reopenRun(runId: string, options: ReopenOptions = {}): Promise<boolean> {
    return this.#write(() =>
      this.#sql.begin(async (tx) => {
        const token = this.#leases.token(runId);
        const reopened = await reopen(tx, this.#q, runId, options, { token, now: this.#now() });
        if (reopened === "fenced") throw await this.#leases.lost(runId);
        return reopened;
      })
    );
  }

  /** Flags the run for cancellation. */
  requestCancel(runId: string): Promise<boolean> {
    return this.#write(async () => {
      const result = await this.#sql.unsafe(this.#q.requestCancel, [runId, iso(this.#now())], {
        prepare: true,
      });
      return result.count > 0;
    });
  }

  /** Whether a cancel was requested. */
  isCancelRequested(runId: string): Promise<boolean> {
    return this.#read(async () => {
      const [r] = await this.#sql.unsafe(this.#q.isCancelRequested, [runId], { prepare: true });
      return r?.cancel_requested === true;
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
    return this.#write(async () => {
      const [r] = await this.#sql.unsafe(this.#q.pruneRuns, [before], { prepare: true });
      return r.n as number;
    });
  }

  /** Records a process group of a run (refused once this store lost the run's lease). */
  recordProcess(p: ProcessRecord): Promise<void> {
    return this.#write(async () => {
      const token = this.#leases.token(p.runId);
      const rows = await this.#sql.unsafe(this.#q.recordProcess, [
        p.runId,
        p.host,
        p.pgid,
        p.taskId,
        p.identity,
        p.startedAt,
        token,
      ], { prepare: true });
      if (rows.length === 0) throw await this.#leases.lost(p.runId);
    });
  }

  /** Forgets a process group that ended. */
  forgetProcess(p: Pick<ProcessRecord, "runId" | "host" | "pgid">): Promise<void> {
    return this.#write(async () => {
      await this.#sql.unsafe(this.#q.forgetProcess, [p.runId, p.host, p.pgid], { prepare: true });
    });
  }

  /** The run's recorded process groups, oldest first. */
  processes(runId: string): Promise<ProcessRecord[]> {
    return this.#read(async () => {
      const rows = await this.#sql.unsafe(this.#q.processes, [runId], { prepare: true });
      return rows.map(processRow);
    });
  }

  /** A fresh cache entry. */
  cacheGet(key: string, now: number): Promise<CacheEntry | undefined> {
    return this.#read(async () => {
      const [r] = await this.#sql.unsafe(this.#q.cacheGet, [key], { prepare: true });
      if (!r || Number(r.expires_at) <= now) return undefined;
      return { value: fromJson(r.value as string | null) };
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
    return this.#write(async () => {
      await this.#sql.unsafe(this.#q.cacheSet, [key, json, expiresAt], { prepare: true });
    });
  }

  /** Empties the cache. */
  cacheClear(): Promise<number> {
    return this.#write(async () =>
      (await this.#sql.unsafe(this.#q.cacheClear, [], { prepare: true })).count
    );
  }

  /** An unexpired state entry. */
  stateGet(scope: string, key: string, now: number): Promise<StateEntry | undefined> {
    return this.#read(async () => {
      const [r] = await this.#sql.unsafe(this.#q.stateGet, [scope, key, now], { prepare: true });
      return r ? stateEntry(r) : undefined;
    });
  }

  /** The unexpired entries of a scope, by key. */
  stateList(scope: string, now: number): Promise<StateEntry[]> {
    return this.#read(async () =>
      (await this.#sql.unsafe(this.#q.stateList, [scope, now], { prepare: true })).map(stateEntry)
    );
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
    return this.#write(async () => {
      await this.#sql.unsafe(this.#q.statePut, [scope, key, json, options.expiresAt ?? null], {
        prepare: true,
      });
    });
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
    return this.#write(() =>
      this.#sql.begin(async (tx) => {
        await tx.unsafe(this.#q.stateExpire, [scope, options.now], { prepare: true });
        const inserted = await tx.unsafe(
          this.#q.statePutNew,
          [scope, key, json, options.expiresAt ?? null],
          { prepare: true },
        );
        if (inserted.length) return undefined;
        const [r] = await tx.unsafe(this.#q.stateGet, [scope, key, options.now], {
          prepare: true,
        });
        return r ? stateEntry(r) : undefined;
      }) as Promise<StateEntry | undefined>
    );
  }

  /** Removes a state entry. */
  stateDelete(scope: string, key: string): Promise<boolean> {
    return this.#write(async () =>
      (await this.#sql.unsafe(this.#q.stateDelete, [scope, key], { prepare: true })).count > 0
    );
  }

  /**
   * Writes a run read from another store (`orchestra store copy`): its row as it is (its
   * `updatedAt` too), its journal with the same seqs, and its task rows as a snapshot at the
   * journal's end, so every read returns what the other store did. With `replace`, a run of
   * that id is deleted first; without, one that exists is an error.
   */
  importRun(imported: ImportedRun, options: { replace?: boolean } = {}): Promise<void> {
    return this.#write(() =>
      this.#sql.begin((tx) => importRun(tx, this.#q, imported, options.replace === true))
    );
  }

  /**
   * Writes cache entries read from another store; an entry already here is overwritten only by
   * one that expires later. Resolves with how many were written.
   */
  importCache(entries: readonly ImportedCacheEntry[]): Promise<number> {
    if (entries.length === 0) return Promise.resolve(0);
    return this.#write(() => importCache(this.#sql, this.#q, entries));
  }

  /** Waits for queued writes, releases the runs it holds, then closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.catch(() => {});
    try {
      await this.#leases.close();
    } catch {
      // The server is out of reach: the leases lapse on their own.
    } finally {
      await this.#sql.end({ timeout: 5 });
    }
  }

  #read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return fn().catch((e) => {
      throw translate(e, this.#url);
    });
  }

  #write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const job = this.#writes.then(fn, fn).catch((e) => {
      throw translate(e, this.#url);
    });
    this.#writes = job.catch(() => {});
    return job;
  }

  #closedError(): Error {
    return new Error(`The state store "${this.#url.shown}" is closed`);
  }
}

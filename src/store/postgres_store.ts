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
 * Durability (`durability`): `"full"` (the default) waits at each commit until the server has
 * flushed its WAL; `"normal"` (`synchronous_commit = off`) does not, so a crash of the server
 * or its machine may lose the last appends (a killed Orchestra process loses nothing).
 *
 * @module
 */

import type postgres from "postgres";
import { OrchestraError } from "../core/errors.ts";
import type { RunStatus } from "../core/events.ts";
import {
  encodeBatch,
  fromJson,
  HEARTBEAT_MS,
  iso,
  isoArgument,
  type RunBatch,
  toJson,
} from "./_journal.ts";
import {
  connect,
  parseStoreUrl,
  type Queryable,
  StoreConnectionError,
  type StoreUrl,
  translate,
} from "./_pg_connection.ts";
import { journalText } from "./_journal_codec.ts";
import {
  batchColumns,
  type EventRow,
  filterEvents,
  type FoldRow,
  foldTasks,
  JOURNAL_FORMAT,
  snapshotText,
} from "./_pg_journal.ts";
import { BLOCK_FORMAT } from "./_task_blocks.ts";
import {
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

export { PostgresVersionError, StoreConnectionError };

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
  /** The clock of `updatedAt`, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** A run as {@linkcode PostgresStore.importRun} writes it: its rows and journal, as read. */
export interface ImportedRun {
  /** The run's row (its `updatedAt` is kept). */
  run: RunRow;
  /** Its task rows. */
  tasks: readonly TaskRow[];
  /** Its journal, in seq order. */
  events: readonly StoredEvent[];
}

/** What {@linkcode PostgresStore.info} reports about the connection. */
export interface PostgresStoreInfo {
  /** The store's URL, password masked. */
  url: string;
  /** The server's version (`15.18`). */
  serverVersion: string;
  /** Whether the connection is encrypted with TLS. */
  tls: boolean;
  /** The user connected. */
  user: string;
  /** The database. */
  database: string;
  /** The schema of the store's tables. */
  schema: string;
  /** Its version. */
  schemaVersion: number;
  /** `on`, or `off` for durability normal. */
  synchronousCommit: string;
}

/** One cache entry, as {@linkcode PostgresStore.importCache} writes it. */
export interface ImportedCacheEntry {
  /** The key. */
  key: string;
  /** The value as JSON text, null for a cached undefined. */
  json: string | null;
  /** When it expires (ms since the epoch). */
  expiresAt: number;
}

type Row = Record<string, unknown>;

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
  // Writes take turns, in call order: a tick's append must not overtake the one before.
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    url: StoreUrl,
    sql: postgres.Sql,
    migration: MigrationReport,
    durability: PostgresDurability,
    now: () => number,
  ) {
    this.#url = url;
    this.#sql = sql;
    this.#q = statements(url.schema);
    this.migration = migration;
    this.durability = durability;
    this.#now = now;
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
    const sql = await connect(u, {
      max: options.maxConnections ?? 4,
      connectTimeoutSeconds: u.connectTimeoutSeconds ?? options.connectTimeoutSeconds ?? 10,
      synchronousCommit: durability === "full" ? "on" : "off",
    });
    try {
      const report = options.migrate === false ? await checkVersion(sql, u) : await migrate(sql, u);
      return new PostgresStore(u, sql, report, durability, options.now ?? Date.now);
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

  /** The schema version this code writes. */
  static readonly SCHEMA_VERSION: number = PG_SCHEMA_VERSION;

  /** The server, the connection and the schema, as the server reports them. */
  info(): Promise<PostgresStoreInfo> {
    return this.#read(async () => {
      const [r] = await this.#sql.unsafe(
        `SELECT current_setting('server_version') AS version, current_user AS user,
           current_database() AS database, current_setting('synchronous_commit') AS sync,
           coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls`,
      );
      return {
        url: this.#url.shown,
        serverVersion: String(r.version).split(" ")[0],
        tls: r.tls === true,
        user: r.user as string,
        database: r.database as string,
        schema: this.#url.schema,
        schemaVersion: await schemaVersion(this.#sql, this.#url.schema),
        synchronousCommit: r.sync as string,
      };
    });
  }

  /** Journals the events and updates the runs in one transaction. */
  append(events: readonly AppendEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    let batch: Map<string, RunBatch>;
    try {
      batch = encodeBatch(events);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(async () => {
      const now = this.#now();
      const { runs, journal } = batchColumns(batch.values());
      await this.#sql.begin(async (tx) => {
        const starts = [...batch.values()].filter((b) => b.start !== null);
        if (starts.length) {
          await tx.unsafe(this.#q.insertStarted, [
            starts.map((b) => b.runId),
            starts.map((b) => b.start!.flow),
            starts.map((b) => b.start!.params),
            starts.map((b) => b.start!.startedAt),
            iso(now),
          ], { prepare: true });
        }
        const appended = await tx.unsafe(this.#q.append, [
          runs.runIds,
          runs.counts,
          runs.statuses,
          runs.finishedAts,
          runs.errors,
          runs.results,
          iso(now - HEARTBEAT_MS),
          iso(now),
          journal.runIds,
          journal.firsts,
          journal.lasts,
          journal.texts,
          JOURNAL_FORMAT,
        ], { prepare: true });
        if (appended.length < batch.size) {
          const found = new Set(appended.map((r) => r.run_id as string));
          throw new RunNotFoundError(runs.runIds.find((id) => !found.has(id))!);
        }
      });
    });
  }

  /** Records a new run. */
  createRun(row: Omit<RunRow, "updatedAt">): Promise<void> {
    let params: string;
    let result: string | null;
    try {
      params = JSON.stringify(row.params ?? {});
      result = toJson(row.result);
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
      ], { prepare: true });
      return rows.map(runRow);
    });
  }

  /** The run's tasks in seq order. */
  getTasks(runId: string): Promise<TaskRow[]> {
    return this.#read(() => this.#tasks(this.#sql, runId));
  }

  async #tasks(sql: Queryable, runId: string, reset?: Set<string>): Promise<TaskRow[]> {
    const rows = await sql.unsafe(this.#q.foldRows, [runId], { prepare: true }).values();
    return foldTasks(runId, rows as unknown as FoldRow[], reset);
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

  /** Sets the run running again and resets the given tasks (in a new task snapshot). */
  reopenRun(runId: string, options: ReopenOptions = {}): Promise<boolean> {
    return this.#write(() =>
      this.#sql.begin(async (tx) => {
        const [r] = await tx.unsafe(this.#q.reopen, [
          runId,
          options.pid ?? null,
          options.host ?? null,
          options.flowHash ?? null,
          iso(this.#now()),
        ], { prepare: true });
        if (r === undefined) return false;
        const reset = options.resetTasks ?? [];
        if (reset.length) {
          // The row is locked: no append to the run can commit until this one does.
          const tasks = await this.#tasks(tx, runId, new Set(reset));
          await tx.unsafe(this.#q.putSnapshot, [
            runId,
            r.journal_seq,
            BLOCK_FORMAT,
            snapshotText(tasks),
          ], { prepare: true });
        }
        return true;
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
    return this.#write(async () =>
      (await this.#sql.unsafe(this.#q.pruneRuns, [before], { prepare: true })).count
    );
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
      this.#sql.begin(async (tx) => {
        const { run, tasks, events } = imported;
        if (options.replace) await tx.unsafe(this.#q.deleteRun, [run.runId], { prepare: true });
        const last = events.length ? events[events.length - 1].seq : 0;
        await tx.unsafe(this.#q.importRun, [
          run.runId,
          run.flow,
          run.status,
          JSON.stringify(run.params ?? {}),
          run.startedAt,
          run.finishedAt ?? null,
          run.error ?? null,
          toJson(run.result),
          run.flowFile ?? null,
          run.flowHash ?? null,
          run.pid ?? null,
          run.host ?? null,
          run.cancelRequested === true,
          run.updatedAt,
          last,
        ], { prepare: true });
        const rows = importedJournal(events);
        if (rows.seqs.length) {
          await tx.unsafe(this.#q.importJournal, [
            run.runId,
            rows.seqs,
            rows.lasts,
            rows.texts,
            JOURNAL_FORMAT,
          ], { prepare: true });
        }
        if (tasks.length) {
          await tx.unsafe(
            this.#q.putSnapshot,
            [run.runId, last, BLOCK_FORMAT, snapshotText(tasks)],
            {
              prepare: true,
            },
          );
        }
      })
    );
  }

  /**
   * Writes cache entries read from another store; an entry already here is overwritten only by
   * one that expires later. Resolves with how many were written.
   */
  importCache(entries: readonly ImportedCacheEntry[]): Promise<number> {
    if (entries.length === 0) return Promise.resolve(0);
    return this.#write(async () =>
      (await this.#sql.unsafe(this.#q.importCache, [
        entries.map((e) => e.key),
        entries.map((e) => e.json),
        entries.map((e) => e.expiresAt),
      ], { prepare: true })).count
    );
  }

  /** Waits for queued writes, then closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.catch(() => {});
    await this.#sql.end({ timeout: 5 });
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

/** A run's journal as rows of consecutive seqs (a gap starts a new row). */
function importedJournal(events: readonly StoredEvent[]) {
  const out = { seqs: [] as number[], lasts: [] as number[], texts: [] as string[] };
  let start = 0;
  const flush = (end: number) => {
    const slice = events.slice(start, end).map((e) => e.event as AppendEvent);
    for (let i = 0; i < slice.length; i += 4096) {
      const part = slice.slice(i, i + 4096);
      const seq = events[start + i].seq;
      out.seqs.push(seq);
      out.lasts.push(seq + part.length - 1);
      out.texts.push(journalText(part));
    }
    start = end;
  };
  for (let i = 1; i <= events.length; i++) {
    if (i === events.length || events[i].seq !== events[i - 1].seq + 1) flush(i);
  }
  return out;
}

/** The schema's version, which must be this code's (for `migrate: false`). */
async function checkVersion(sql: postgres.Sql, u: StoreUrl): Promise<MigrationReport> {
  const version = await schemaVersion(sql, u.schema);
  if (version > PG_SCHEMA_VERSION) {
    throw new PostgresVersionError(u.shown, u.schema, version, PG_SCHEMA_VERSION);
  }
  if (version < PG_SCHEMA_VERSION) {
    throw new StoreConnectionError(
      u.shown,
      `its schema "${u.schema}" is at version ${version} of ${PG_SCHEMA_VERSION}; run ` +
        `orchestra store migrate`,
    );
  }
  return { schema: u.schema, from: version, to: version, applied: [] };
}

function stateEntry(r: Row): StateEntry {
  return {
    key: r.key as string,
    value: fromJson(r.value as string | null),
    ...(r.expires_at === null ? {} : { expiresAt: Number(r.expires_at) }),
  };
}

function date(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

function runRow(r: Row): RunRow {
  const row: RunRow = {
    runId: r.run_id as string,
    flow: r.flow as string,
    status: r.status as RunStatus,
    params: JSON.parse(r.params as string),
    startedAt: date(r.started_at),
    updatedAt: date(r.updated_at),
  };
  if (r.finished_at !== null) row.finishedAt = date(r.finished_at);
  if (r.error !== null) row.error = r.error as string;
  if (r.result !== null) row.result = JSON.parse(r.result as string);
  if (r.flow_file !== null) row.flowFile = r.flow_file as string;
  if (r.flow_hash !== null) row.flowHash = r.flow_hash as string;
  if (r.pid !== null) row.pid = r.pid as number;
  if (r.host !== null) row.host = r.host as string;
  if (r.cancel_requested === true) row.cancelRequested = true;
  return row;
}

/**
 * One `node:sqlite` connection to a state database shared by many processes: WAL, prepared
 * statements, and write transactions that take turns across processes.
 *
 * Each write transaction holds an OS file lock on `<db>-lock`, then `BEGIN IMMEDIATE`. The
 * file lock makes writers take turns: a waiting process is woken the moment the holder
 * commits. SQLite's busy handler alone polls with sleeps of up to 100 ms, so a process that
 * writes continuously starves the others (a `cancel` from another process would wait). Against
 * SQLite clients that do not take the file lock (the `sqlite3` shell), the busy timeout and
 * retries with backoff apply.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { OrchestraError } from "../core/errors.ts";
import { migrate, schemaVersion } from "./sqlite_migrations.ts";

/** How the connection is opened. */
export interface ConnectionOptions {
  /** `FULL` fsyncs every commit; `NORMAL` only at checkpoints. */
  synchronous: "FULL" | "NORMAL";
  /** SQLite's busy timeout, in milliseconds. */
  busyTimeoutMs: number;
  /** How long a write retries a database locked by another client. */
  lockWaitMs: number;
}

type Row = Record<string, unknown>;

/** A connection to the state database. */
export class SqliteConnection {
  /** The database file. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #lock: Deno.FsFile;
  readonly #options: ConnectionOptions;
  readonly #statements = new Map<string, StatementSync>();
  // Writes that met a locked database queue here so that one connection's writes stay in order.
  #waiting: Promise<void> | null = null;
  #closed = false;

  private constructor(db: DatabaseSync, lock: Deno.FsFile, path: string, o: ConnectionOptions) {
    this.#db = db;
    this.#lock = lock;
    this.path = path;
    this.#options = o;
  }

  /** Opens the database file, switches it to WAL and migrates its schema. */
  static async open(path: string, options: ConnectionOptions): Promise<SqliteConnection> {
    const lock = await Deno.open(`${path}-lock`, { read: true, write: true, create: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: options.busyTimeoutMs });
    } catch (e) {
      lock.close();
      throw e;
    }
    const conn = new SqliteConnection(db, lock, path, options);
    try {
      await conn.#retry(() => {
        db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
        db.exec("PRAGMA foreign_keys = ON");
        const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as Row).journal_mode;
        if (mode !== "wal") {
          throw new OrchestraError(
            `Cannot use the state database "${path}": SQLite could not switch it to WAL ` +
              `(journal mode "${mode}"); put the state dir on a local file system`,
          );
        }
        db.exec(`PRAGMA synchronous = ${options.synchronous}`);
      });
      await conn.#retry(() => conn.#locked(() => migrate(db, path)));
    } catch (e) {
      db.close();
      lock.close();
      throw e;
    }
    return conn;
  }

  /** The value of a pragma, as SQLite reports it. */
  pragma(name: string): unknown {
    const row = this.#db.prepare(`PRAGMA ${name}`).get() as Row;
    return Object.values(row)[0];
  }

  /** The schema version. */
  schemaVersion(): number {
    return schemaVersion(this.#db);
  }

  /** A prepared statement, from the cache. */
  stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** A statement whose rows come back as arrays: half the cost of objects on long reads. */
  arrays(sql: string): StatementSync {
    const key = `arrays\u0000${sql}`;
    let s = this.#statements.get(key);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      // In node:sqlite since Node 24 and in Deno, but not in the bundled Node typings.
      (s as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
      this.#statements.set(key, s);
    }
    return s;
  }

  /**
   * Runs `fn` (synchronous: nothing else may use the connection meanwhile) in a write
   * transaction, in order with this connection's other writes. `fn` runs again when the
   * database was locked, so it must not change anything outside the database; `committed`
   * runs once, right after the commit, with what `fn` returned.
   */
  write<T>(fn: () => T, committed?: (result: T) => void): Promise<T> {
    if (this.#waiting === null) {
      try {
        return Promise.resolve(this.#transaction(fn, committed));
      } catch (e) {
        if (!isBusy(e)) return Promise.reject(e);
      }
    }
    const job = (this.#waiting ?? Promise.resolve()).then(() =>
      this.#retry(() => this.#transaction(fn, committed))
    );
    const tail: Promise<void> = job.then(() => {}, () => {}).then(() => {
      if (this.#waiting === tail) this.#waiting = null;
    });
    this.#waiting = tail;
    return job;
  }

  /**
   * Runs `fn` (synchronous) outside a transaction, or in a read transaction (one snapshot for
   * all its statements) with `snapshot`; retried while the database is locked.
   */
  read<T>(fn: () => T, snapshot = false): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const run = snapshot ? () => this.#snapshot(fn) : fn;
    try {
      return Promise.resolve(run());
    } catch (e) {
      if (!isBusy(e)) return Promise.reject(e);
      return this.#retry(run);
    }
  }

  /** Waits for queued writes, then closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#waiting) await this.#waiting;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
    this.#lock.close();
  }

  #locked<T>(fn: () => T): T {
    this.#lock.lockSync(true);
    try {
      return fn();
    } finally {
      this.#lock.unlockSync();
    }
  }

  #transaction<T>(fn: () => T, committed?: (result: T) => void): T {
    if (this.#closed) throw this.#closedError();
    const db = this.#db;
    const result = this.#locked(() => {
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (e) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw e;
      }
    });
    committed?.(result);
    return result;
  }

  #snapshot<T>(fn: () => T): T {
    if (this.#closed) throw this.#closedError();
    const db = this.#db;
    db.exec("BEGIN");
    try {
      return fn();
    } finally {
      if (db.isTransaction) db.exec("COMMIT");
    }
  }

  /** Retries `fn` while the database is locked, with backoff, up to `lockWaitMs`. */
  async #retry<T>(fn: () => T): Promise<T> {
    const start = Date.now();
    let delay = 2;
    for (;;) {
      try {
        return fn();
      } catch (e) {
        if (!isBusy(e)) throw e;
        const waited = Date.now() - start;
        if (waited >= this.#options.lockWaitMs) {
          throw new OrchestraError(
            `The state database "${this.path}" stayed locked for ${waited} ms ` +
              `(busy timeout ${this.#options.busyTimeoutMs} ms): another process holds a ` +
              `write lock; check for a stuck process using it`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 250);
      }
    }
  }

  #closedError(): Error {
    return new Error(`The state store "${this.path}" is closed`);
  }
}

function isBusy(e: unknown): boolean {
  return e instanceof Error &&
    /database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED/i.test(e.message);
}

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
import { pathToFileURL } from "node:url";
import { OrchestraError } from "../core/errors.ts";
import { migrate, MIGRATIONS, schemaVersion } from "./sqlite_migrations.ts";
import { StoreError, StoreVersionError } from "./store.ts";

/** How the connection is opened. */
export interface ConnectionOptions {
  /** `FULL` fsyncs every commit; `NORMAL` only at checkpoints. */
  synchronous: "FULL" | "NORMAL";
  /** SQLite's busy timeout, in milliseconds. */
  busyTimeoutMs: number;
  /** How long a write retries a database locked by another client. */
  lockWaitMs: number;
  /** Open for reading only: no lock file, no migration, nothing written. @default false */
  readOnly?: boolean;
}

type Row = Record<string, unknown>;

/** A connection to the state database. */
export class SqliteConnection {
  /** The database file. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #lock: Deno.FsFile | null;
  readonly #options: ConnectionOptions;
  // The database file this connection opened: a write first checks the path still names it.
  readonly #file: { dev: number; ino: number | null } | null;
  readonly #statements = new Map<string, StatementSync>();
  // Writes that met a locked database queue here so that one connection's writes stay in order.
  #waiting: Promise<void> | null = null;
  #closed = false;

  private constructor(
    db: DatabaseSync,
    lock: Deno.FsFile | null,
    path: string,
    o: ConnectionOptions,
  ) {
    this.#db = db;
    this.#lock = lock;
    this.path = path;
    this.#options = o;
    this.#file = fileIdentity(path);
  }

  /**
   * Opens the database file, switches it to WAL and migrates its schema; with `readOnly`,
   * only opens it. Rejects with {@linkcode StoreError} (what, which file, what to do) when the
   * file cannot be used.
   */
  static async open(path: string, options: ConnectionOptions): Promise<SqliteConnection> {
    try {
      return options.readOnly
        ? SqliteConnection.#openReadOnly(path, options)
        : await SqliteConnection.#openReadWrite(path, options);
    } catch (e) {
      throw storeError(path, "open", e);
    }
  }

  static #openReadOnly(path: string, options: ConnectionOptions): SqliteConnection {
    const open = (spec: string) => {
      const db = new DatabaseSync(spec, { readOnly: true, timeout: options.busyTimeoutMs });
      try {
        schemaVersion(db); // reading needs the WAL index: this fails if it cannot be made
        return db;
      } catch (e) {
        db.close();
        throw e;
      }
    };
    let db: DatabaseSync;
    try {
      db = open(path);
    } catch (e) {
      // In a read-only dir SQLite cannot create the WAL index; nobody can write there either,
      // so the file may be read as immutable.
      if (!/readonly|unable to open/i.test(errorText(e))) throw e;
      db = open(`${pathToFileURL(path).href}?immutable=1`);
    }
    const version = schemaVersion(db);
    if (version !== MIGRATIONS.length) {
      db.close();
      if (version > MIGRATIONS.length) {
        throw new StoreVersionError(path, version, MIGRATIONS.length);
      }
      throw new StoreError(
        path,
        "Cannot read the state database",
        `its schema is version ${version}, older than this Orchestra's ${MIGRATIONS.length}, ` +
          `and it cannot be upgraded without write access; run any command that records ` +
          `(orchestra run) once with write access to the state dir`,
      );
    }
    return new SqliteConnection(db, null, path, options);
  }

  static async #openReadWrite(path: string, options: ConnectionOptions): Promise<SqliteConnection> {
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
        if (!isBusy(e)) return Promise.reject(storeError(this.path, "write", e));
      }
    }
    const job = (this.#waiting ?? Promise.resolve()).then(() =>
      this.#retry(() => this.#transaction(fn, committed))
    ).catch((e) => Promise.reject(storeError(this.path, "write", e)));
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
      if (!isBusy(e)) return Promise.reject(storeError(this.path, "read", e));
      return this.#retry(run).catch((e) => Promise.reject(storeError(this.path, "read", e)));
    }
  }

  /** Waits for queued writes, then closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#waiting) await this.#waiting;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
    this.#lock?.close();
  }

  /** Whether it was opened read-only. */
  get readOnly(): boolean {
    return this.#lock === null;
  }

  #locked<T>(fn: () => T): T {
    const lock = this.#lock;
    if (lock === null) {
      throw new StoreError(
        this.path,
        "Cannot write to the state database",
        "it was opened read-only (for a command that only reads)",
      );
    }
    lock.lockSync(true);
    try {
      return fn();
    } finally {
      lock.unlockSync();
    }
  }

  /** Throws when the database file was removed or replaced since this connection opened it. */
  #checkFile(): void {
    const now = fileIdentity(this.path);
    const was = this.#file;
    if (was === null) return;
    if (now === null) {
      throw new StoreError(
        this.path,
        "Cannot record in the state database",
        "the file was removed while Orchestra had it open, so nothing written now would be " +
          "kept; keep the state dir in place while runs are going on",
      );
    }
    if (now.dev !== was.dev || (now.ino !== null && now.ino !== was.ino)) {
      throw new StoreError(
        this.path,
        "Cannot record in the state database",
        "the file was replaced while Orchestra had it open, so what is written now would " +
          "go to the old file; keep the state dir in place while runs are going on",
      );
    }
  }

  #transaction<T>(fn: () => T, committed?: (result: T) => void): T {
    if (this.#closed) throw this.#closedError();
    this.#checkFile();
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

function fileIdentity(path: string): { dev: number; ino: number | null } | null {
  try {
    const info = Deno.statSync(path);
    return { dev: info.dev, ino: info.ino };
  } catch {
    return null;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const WHAT = {
  open: "Cannot open the state database",
  read: "Cannot read the state database",
  write: "Cannot write to the state database",
} as const;

/**
 * An SQLite or file system failure as a {@linkcode StoreError}: what failed, the file, and
 * what to do. Orchestra's own errors pass through unchanged.
 */
export function storeError(path: string, doing: keyof typeof WHAT, e: unknown): unknown {
  if (e instanceof OrchestraError) return e;
  const text = errorText(e);
  const what = WHAT[doing];
  let why: string;
  if (/file is not a database|malformed|corrupt/i.test(text)) {
    why = `the file is corrupt (${text}); move it aside (mv "${path}" "${path}.broken") ` +
      `to start a new state database there, or use another --state-dir`;
  } else if (/readonly|read-only/i.test(text) || e instanceof Deno.errors.PermissionDenied) {
    why = `it cannot be written (${text}); give the user running Orchestra write access to ` +
      `it and its dir, or use another --state-dir`;
  } else if (/disk is full|database or disk is full|no space|file too large/i.test(text)) {
    why = `the disk is full (${text}); free space on its file system, or use another ` +
      `--state-dir`;
  } else if (/unable to open|NotFound|No such file/i.test(text)) {
    why = `it cannot be opened (${text}); check that the state dir exists and is readable`;
  } else if (/disk I\/O error/i.test(text)) {
    why = `the file system failed (${text}); check the disk, or use another --state-dir`;
  } else if (e instanceof Deno.errors.NotADirectory || e instanceof Deno.errors.AlreadyExists) {
    why = `the state dir is not a directory (${text}); use another --state-dir`;
  } else if (/ERR_SQLITE|SQLITE|sqlite/i.test(text) || isSqliteError(e)) {
    why = text;
  } else {
    return e;
  }
  return new StoreError(path, what, why, { cause: e });
}

function isSqliteError(e: unknown): boolean {
  return (e as { code?: unknown })?.code === "ERR_SQLITE_ERROR";
}

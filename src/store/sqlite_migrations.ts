/**
 * The SQLite state schema and its forward migrations. The database's `PRAGMA user_version` is
 * the number of migrations applied; opening runs the missing ones in one transaction, and a
 * database from a newer Orchestra (a higher version) is refused rather than misread.
 *
 * To change the schema, append a migration; never edit one that has shipped.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { StoreVersionError } from "./store.ts";

/** One step of the schema. */
export interface Migration {
  /** What it changes. */
  description: string;
  /** The statements. */
  sql: string;
}

/** Every migration, in order: migration `i` brings the schema to version `i + 1`. */
export const MIGRATIONS: readonly Migration[] = [
  {
    description: "initial schema: runs, tasks, events, cache",
    sql: `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY NOT NULL,
        flow TEXT NOT NULL,
        status TEXT NOT NULL,
        params TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        error TEXT,
        result TEXT,
        flow_file TEXT,
        flow_hash TEXT,
        pid INTEGER,
        host TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX runs_by_start ON runs (started_at);
      CREATE INDEX runs_by_flow ON runs (flow, started_at);
      CREATE INDEX runs_by_status ON runs (status, started_at);
      CREATE INDEX runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL;

      -- One B-tree per table on the hot path (WITHOUT ROWID, no secondary index): each page an
      -- append touches is one more WAL frame to write and checkpoint. seq is the journal seq
      -- of the task's first event. needs is NULL only for a task whose task.created was never
      -- journaled.
      CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        needs TEXT,
        grp TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        result TEXT,
        error TEXT,
        reason TEXT,
        cache_key TEXT,
        items INTEGER,
        PRIMARY KEY (run_id, task_id)
      ) WITHOUT ROWID;

      -- data holds the event's other fields as JSON; its result is in tasks or runs.
      CREATE TABLE events (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        task_id TEXT,
        time INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      -- value is NULL for a cached undefined.
      CREATE TABLE cache (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    description: "the journal in one row per append; tasks in blocks written at checkpoints",
    sql: `
      -- One row per append and run (a long batch takes several): events holds the JSON array
      -- of the events seq .. last, without their runId, with their results.
      CREATE TABLE journal (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        last INTEGER NOT NULL,
        events TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      INSERT INTO journal (run_id, seq, last, events)
        SELECT run_id, seq, seq, json_array(
          CASE WHEN task_id IS NULL THEN json_set(data, '$.type', type, '$.time', time)
          ELSE json_set(data, '$.type', type, '$.time', time, '$.taskId', task_id) END)
        FROM events;

      -- A run's task rows are its journal folded up to runs.tasks_seq, kept as blocks: tasks
      -- holds a JSON array of rows (in the API's shape, without runId) in seq order, and seq is
      -- the seq of its first one. An append writes no task row: the blocks are brought up to
      -- date now and then (see _sqlite_journal.ts), and a read folds in the journal after them.
      CREATE TABLE task_blocks (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        tasks TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      INSERT INTO task_blocks (run_id, seq, tasks)
        SELECT run_id, min(seq), json_group_array(json(row) ORDER BY seq) FROM (
          SELECT run_id, seq, json_remove(
            json_object(
              'taskId', task_id, 'name', name, 'kind', kind,
              'needs', json(coalesce(needs, '[]')), 'status', status, 'attempts', attempts,
              'seq', seq, 'startedAt', started_at, 'finishedAt', finished_at,
              'result', json(result), 'error', error, 'reason', reason, 'cacheKey', cache_key,
              'group', grp, 'items', items),
            CASE WHEN started_at IS NULL THEN '$.startedAt' ELSE '$.none' END,
            CASE WHEN finished_at IS NULL THEN '$.finishedAt' ELSE '$.none' END,
            CASE WHEN result IS NULL THEN '$.result' ELSE '$.none' END,
            CASE WHEN error IS NULL THEN '$.error' ELSE '$.none' END,
            CASE WHEN reason IS NULL THEN '$.reason' ELSE '$.none' END,
            CASE WHEN cache_key IS NULL THEN '$.cacheKey' ELSE '$.none' END,
            CASE WHEN grp IS NULL THEN '$.group' ELSE '$.none' END,
            CASE WHEN items IS NULL THEN '$.items' ELSE '$.none' END) AS row
          FROM tasks)
        GROUP BY run_id;

      -- Version 1 kept the task rows up to date with every event.
      ALTER TABLE runs ADD COLUMN tasks_seq INTEGER NOT NULL DEFAULT 0;
      UPDATE runs SET tasks_seq =
        coalesce((SELECT max(seq) FROM events WHERE events.run_id = runs.run_id), 0);

      DROP TABLE events;
      DROP TABLE tasks;
    `,
  },
  {
    description: "journal rows and task blocks in compact formats (tuples), marked by a column",
    sql: `
      -- Rows written by version 2 keep format 1 and are read as such; new rows take format 2.
      -- journal: 1 = a JSON array of event objects; 2 = [first time, [code, time offset,
      -- taskId, name or 0, ...fields], ...] (src/store/_journal_codec.ts).
      ALTER TABLE journal ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
      -- task_blocks: 1 = a JSON array of row objects; 2 = a JSON array of row tuples
      -- (src/store/_task_blocks.ts).
      ALTER TABLE task_blocks ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    description: "retries as runs linked to their original; the process groups runs started",
    sql: `
      -- orchestra retry makes a new run; retry_of names the run it came from.
      ALTER TABLE runs ADD COLUMN retry_of TEXT;
      CREATE INDEX runs_by_retry_of ON runs (retry_of) WHERE retry_of IS NOT NULL;

      -- The process groups of a run's tasks while they run (a row is deleted when its group
      -- ended): whoever resumes the run after its owner died stops what is left of them.
      -- identity tells the group's leader from a later process with the same pid.
      CREATE TABLE processes (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        pgid INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        identity TEXT NOT NULL,
        started_at TEXT NOT NULL,
        PRIMARY KEY (run_id, host, pgid)
      ) WITHOUT ROWID;
    `,
  },
  {
    description: "keyed state: small values by scope and key, with an optional expiry",
    sql: `
      -- orchestra serve's schedules (last tick, paused), webhook deliveries (with a TTL) and
      -- the runs it owns. expires_at is ms since the epoch; NULL never expires.
      CREATE TABLE state (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        expires_at INTEGER,
        PRIMARY KEY (scope, key)
      ) WITHOUT ROWID;
      CREATE INDEX state_by_expiry ON state (scope, expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
];

/** The schema version of a database: the number of migrations applied to it. */
export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
}

/**
 * Brings the database's schema up to date in one `BEGIN IMMEDIATE` transaction (so two
 * processes opening a new database do not both migrate it). Throws SQLite's busy error when
 * another process holds the lock past the busy timeout: the caller retries.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { migrate, MIGRATIONS, schemaVersion } from "./sqlite_migrations.ts";
 * const db = new DatabaseSync(":memory:");
 * migrate(db, ":memory:");
 * console.assert(schemaVersion(db) === MIGRATIONS.length);
 * db.close();
 * ```
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const check = () => {
    const version = schemaVersion(db);
    if (version > migrations.length) {
      throw new StoreVersionError(path, version, migrations.length);
    }
    return version;
  };
  if (check() === migrations.length) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Another process may have migrated while this one waited for the lock.
    for (let v = check(); v < migrations.length; v++) db.exec(migrations[v].sql);
    db.exec(`PRAGMA user_version = ${migrations.length}`);
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

/**
 * The PostgreSQL store's statements, with its schema written in (every table is qualified, so
 * no connection's `search_path` matters). Each is prepared once per connection.
 *
 * @module
 */

/** The statements of a store whose tables live in one schema. */
export type PgStatements = ReturnType<typeof statements>;

const RUN_COLUMNS = `run_id, flow, status, params, started_at, finished_at, error, result,
  flow_file, flow_hash, pid, host, cancel_requested, updated_at`;

/** The statements for the tables in `schema` (a name checked by `parseStoreUrl`). */
export function statements(schema: string) {
  const s = `"${schema}"`;
  return {
    /** Creates the runs a batch starts: ids, flows, params, start times; the time now. */
    insertStarted: `INSERT INTO ${s}.runs (run_id, flow, status, params, started_at, updated_at)
      SELECT t.run_id, t.flow, 'running', t.params, t.started_at, $5::timestamptz
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        AS t(run_id, flow, params, started_at)
      ON CONFLICT (run_id) DO NOTHING`,

    /**
     * One statement for a whole batch: for each run ($1 ids, $2 event counts, $3..$6 its new
     * state or nulls) raise its journal_seq and set its state, then write the journal rows ($9
     * run ids, $10/$11 positions in the run's events, $12 texts, $13 format) numbered from
     * the seq before. updated_at ($8, now) moves when the state changes, when the run is not
     * running, or when it is older than $7 (the heartbeat). Returns the runs found: one
     * missing means its events were not written, and the caller rolls back.
     */
    append: `WITH b AS (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[],
          $5::text[], $6::text[]) AS b(run_id, n, status, finished_at, error, result)
      ), upd AS (
        UPDATE ${s}.runs r SET
          journal_seq = r.journal_seq + b.n,
          status = coalesce(b.status, r.status),
          finished_at = CASE WHEN b.status IS NULL THEN r.finished_at ELSE b.finished_at END,
          error = CASE WHEN b.status IS NULL THEN r.error ELSE b.error END,
          result = CASE WHEN b.status IS NULL THEN r.result ELSE b.result END,
          updated_at = CASE
            WHEN b.status IS NOT NULL OR r.status <> 'running' OR r.updated_at <= $7::timestamptz
            THEN $8::timestamptz ELSE r.updated_at END
        FROM b WHERE r.run_id = b.run_id
        RETURNING r.run_id, r.journal_seq - b.n AS base
      ), ins AS (
        INSERT INTO ${s}.journal (run_id, seq, last, format, events)
        SELECT j.run_id, upd.base + j.first, upd.base + j.last, $13::smallint, j.events
        FROM unnest($9::text[], $10::bigint[], $11::bigint[], $12::text[])
          AS j(run_id, first, last, events)
        JOIN upd ON upd.run_id = j.run_id
      )
      SELECT run_id FROM upd`,

    createRun: `INSERT INTO ${s}.runs (${RUN_COLUMNS})
      VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8, $9, $10, $11::integer,
        $12, $13, $14::timestamptz)
      ON CONFLICT (run_id) DO NOTHING
      RETURNING run_id`,

    getRun: `SELECT ${RUN_COLUMNS} FROM ${s}.runs WHERE run_id = $1`,

    listRuns: `SELECT ${RUN_COLUMNS} FROM ${s}.runs
      WHERE ($1::text IS NULL OR flow = $1) AND ($2::text IS NULL OR status = $2)
        AND ($3::timestamptz IS NULL OR started_at < $3)
      ORDER BY started_at DESC, created DESC
      LIMIT $4::bigint`,

    /** A run's task snapshot (kind 0) and the journal rows after it (kind 1): one snapshot. */
    foldRows: `SELECT 0 AS kind, seq, format, tasks AS text
        FROM ${s}.task_snapshots WHERE run_id = $1
      UNION ALL
      SELECT 1, j.seq, j.format, j.events FROM ${s}.journal j
        WHERE j.run_id = $1
          AND j.seq > coalesce((SELECT seq FROM ${s}.task_snapshots WHERE run_id = $1), 0)
      ORDER BY kind, seq`,

    eventRows: `SELECT seq, format, events FROM ${s}.journal
      WHERE run_id = $1 AND last > $2::bigint ORDER BY seq`,

    reopen: `UPDATE ${s}.runs SET status = 'running', finished_at = NULL, error = NULL,
        result = NULL, cancel_requested = false, pid = coalesce($2::integer, pid),
        host = coalesce($3, host), flow_hash = coalesce($4, flow_hash),
        updated_at = $5::timestamptz
      WHERE run_id = $1
      RETURNING journal_seq`,

    putSnapshot: `INSERT INTO ${s}.task_snapshots (run_id, seq, format, tasks)
      VALUES ($1, $2::bigint, $3::smallint, $4)
      ON CONFLICT (run_id) DO UPDATE
        SET seq = excluded.seq, format = excluded.format, tasks = excluded.tasks`,

    requestCancel: `UPDATE ${s}.runs SET cancel_requested = true, updated_at = $2::timestamptz
      WHERE run_id = $1 AND status = 'running'`,

    isCancelRequested: `SELECT cancel_requested FROM ${s}.runs WHERE run_id = $1`,

    pruneRuns: `DELETE FROM ${s}.runs
      WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < $1::timestamptz`,

    cacheGet: `SELECT value, expires_at FROM ${s}.cache WHERE key = $1`,

    cacheSet: `INSERT INTO ${s}.cache (key, value, expires_at) VALUES ($1, $2, $3::bigint)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,

    cacheClear: `DELETE FROM ${s}.cache`,

    stateGet: `SELECT key, value, expires_at FROM ${s}.state WHERE scope = $1 AND key = $2
      AND (expires_at IS NULL OR expires_at > $3::bigint)`,

    stateList: `SELECT key, value, expires_at FROM ${s}.state WHERE scope = $1
      AND (expires_at IS NULL OR expires_at > $2::bigint) ORDER BY key COLLATE "C"`,

    statePut: `INSERT INTO ${s}.state (scope, key, value, expires_at)
      VALUES ($1, $2, $3, $4::bigint)
      ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,
        expires_at = excluded.expires_at`,

    stateExpire: `DELETE FROM ${s}.state WHERE scope = $1 AND expires_at <= $2::bigint`,

    /** Inserts unless the key is there: the row returned is the new one, none when it was. */
    statePutNew: `INSERT INTO ${s}.state (scope, key, value, expires_at)
      VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (scope, key) DO NOTHING RETURNING key`,

    stateDelete: `DELETE FROM ${s}.state WHERE scope = $1 AND key = $2`,

    deleteRun: `DELETE FROM ${s}.runs WHERE run_id = $1`,

    importRun: `INSERT INTO ${s}.runs (${RUN_COLUMNS}, journal_seq)
      VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8, $9, $10, $11::integer,
        $12, $13, $14::timestamptz, $15::bigint)`,

    importJournal: `INSERT INTO ${s}.journal (run_id, seq, last, format, events)
      SELECT $1, t.seq, t.last, $5::smallint, t.events
      FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS t(seq, last, events)`,

    /** Cache entries from another store: one already here is kept unless it expires sooner. */
    importCache: `INSERT INTO ${s}.cache (key, value, expires_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
        WHERE ${s}.cache.expires_at < excluded.expires_at`,
  };
}

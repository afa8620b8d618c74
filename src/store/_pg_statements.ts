/**
 * The PostgreSQL store's statements, with its schema written in (every table is qualified, so
 * no connection's `search_path` matters). Each is prepared once per connection.
 *
 * @module
 */

/** The statements of a store whose tables live in one schema. */
export type PgStatements = ReturnType<typeof statements>;

const RUN_COLUMNS = `run_id, flow, status, params, started_at, finished_at, error, result,
  flow_file, flow_hash, pid, host, cancel_requested, updated_at, retry_of`;

/**
 * A run's columns and, while it runs, its live lease's holder (owner_pid, owner_host,
 * owner_since; null when nobody holds it: the run is interrupted). `r` is the run, `l` its
 * lease.
 */
function runWithOwner(s: string): string {
  return `SELECT r.run_id, r.flow, r.status, r.params, r.started_at, r.finished_at, r.error,
      r.result, r.flow_file, r.flow_hash, r.pid, r.host, r.cancel_requested, r.updated_at,
      r.retry_of, l.pid AS owner_pid, l.host AS owner_host, l.since AS owner_since
    FROM ${s}.runs r LEFT JOIN ${s}.leases l
      ON l.run_id = r.run_id AND r.status = 'running' AND l.expires_at > now()`;
}

/** A lease's end: now plus a number of milliseconds ($n), on the server's clock. */
const expiry = (n: number) => `now() + $${n}::bigint * interval '1 millisecond'`;

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
     * state or nulls, $14 the token of this store's lease on it or null) raise its journal_seq
     * and set its state, then write the journal rows ($9 run ids, $10/$11 positions in the
     * run's events, $12 texts, $13 format) numbered from the seq before. updated_at ($8, now)
     * moves when the state changes, when the run is not running, or when it is older than $7
     * (the heartbeat).
     *
     * Fencing: a run given a token is written only while its lease still has that token. The
     * lease row is locked (FOR SHARE) until the commit, so a claim that would take the lease
     * over waits for this append, or this append sees the claim's new token and writes
     * nothing. Returns each run with whether it was written and whether it was fenced off:
     * one not written means nothing may be, and the caller rolls back.
     */
    append: `WITH b AS (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[],
          $5::text[], $6::text[], $14::bigint[])
          AS b(run_id, n, status, finished_at, error, result, token)
      ), f AS MATERIALIZED (
        SELECT l.run_id FROM ${s}.leases l JOIN b ON l.run_id = b.run_id AND l.token = b.token
        FOR SHARE OF l
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
          AND (b.token IS NULL OR b.run_id IN (SELECT run_id FROM f))
        RETURNING r.run_id, r.journal_seq - b.n AS base
      ), ins AS (
        INSERT INTO ${s}.journal (run_id, seq, last, format, events)
        SELECT j.run_id, upd.base + j.first, upd.base + j.last, $13::smallint, j.events
        FROM unnest($9::text[], $10::bigint[], $11::bigint[], $12::text[])
          AS j(run_id, first, last, events)
        JOIN upd ON upd.run_id = j.run_id
      )
      SELECT b.run_id, upd.run_id IS NOT NULL AS written,
        b.token IS NOT NULL AND b.run_id NOT IN (SELECT run_id FROM f) AS fenced
      FROM b LEFT JOIN upd ON upd.run_id = b.run_id`,

    createRun: `INSERT INTO ${s}.runs (${RUN_COLUMNS})
      VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7, $8, $9, $10, $11::integer,
        $12, $13, $14::timestamptz, $15)
      ON CONFLICT (run_id) DO NOTHING
      RETURNING run_id`,

    getRun: `${runWithOwner(s)} WHERE r.run_id = $1`,

    /**
     * Runs newest first: $1 flow, $2 status (`interrupted`: running with no live lease), $3
     * started before, $4 limit, $5 id prefix (compared as text, no pattern), $6 retry of.
     */
    listRuns: `${runWithOwner(s)}
      WHERE ($1::text IS NULL OR r.flow = $1)
        AND ($2::text IS NULL OR (r.status = CASE $2 WHEN 'interrupted' THEN 'running' ELSE $2 END
          AND CASE WHEN r.status = 'running' AND l.run_id IS NULL THEN 'interrupted'
            ELSE r.status END = $2))
        AND ($3::timestamptz IS NULL OR r.started_at < $3)
        AND ($5::text IS NULL OR left(r.run_id, length($5)) = $5)
        AND ($6::text IS NULL OR r.retry_of = $6)
      ORDER BY r.started_at DESC, r.created DESC
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

    /**
     * Sets run $1 running again ($2 pid, $3 host, $4 flow hash, $5 now); with a token ($6),
     * only while this store's lease on it still has it (see append). Returns the run's
     * journal_seq, and whether it was fenced off (then nothing changed).
     */
    reopen: `WITH f AS MATERIALIZED (
        SELECT run_id FROM ${s}.leases WHERE run_id = $1 AND token = $6::bigint FOR SHARE
      ), upd AS (
        UPDATE ${s}.runs SET status = 'running', finished_at = NULL, error = NULL,
          result = NULL, cancel_requested = false, pid = coalesce($2::integer, pid),
          host = coalesce($3, host), flow_hash = coalesce($4, flow_hash),
          updated_at = $5::timestamptz
        WHERE run_id = $1 AND ($6::bigint IS NULL OR EXISTS (SELECT 1 FROM f))
        RETURNING journal_seq
      )
      SELECT (SELECT journal_seq FROM upd) AS journal_seq,
        $6::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM f) AS fenced`,

    putSnapshot: `INSERT INTO ${s}.task_snapshots (run_id, seq, format, tasks)
      VALUES ($1, $2::bigint, $3::smallint, $4)
      ON CONFLICT (run_id) DO UPDATE
        SET seq = excluded.seq, format = excluded.format, tasks = excluded.tasks`,

    requestCancel: `UPDATE ${s}.runs SET cancel_requested = true, updated_at = $2::timestamptz
      WHERE run_id = $1 AND status = 'running'`,

    isCancelRequested: `SELECT cancel_requested FROM ${s}.runs WHERE run_id = $1`,

    /** Deletes finished runs (and the expired leases left of them); returns how many. */
    pruneRuns: `WITH gone AS (
        DELETE FROM ${s}.runs
        WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < $1::timestamptz
        RETURNING run_id
      ), freed AS (
        DELETE FROM ${s}.leases WHERE run_id IN (SELECT run_id FROM gone) AND expires_at <= now()
      )
      SELECT count(*)::int AS n FROM gone`,

    /**
     * Claims run $1 for owner $2 ($3 pid, $4 host, $5 since) for $6 ms: takes its lease with a
     * new token when there is none or it expired. Returns the token, or nothing when the lease
     * is held.
     */
    claim: `INSERT INTO ${s}.leases AS l (run_id, token, owner_id, pid, host, since, expires_at)
      VALUES ($1, nextval('${s}.lease_tokens'), $2, $3::integer, $4, $5, ${expiry(6)})
      ON CONFLICT (run_id) DO UPDATE SET token = excluded.token, owner_id = excluded.owner_id,
        pid = excluded.pid, host = excluded.host, since = excluded.since,
        expires_at = excluded.expires_at
      WHERE l.expires_at <= now()
      RETURNING token`,

    /** Who holds run $1's lease (live: whether it has not expired), if anyone. */
    holder: `SELECT pid, host, since, token, expires_at > now() AS live
      FROM ${s}.leases WHERE run_id = $1`,

    /**
     * The heartbeat: leases ($1 runs, $2 tokens) last $3 ms more, those still held with the
     * token (an expired one too: nobody took it). Returns the runs renewed.
     */
    renew: `UPDATE ${s}.leases l SET expires_at = ${expiry(3)}
      FROM unnest($1::text[], $2::bigint[]) AS h(run_id, token)
      WHERE l.run_id = h.run_id AND l.token = h.token
      RETURNING l.run_id`,

    /** Gives up leases ($1 runs, $2 tokens) still held with the token. */
    release: `DELETE FROM ${s}.leases l
      USING unnest($1::text[], $2::bigint[]) AS h(run_id, token)
      WHERE l.run_id = h.run_id AND l.token = h.token`,

    /**
     * Records a process group ($1 run, $2 host, $3 pgid, $4 task, $5 identity, $6 start),
     * again replacing it; with a token ($7), only while this store's lease has it (nothing
     * returned: fenced off).
     */
    recordProcess: `INSERT INTO ${s}.processes (run_id, host, pgid, task_id, identity, started_at)
      SELECT $1, $2, $3::integer, $4, $5, $6::timestamptz
      WHERE $7::bigint IS NULL OR EXISTS (
        SELECT 1 FROM ${s}.leases WHERE run_id = $1 AND token = $7::bigint FOR SHARE)
      ON CONFLICT (run_id, host, pgid) DO UPDATE SET task_id = excluded.task_id,
        identity = excluded.identity, started_at = excluded.started_at
      RETURNING pgid`,

    forgetProcess:
      `DELETE FROM ${s}.processes WHERE run_id = $1 AND host = $2 AND pgid = $3::integer`,

    processes: `SELECT run_id, task_id, host, pgid, identity, started_at FROM ${s}.processes
      WHERE run_id = $1 ORDER BY started_at, host, pgid`,

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
        $12, $13, $14::timestamptz, $15, $16::bigint)`,

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

/**
 * The PostgreSQL store's schema and its forward migrations. The store's tables live in one
 * schema (`orchestra`, or `?schema=NAME` in the URL); its `schema_version` table has a row per
 * migration applied. Migrating takes an advisory lock, so processes that start together on a
 * new database migrate it once, and runs every missing migration in one transaction. A schema
 * written by a newer Orchestra (a higher version) is refused rather than misread.
 *
 * To change the schema, append a migration; never edit one that has shipped.
 *
 * @module
 */

import type postgres from "postgres";
import { StoreVersionError } from "./store.ts";
import { type Queryable, StoreConnectionError, type StoreUrl } from "./_pg_connection.ts";

/** One step of the schema: SQL run with the store's schema first on the search path. */
export interface PgMigration {
  /** What it changes. */
  description: string;
  /** The statements. */
  sql: string;
}

/** Every migration, in order: migration `i` brings the schema to version `i + 1`. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    description: "runs, journal, task snapshots, cache",
    sql: `
      -- JSON values (params, results, journal events) are kept as JSON text, not jsonb: jsonb
      -- cannot hold "\\u0000" and rewrites numbers and key order, and a value must come back
      -- exactly as it went in. Times are timestamptz (milliseconds, as the API gives them).
      CREATE TABLE runs (
        run_id text PRIMARY KEY,
        -- The order runs were created in: listRuns sorts runs that started at once by it.
        created bigint GENERATED ALWAYS AS IDENTITY,
        flow text NOT NULL,
        status text NOT NULL,
        params text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        error text,
        result text,
        flow_file text,
        flow_hash text,
        pid integer,
        host text,
        cancel_requested boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL,
        -- The seq of the run's last journaled event. Each append raises it in the statement
        -- that journals the events, so the row's lock orders a run's appends.
        journal_seq bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX runs_by_start ON runs (started_at DESC, created DESC);
      CREATE INDEX runs_by_flow ON runs (flow, started_at DESC, created DESC);
      CREATE INDEX runs_by_status ON runs (status, started_at DESC, created DESC);
      CREATE INDEX runs_by_finish ON runs (finished_at) WHERE finished_at IS NOT NULL;

      -- One row per append and run (a long batch takes several): events holds the events
      -- seq .. last in the compact format of src/store/_journal_codec.ts, results included.
      CREATE TABLE journal (
        run_id text NOT NULL REFERENCES runs ON DELETE CASCADE,
        seq bigint NOT NULL,
        last bigint NOT NULL,
        format smallint NOT NULL,
        events text NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      -- A run's task rows are its journal folded (src/store/_journal.ts). A snapshot holds
      -- them as of journal seq "seq" (src/store/_task_blocks.ts); a read folds the journal after
      -- it. Written when a reopen resets tasks, and by store copy.
      CREATE TABLE task_snapshots (
        run_id text PRIMARY KEY REFERENCES runs ON DELETE CASCADE,
        seq bigint NOT NULL,
        format smallint NOT NULL,
        tasks text NOT NULL
      );

      -- value is NULL for a cached undefined; expires_at is in ms since the epoch.
      CREATE TABLE cache (
        key text PRIMARY KEY,
        value text,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    description: "run leases with fencing tokens; retries linked to their original; process groups",
    sql: `
      -- orchestra retry makes a new run; retry_of names the run it came from.
      ALTER TABLE runs ADD COLUMN retry_of text;
      CREATE INDEX runs_by_retry_of ON runs (retry_of, started_at DESC, created DESC)
        WHERE retry_of IS NOT NULL;

      -- Who runs a run: a lease its owner renews (a heartbeat) before expires_at, which the
      -- server's clock alone decides, whatever the owners' clocks say. A claim takes a lease
      -- that does not exist or has expired, with a new token from lease_tokens (so tokens only
      -- grow, also across a release, which deletes the row); every write of the run by its
      -- owner checks its token, so an owner whose lease was taken over cannot write again.
      -- No foreign key: a run is claimed before its row is written. owner_id tells apart two
      -- stores of one process; pid, host and since (as the owner gave it) are for messages.
      CREATE SEQUENCE lease_tokens;
      CREATE TABLE leases (
        run_id text PRIMARY KEY,
        token bigint NOT NULL,
        owner_id text NOT NULL,
        pid integer NOT NULL,
        host text NOT NULL,
        since text NOT NULL,
        expires_at timestamptz NOT NULL
      );

      -- The process groups of a run's tasks while they run (a row is deleted when its group
      -- ended): whoever resumes the run after its owner died stops what is left of them.
      -- identity tells the group's leader from a later process with the same pid.
      CREATE TABLE processes (
        run_id text NOT NULL REFERENCES runs ON DELETE CASCADE,
        host text NOT NULL,
        pgid integer NOT NULL,
        task_id text NOT NULL,
        identity text NOT NULL,
        started_at timestamptz NOT NULL,
        PRIMARY KEY (run_id, host, pgid)
      );
    `,
  },
  {
    description: "keyed state: small values by scope and key, with an optional expiry",
    sql: `
      -- orchestra serve's schedules (last tick, paused), webhook deliveries (with a TTL) and
      -- the runs it owns. expires_at is ms since the epoch; NULL never expires.
      CREATE TABLE state (
        scope text NOT NULL,
        key text NOT NULL,
        value text,
        expires_at bigint,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX state_by_expiry ON state (scope, expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION: number = PG_MIGRATIONS.length;

/** One migration that was applied. */
export interface AppliedMigration {
  /** The version it brought the schema to. */
  version: number;
  /** What it changed. */
  description: string;
}

/** What {@linkcode migrate} did. */
export interface MigrationReport {
  /** The schema migrated. */
  schema: string;
  /** Its version before. */
  from: number;
  /** Its version after. */
  to: number;
  /** The migrations applied, in order (none when it was up to date). */
  applied: AppliedMigration[];
}

/**
 * A PostgreSQL store written by a newer Orchestra.
 *
 * @example
 * ```ts
 * import { PostgresVersionError } from "./postgres_migrations.ts";
 * const e = new PostgresVersionError("postgres://ada@db/app", "orchestra", 3, 1);
 * console.assert(e.found === 3 && e.message.includes("version 3"));
 * ```
 */
export class PostgresVersionError extends StoreVersionError {
  /** The schema. */
  readonly schema: string;
  /** Creates the error. */
  constructor(url: string, schema: string, found: number, supported: number) {
    super(url, found, supported);
    this.name = "PostgresVersionError";
    this.schema = schema;
    this.message = `Cannot use the PostgreSQL store "${url}": its schema "${schema}" is ` +
      `version ${found}, but this Orchestra supports up to version ${supported}; upgrade ` +
      `Orchestra (every process sharing the database needs the newer one)`;
  }
}

/** `"name"`: a schema name checked by `parseStoreUrl`, quoted for SQL. */
function quoted(schema: string): string {
  return `"${schema}"`;
}

/** The schema's version: the number of migrations applied to it (0 for none, or no schema). */
export async function schemaVersion(sql: Queryable, schema: string): Promise<number> {
  const [{ table }] = await sql.unsafe("SELECT to_regclass($1) AS table", [
    `${quoted(schema)}.schema_version`,
  ]);
  if (table === null) return 0;
  const [{ v }] = await sql.unsafe(
    `SELECT coalesce(max(version), 0)::int AS v FROM ${quoted(schema)}.schema_version`,
  );
  return v as number;
}

// The first key of the migration lock ("ORCH"); the second is the schema's hash.
const LOCK_KEY = 0x4f524348;

/**
 * Brings the store's schema up to date; does nothing (and needs no right to create anything)
 * when it is. Throws {@linkcode PostgresVersionError} for a schema newer than this code.
 */
export async function migrate(
  sql: postgres.Sql,
  u: StoreUrl,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<MigrationReport> {
  const schema = u.schema;
  const check = (version: number) => {
    if (version > migrations.length) {
      throw new PostgresVersionError(u.shown, schema, version, migrations.length);
    }
    return version;
  };
  const before = check(await schemaVersion(sql, schema));
  if (before === migrations.length) return { schema, from: before, to: before, applied: [] };
  try {
    return await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY}, hashtext(${schema}))`;
      const [exists] = await tx`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`;
      if (!exists) await tx.unsafe(`CREATE SCHEMA ${quoted(schema)}`);
      await tx.unsafe(`SET LOCAL search_path TO ${quoted(schema)}`);
      await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_version (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      // Another process may have migrated while this one waited for the lock.
      const from = check(await schemaVersion(tx, schema));
      const applied: AppliedMigration[] = [];
      for (let v = from; v < migrations.length; v++) {
        await tx.unsafe(migrations[v].sql);
        const version = v + 1;
        const description = migrations[v].description;
        await tx`INSERT INTO schema_version (version, description)
          VALUES (${version}, ${description})`;
        applied.push({ version, description });
      }
      return { schema, from, to: migrations.length, applied };
    });
  } catch (e) {
    if ((e as { code?: unknown }).code === "42501") {
      throw new StoreConnectionError(
        u.shown,
        `user "${u.user}" may not create the schema "${schema}" or its tables (${
          (e as Error).message
        }); grant it CREATE on the database, or have the database's owner run ` +
          `orchestra store migrate`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * The schema's version, which must be this code's (for opening without migrating): a schema
 * behind is a `StoreConnectionError` that says to migrate it, one ahead a
 * {@linkcode PostgresVersionError}.
 */
export async function checkVersion(sql: Queryable, u: StoreUrl): Promise<MigrationReport> {
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

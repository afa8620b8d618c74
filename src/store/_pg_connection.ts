/**
 * Connecting the PostgreSQL store: its URL (with the store's own `schema` parameter and TLS
 * through `sslmode` and `sslrootcert`), the `npm:postgres` client, and one clear line for each
 * way a connection fails, with the password masked.
 *
 * @module
 */

import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { isIP } from "node:net";
import postgres from "postgres";
import { maskPassword, maskPasswordIn } from "../core/connection_url.ts";
import { errorMessage, OrchestraError } from "../core/errors.ts";

/** The schema the store's tables live in unless the URL says `?schema=NAME`. */
export const DEFAULT_SCHEMA = "orchestra";

/** The `sslmode` values understood, as in libpq. */
export const SSL_MODES = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
] as const;

/** One of {@linkcode SSL_MODES}. */
export type SslMode = typeof SSL_MODES[number];

/** A store URL taken apart. */
export interface StoreUrl {
  /** The URL as given. */
  url: string;
  /** The URL with its password masked: what messages show. */
  shown: string;
  /** The URL handed to the driver (without the parameters the store reads itself). */
  driverUrl: string;
  /** The schema holding the store's tables. */
  schema: string;
  /** TLS: `prefer` (as libpq: TLS when the server offers it, unverified) unless the URL says. */
  sslmode: SslMode;
  /** A CA certificate file to verify the server with (`verify-ca`, `verify-full`). */
  sslrootcert?: string;
  /** Seconds to wait for a connection (`connect_timeout`), when the URL says. */
  connectTimeoutSeconds?: number;
  /** Seconds a run's lease lasts without a heartbeat (`lease_timeout`), when the URL says. */
  leaseTimeoutSeconds?: number;
  /** The server's host, for messages. */
  host: string;
  /** The server's port. */
  port: number;
  /** The user connecting. */
  user: string;
  /** The database. */
  database: string;
}

/**
 * The PostgreSQL store cannot be used: unreachable, refused, a missing database or schema, bad
 * TLS. The message is one line that names the (masked) URL, says what failed and how to fix it.
 *
 * @example
 * ```ts
 * import { StoreConnectionError } from "./_pg_connection.ts";
 * const e = new StoreConnectionError("postgres://ada:***@db/orchestra", "connection refused");
 * console.assert(e.message.startsWith('Cannot use the PostgreSQL store "postgres://ada:***@db'));
 * ```
 */
export class StoreConnectionError extends OrchestraError {
  /** The store's URL, password masked. */
  readonly url: string;
  /** Creates the error; `problem` completes "Cannot use the PostgreSQL store URL: …". */
  constructor(url: string, problem: string, options?: ErrorOptions) {
    super(`Cannot use the PostgreSQL store "${url}": ${problem}`, options);
    this.name = "StoreConnectionError";
    this.url = url;
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL's parameters the store reads itself (the driver would send them as settings). */
const OWN_PARAMS = ["schema", "sslmode", "sslrootcert", "connect_timeout", "lease_timeout"];

/** The shortest and longest lease a store accepts, in seconds. */
export const LEASE_TIMEOUT_RANGE: readonly [number, number] = [0.1, 86_400];

/**
 * What is wrong with a lease timeout in seconds (the URL's `lease_timeout`, or the store
 * option), or undefined when it is fine.
 *
 * @example
 * ```ts
 * import { leaseTimeoutProblem } from "./_pg_connection.ts";
 * console.assert(leaseTimeoutProblem(15) === undefined);
 * console.assert(leaseTimeoutProblem(0)?.startsWith("must be a number of seconds"));
 * ```
 */
export function leaseTimeoutProblem(seconds: number): string | undefined {
  const [min, max] = LEASE_TIMEOUT_RANGE;
  return Number.isFinite(seconds) && seconds >= min && seconds <= max
    ? undefined
    : `must be a number of seconds from ${min} to ${max} (15 when not given)`;
}

/**
 * Takes a store URL apart; a `StoreConnectionError` says what is wrong with a bad one.
 *
 * @example
 * ```ts
 * import { parseStoreUrl } from "./_pg_connection.ts";
 * const u = parseStoreUrl("postgres://ada:pw@db:6543/app?schema=ci_1&sslmode=require");
 * console.assert(u.schema === "ci_1" && u.sslmode === "require" && u.port === 6543);
 * console.assert(u.driverUrl === "postgres://ada:pw@db:6543/app");
 * console.assert(u.shown === "postgres://ada:***@db:6543/app?schema=ci_1&sslmode=require");
 * ```
 */
export function parseStoreUrl(url: string): StoreUrl {
  const shown = maskPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreConnectionError(
      shown,
      "it is not a URL; write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new StoreConnectionError(
      shown,
      `the scheme must be postgres:// or postgresql://, not ${parsed.protocol}//`,
    );
  }
  const params = parsed.searchParams;
  const schema = params.get("schema") ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreConnectionError(
      shown,
      `schema=${JSON.stringify(schema)} must be a lower-case SQL name (letters, digits, _)`,
    );
  }
  const sslmode = (params.get("sslmode") ?? "prefer") as SslMode;
  if (!SSL_MODES.includes(sslmode)) {
    throw new StoreConnectionError(
      shown,
      `sslmode=${JSON.stringify(sslmode)} is not one of ${SSL_MODES.join(", ")}`,
    );
  }
  const sslrootcert = params.get("sslrootcert") ?? undefined;
  const timeout = params.get("connect_timeout");
  if (timeout !== null && !/^\d+$/.test(timeout)) {
    throw new StoreConnectionError(
      shown,
      `connect_timeout=${JSON.stringify(timeout)} must be a whole number of seconds`,
    );
  }
  const lease = params.get("lease_timeout");
  if (lease !== null) {
    const problem = leaseTimeoutProblem(/^\d+(\.\d+)?$/.test(lease) ? Number(lease) : NaN);
    if (problem) {
      throw new StoreConnectionError(shown, `lease_timeout=${JSON.stringify(lease)} ${problem}`);
    }
  }
  // The store reads these itself; the driver would send them to the server as settings.
  for (const own of OWN_PARAMS) params.delete(own);
  const driverUrl = parsed.href.replace(/\?$/, "");
  return {
    url,
    shown,
    driverUrl,
    schema,
    sslmode,
    ...(sslrootcert === undefined ? {} : { sslrootcert }),
    ...(timeout === null ? {} : { connectTimeoutSeconds: Number(timeout) }),
    ...(lease === null ? {} : { leaseTimeoutSeconds: Number(lease) }),
    host: parsed.hostname || "localhost",
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) ||
      decodeURIComponent(parsed.username),
  };
}

/** A client or a transaction: what the store's queries need of either. */
export type Queryable = Pick<postgres.Sql, "unsafe">;

/** How the store's client connects. */
export interface ConnectOptions {
  /** At most this many connections. */
  max: number;
  /** Seconds to wait for a connection before failing. */
  connectTimeoutSeconds: number;
  /** `off` for `durability: normal`: commits do not wait for the WAL to be flushed. */
  synchronousCommit: "on" | "off";
  /**
   * Milliseconds after which the server ends a session whose transaction waits on its client
   * (`idle_in_transaction_session_timeout`): a paused or cut-off owner must not keep the row
   * locks of a half-done append, which would keep its lease from being taken over.
   */
  idleInTransactionMs: number;
}

/** The `ssl` option of the driver for the URL's `sslmode`. */
async function tlsOption(u: StoreUrl): Promise<unknown> {
  switch (u.sslmode) {
    case "disable":
      return false;
    case "allow": // the driver has no plain-first mode: TLS when offered, like prefer
    case "prefer":
      return "prefer";
    case "require":
      // Encrypted, not verified: libpq's meaning of require.
      return "require";
  }
  let ca: string | undefined;
  if (u.sslrootcert !== undefined) {
    try {
      ca = await Deno.readTextFile(u.sslrootcert);
    } catch (e) {
      throw new StoreConnectionError(
        u.shown,
        `cannot read sslrootcert "${u.sslrootcert}": ${errorMessage(e)}`,
      );
    }
  }
  const servername = isIP(u.host) ? undefined : u.host;
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    ...(servername === undefined ? {} : { servername }),
    // verify-ca checks the chain only; verify-full also that the certificate names the host.
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      u.sslmode === "verify-full" ? checkServerIdentity(u.host, cert) : undefined,
  };
}

/** A client for the URL; it connects on its first query. */
export async function connect(u: StoreUrl, options: ConnectOptions): Promise<postgres.Sql> {
  return postgres(u.driverUrl, {
    max: options.max,
    connect_timeout: options.connectTimeoutSeconds,
    ssl: await tlsOption(u) as postgres.Options<Record<string, never>>["ssl"],
    onnotice: () => {},
    connection: {
      application_name: "orchestra",
      synchronous_commit: options.synchronousCommit,
      idle_in_transaction_session_timeout: options.idleInTransactionMs,
    },
    // Prepared statements make each of the store's few queries parse once per connection.
    prepare: true,
  });
}

const CERT_ERRORS =
  /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME|HOSTNAME/;

/**
 * What failed, as the second half of a {@linkcode StoreConnectionError}'s line, or undefined
 * for an error that is not about the connection (an SQL error).
 */
export function connectionProblem(e: unknown, u: StoreUrl): string | undefined {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === "string" ? err.code : "";
  const at = `${u.host}:${u.port}`;
  const tls = u.sslmode === "require" || u.sslmode === "verify-ca" || u.sslmode === "verify-full";
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused at ${at}; is PostgreSQL running and listening there?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `the host "${u.host}" was not found; check the host name in the URL`;
    case "CONNECT_TIMEOUT":
      return `no answer from ${at} within the connect timeout; is the address right, and ` +
        `does a firewall let it through?`;
    case "ECONNRESET":
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
      return tls
        ? `the server at ${at} closed the connection during the TLS handshake ` +
          `(sslmode=${u.sslmode}); does it accept TLS? For a server without TLS use ` +
          `sslmode=disable`
        : `the server at ${at} closed the connection`;
    case "28P01":
      return `password authentication failed for user "${u.user}"; check the password in ` +
        `the URL (or PGPASSWORD)`;
    case "28000":
      return `the server refused user "${u.user}" on database "${u.database}" ` +
        `(${maskPasswordIn(String(err.message), u.url)}); see its pg_hba.conf`;
    case "3D000":
      return `the database "${u.database}" does not exist; create it (createdb ` +
        `${u.database}, or CREATE DATABASE ${u.database}) or name another in the URL`;
    case "25P03":
      return `the server ended this process's session: it left a transaction open for longer ` +
        `than a run's lease (lease_timeout), as a paused or overloaded process does`;
    case "57P03":
      return `the server at ${at} is starting up or shutting down; try again in a moment`;
    case "53300":
      return `the server at ${at} has no free connections (too many clients)`;
    case "SASL_SIGNATURE_MISMATCH":
      return `the server's SCRAM signature did not match: is something between Orchestra and ` +
        `the server?`;
  }
  if (CERT_ERRORS.test(code)) {
    return `the server's TLS certificate was not accepted (${
      maskPasswordIn(String(err.message), u.url)
    }); name its CA with sslrootcert=FILE, or use sslmode=require to encrypt without verifying`;
  }
  return undefined;
}

/**
 * The error to throw for `e`: a {@linkcode StoreConnectionError} for a connection failure, `e`
 * itself otherwise.
 */
export function translate(e: unknown, u: StoreUrl): unknown {
  if (e instanceof StoreConnectionError) return e;
  const problem = connectionProblem(e, u);
  return problem === undefined ? e : new StoreConnectionError(u.shown, problem, { cause: e });
}

/** What `PostgresStore.info()` reports about the connection. */
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

/** The server and the connection, as the server reports them (all of the info but the schema's version). */
export async function serverInfo(
  sql: Queryable,
  u: StoreUrl,
): Promise<Omit<PostgresStoreInfo, "schemaVersion">> {
  const [r] = await sql.unsafe(
    `SELECT current_setting('server_version') AS version, current_user AS user,
       current_database() AS database, current_setting('synchronous_commit') AS sync,
       coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls`,
  );
  return {
    url: u.shown,
    serverVersion: String(r.version).split(" ")[0],
    tls: r.tls === true,
    user: r.user as string,
    database: r.database as string,
    schema: u.schema,
    synchronousCommit: r.sync as string,
  };
}

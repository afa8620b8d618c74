/**
 * The PostgreSQL server of the tests: `ORCHESTRA_TEST_POSTGRES` (set by `.ci/postgres.sh start`,
 * which `.ci/run` runs). Without it the PostgreSQL tests are registered as ignored, with one
 * line saying why, so that `deno task test` works without a server; with
 * `ORCHESTRA_REQUIRE_POSTGRES=1` (CI) a missing server fails instead.
 */

import postgres from "postgres";

/** The test server's URL, if there is one. */
export const POSTGRES_URL: string | undefined = Deno.env.get("ORCHESTRA_TEST_POSTGRES") ||
  undefined;

const required = Deno.env.get("ORCHESTRA_REQUIRE_POSTGRES") === "1";
let told = false;

/**
 * `Deno.test` for a test that needs the server: it gets the server's URL; without a server it
 * is ignored (or, when the server is required, fails).
 */
export function pgTest(name: string, fn: (url: string) => Promise<void>): void {
  if (POSTGRES_URL === undefined && !told && !required) {
    told = true;
    console.warn(
      "ORCHESTRA_TEST_POSTGRES is unset: the PostgreSQL tests are ignored " +
        '(start a server with: eval "$(.ci/postgres.sh start)")',
    );
  }
  Deno.test({
    name,
    ignore: POSTGRES_URL === undefined && !required,
    fn: () => {
      if (POSTGRES_URL === undefined) {
        throw new Error("ORCHESTRA_REQUIRE_POSTGRES=1 but ORCHESTRA_TEST_POSTGRES is unset");
      }
      return fn(POSTGRES_URL);
    },
  });
}

let counter = 0;

/** A schema name no other test uses. */
export function freshSchema(prefix = "t"): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${prefix}_${Deno.pid}_${++counter}_${random}`;
}

/** The URL with `?schema=NAME` (or `&schema=NAME`) added. */
export function withSchema(url: string, schema: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}schema=${schema}`;
}

/** Runs `fn` with a client of the test server (for checks and clean-up the store cannot do). */
export async function withClient<T>(
  url: string,
  fn: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Drops a schema and everything in it. */
export function dropSchema(url: string, schema: string): Promise<void> {
  return withClient(url, async (sql) => {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

/** Runs `fn` with the URL of a fresh schema, dropped afterwards. */
export async function withFreshSchema<T>(
  url: string,
  fn: (schemaUrl: string, schema: string) => Promise<T>,
): Promise<T> {
  const schema = freshSchema();
  try {
    return await fn(withSchema(url, schema), schema);
  } finally {
    await dropSchema(url, schema);
  }
}

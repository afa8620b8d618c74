/**
 * `orchestra store migrate` (bring a PostgreSQL store's schema up to date, saying what it did)
 * and `orchestra store copy --from DIR --to URL` (move a SQLite history into PostgreSQL).
 *
 * @module
 */

import { maskPassword } from "../../core/connection_url.ts";
import type { Settings } from "../../config/settings.ts";
import { PostgresStore, StoreConnectionError } from "../../store/postgres_store.ts";
import { SqliteStore, STATE_FILE } from "../../store/sqlite_store.ts";
import { copyStore, readSqliteCache } from "../../store/store_copy.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { storeErrorLine } from "../open_store.ts";
import { commandSettings, shownPath } from "./config.ts";

/** Options of `store`. */
export const STORE_OPTIONS = {
  config: { type: "string" },
  store: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Help of `store`. */
export const STORE_HELP = `Usage: orchestra store migrate [--store URL] [--json]
       orchestra store copy --from DIR [--to URL] [--json]

Manage a PostgreSQL state store (the store setting: --store, ORCHESTRA_STORE or store: in
orchestra.yaml, e.g. postgres://orchestra@db.internal:5432/orchestra?sslmode=require).

  migrate   Bring the store's schema up to date and print what was applied. Every
            command also does this when it opens the store; migrate does it ahead,
            e.g. as the database's owner. Running it again applies nothing.
  copy      Copy the SQLite history of the state dir DIR (runs, their tasks and
            journals, unexpired cached results) into the PostgreSQL store --to (default:
            the store setting). Copying again skips what is already there; a run that
            went on in DIR since is copied again; one that went on in PostgreSQL is kept
            and reported (exit 1).

Options:
      --store URL           The PostgreSQL store (for migrate)
      --from DIR            The state dir to copy from (its state.db)
      --to URL              The PostgreSQL store to copy to (default: the store setting)
      --json                Print what was done as JSON
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help

The password in a URL is shown as ***. Connection problems exit 2 with one line.

Examples:
  orchestra store migrate --store postgres://orchestra@127.0.0.1:5432/orchestra
  orchestra store copy --from ./.orchestra --to postgres://orchestra@127.0.0.1:5432/orchestra
`;

/** Runs `orchestra store migrate|copy`. */
export async function storeCommand(parsed: Parsed, io: Io): Promise<number> {
  const [sub, extra] = parsed.positionals;
  if (sub === undefined) {
    throw new UsageError("store", "missing subcommand: orchestra store migrate|copy");
  }
  if (sub !== "migrate" && sub !== "copy") {
    throw new UsageError("store", `unknown subcommand "${sub}"; the subcommands are migrate, copy`);
  }
  if (extra !== undefined) throw new UsageError("store", `unexpected argument "${extra}"`);
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  return sub === "migrate" ? await migrateCommand(parsed, io, settings) : await copyCommand(
    parsed,
    io,
    settings,
  );
}

/** Opens the PostgreSQL store at `url`, or prints one line and gives the exit code 2. */
async function openPostgres(
  url: string,
  settings: Settings,
  io: Io,
): Promise<PostgresStore | number> {
  try {
    return await PostgresStore.open(url, { durability: settings.durability });
  } catch (e) {
    io.stderr(storeErrorLine({ ...settings, store: url }, e));
    return 2;
  }
}

async function migrateCommand(parsed: Parsed, io: Io, settings: Settings): Promise<number> {
  if (parsed.values.from !== undefined || parsed.values.to !== undefined) {
    throw new UsageError("store", "--from and --to go with store copy");
  }
  if (settings.store === undefined) {
    throw new UsageError(
      "store",
      "store migrate needs a PostgreSQL store: --store postgres://USER@HOST:PORT/DATABASE " +
        "(or ORCHESTRA_STORE, or store: in orchestra.yaml); a SQLite state dir migrates " +
        "itself when it is opened",
    );
  }
  const store = await openPostgres(settings.store, settings, io);
  if (typeof store === "number") return store;
  try {
    const info = await store.info();
    const { from, to, applied } = store.migration;
    if (parsed.values.json) {
      io.stdout(
        JSON.stringify(
          {
            store: info.url,
            server: info.serverVersion,
            tls: info.tls,
            schema: info.schema,
            from,
            to,
            applied,
          },
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    const lines = [
      `PostgreSQL ${info.serverVersion}, database "${info.database}" as "${info.user}"` +
      `${info.tls ? " over TLS" : ""}: ${info.url}`,
      ...applied.map((m) => `Applied migration ${m.version}: ${m.description}`),
      applied.length
        ? `Schema "${info.schema}" is now at version ${to} (was ${from}).`
        : `Schema "${info.schema}" is up to date at version ${to}; nothing to apply.`,
    ];
    io.stdout(lines.join("\n") + "\n");
    return 0;
  } finally {
    await store.close();
  }
}

async function copyCommand(parsed: Parsed, io: Io, settings: Settings): Promise<number> {
  const fromDir = parsed.values.from;
  if (typeof fromDir !== "string" || fromDir === "") {
    throw new UsageError("store", "store copy needs --from DIR: the state dir to copy from");
  }
  const to = typeof parsed.values.to === "string" ? parsed.values.to : settings.store;
  if (to === undefined) {
    throw new UsageError(
      "store",
      "store copy needs --to postgres://USER@HOST:PORT/DATABASE (or the store setting)",
    );
  }
  if (!/^postgres(ql)?:\/\//.test(to)) {
    throw new UsageError(
      "store",
      `--to must be a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE), got "${
        maskPassword(to)
      }"`,
    );
  }
  const dir = fromDir.startsWith("/") ? fromDir : `${io.cwd.replace(/\/+$/, "")}/${fromDir}`;
  try {
    if (!(await Deno.stat(`${dir}/${STATE_FILE}`)).isFile) throw new Error("not a file");
  } catch {
    io.stderr(
      `error: there is no state store in ${fromDir} (no ${STATE_FILE}); --from names a state dir\n`,
    );
    return 2;
  }
  let source: SqliteStore;
  try {
    source = await SqliteStore.open(dir);
  } catch (e) {
    io.stderr(storeErrorLine({ ...settings, stateDir: dir, store: undefined }, e));
    return 2;
  }
  try {
    const target = await openPostgres(to, settings, io);
    if (typeof target === "number") return target;
    try {
      const report = await copyStore(source, target, { cache: readSqliteCache(dir, Date.now()) });
      const shownFrom = shownPath(io, dir, true);
      if (parsed.values.json) {
        io.stdout(
          JSON.stringify({ from: dir, to: target.url, ...report }, null, 2) + "\n",
        );
      } else {
        const { runs, cache } = report;
        const total = runs.copied + runs.updated;
        const notes = [
          runs.updated ? `${runs.updated} of them again, as they went on since` : "",
          runs.unchanged ? `${runs.unchanged} already there` : "",
          cache.unchanged ? `${cache.unchanged} cached already there` : "",
        ].filter((n) => n);
        io.stdout(
          `Copied ${plural(total, "run")} and ${
            plural(cache.copied, "cached result")
          } from ${shownFrom} to ${target.url}${notes.length ? ` (${notes.join("; ")})` : ""}\n`,
        );
      }
      for (const id of report.runs.conflicts) {
        io.stderr(
          `error: run ${id} went on in ${target.url} since it was copied; it was left as it is ` +
            `there (delete it there to copy it again)\n`,
        );
      }
      return report.runs.conflicts.length ? 1 : 0;
    } catch (e) {
      if (e instanceof StoreConnectionError) {
        io.stderr(`error: ${e.message}\n`);
        return 2;
      }
      throw e;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

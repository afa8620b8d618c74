/**
 * `orchestra cache clear`: empty the persistent cache in the state store: cached task results
 * and the authorization service's cached decisions, which share it.
 *
 * @module
 */

import { StoreCache } from "../../engine/cache.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { commandStore } from "../open_store.ts";
import { commandSettings, RECORDS_OPTIONS } from "./config.ts";

/** Options of `cache`. */
export const CACHE_OPTIONS = {
  ...RECORDS_OPTIONS,
  json: { type: "boolean" },
} as const;

/** Help of `cache`. */
export const CACHE_HELP = `Usage: orchestra cache clear [options]

Remove every entry of the state store's cache (SQLite in the state dir, or the PostgreSQL
store of --store): cached task results and the decisions of the authorization service.
Tasks declared with "cache: { ttl, key }" keep their results there across runs and
processes, and decisions are kept for the policy's cacheTtl; after a clear the tasks run
again and the service is asked again.

Options:
      --state-dir DIR       The state dir (default ./.orchestra)
      --store URL           A PostgreSQL store instead (postgres://user@host:port/db)
      --config FILE         Use this configuration file instead of searching for one
      --json                Print { cleared: N } as JSON (N counts both kinds)
  -h, --help                Show this help

Example:
  orchestra cache clear --state-dir ./.orchestra
`;

/** Runs `orchestra cache clear`. */
export async function cacheCommand(parsed: Parsed, io: Io): Promise<number> {
  const [sub, extra] = parsed.positionals;
  if (sub === undefined) throw new UsageError("cache", "missing subcommand: orchestra cache clear");
  if (sub !== "clear") {
    throw new UsageError("cache", `unknown subcommand "${sub}"; the only one is "clear"`);
  }
  if (extra !== undefined) throw new UsageError("cache", `unexpected argument "${extra}"`);
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const store = await commandStore(settings, io);
  if (typeof store === "number") return store;
  let cleared: number;
  try {
    cleared = await new StoreCache(store).clear();
  } finally {
    await store.close();
  }
  io.stdout(
    parsed.values.json
      ? JSON.stringify({ cleared }, null, 2) + "\n"
      : `Cleared ${cleared} cache ${
        cleared === 1 ? "entry" : "entries"
      } (task results and authorization decisions)\n`,
  );
  return 0;
}

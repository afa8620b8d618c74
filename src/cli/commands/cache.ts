/**
 * `orchestra cache clear`: empty the persistent result cache in the state store.
 *
 * @module
 */

import { StoreCache } from "../../engine/cache.ts";
import { SqliteStore } from "../../store/sqlite_store.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { commandSettings, STORE_OPTIONS } from "./config.ts";

/** Options of `cache`. */
export const CACHE_OPTIONS = {
  ...STORE_OPTIONS,
  json: { type: "boolean" },
} as const;

/** Help of `cache`. */
export const CACHE_HELP = `Usage: orchestra cache clear [options]

Remove every cached task result from the state dir's store. Tasks declared with
"cache: { ttl, key }" keep their results there across runs and processes; after a clear
they run again.

Options:
      --state-dir DIR       The state dir (default ./.orchestra)
      --config FILE         Use this configuration file instead of searching for one
      --json                Print { cleared: N } as JSON
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
  const { stateDir } = settings;
  let store: SqliteStore;
  try {
    store = await SqliteStore.open(stateDir);
  } catch (e) {
    throw new UsageError("cache", `cannot open the state store: ${(e as Error).message}`);
  }
  let cleared: number;
  try {
    cleared = await new StoreCache(store).clear();
  } finally {
    await store.close();
  }
  io.stdout(
    parsed.values.json
      ? JSON.stringify({ cleared }, null, 2) + "\n"
      : `Cleared ${cleared} cached result${cleared === 1 ? "" : "s"}\n`,
  );
  return 0;
}

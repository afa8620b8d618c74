/**
 * The one place the CLI opens its state store: PostgreSQL when the `store` setting names one,
 * otherwise SQLite in the state dir. Every command that reads or writes runs goes through it.
 *
 * @module
 */

import { maskPassword, maskPasswordIn } from "../core/connection_url.ts";
import { errorMessage } from "../core/errors.ts";
import type { Settings } from "../config/settings.ts";
import { PostgresStore, StoreConnectionError } from "../store/postgres_store.ts";
import { SqliteStore } from "../store/sqlite_store.ts";
import { type Store, StoreVersionError } from "../store/store.ts";
import type { Io } from "./io.ts";

/** Options of {@linkcode openStore}. */
export interface OpenStoreOptions {
  /** Migrate a PostgreSQL store's schema when it is behind. @default true */
  migrate?: boolean;
}

/**
 * The store the settings name: `PostgresStore` for a `store` URL, `SqliteStore` in `stateDir`
 * otherwise, both with the settings' durability.
 *
 * @example
 * ```ts
 * import { openStore } from "./open_store.ts";
 * import { defaultSettings } from "../config/settings.ts";
 * const stateDir = await Deno.makeTempDir();
 * const store = await openStore({ ...defaultSettings(), stateDir });
 * console.assert((await store.listRuns()).length === 0);
 * await store.close();
 * await Deno.remove(stateDir, { recursive: true });
 * ```
 */
export function openStore(settings: Settings, options: OpenStoreOptions = {}): Promise<Store> {
  if (settings.store !== undefined) {
    return PostgresStore.open(settings.store, {
      durability: settings.durability,
      ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
    });
  }
  return SqliteStore.open(settings.stateDir, { durability: settings.durability });
}

/** The line a command prints when its store cannot be opened (no stack, password masked). */
export function storeErrorLine(settings: Settings, e: unknown): string {
  if (e instanceof StoreConnectionError || e instanceof StoreVersionError) {
    return `error: ${e.message}\n`;
  }
  if (settings.store === undefined) {
    return `error: cannot open the state store in ${settings.stateDir}: ${errorMessage(e)}\n`;
  }
  return `error: cannot open the state store "${maskPassword(settings.store)}": ${
    maskPasswordIn(errorMessage(e), settings.store)
  }\n`;
}

/**
 * For a command: the store the settings name, or the exit code 2 after one line on stderr
 * saying why it cannot be opened (unreachable, refused, a newer schema, …).
 */
export async function commandStore(settings: Settings, io: Io): Promise<Store | number> {
  try {
    return await openStore(settings);
  } catch (e) {
    io.stderr(storeErrorLine(settings, e));
    return 2;
  }
}

/**
 * The PostgreSQL store (`@orchestra/orchestra/postgres`), apart from the main entry point so
 * that only programs that use it load the `postgres` driver. Pass it to a run as its journal,
 * as any other {@linkcode Store}.
 *
 * @example
 * ```ts ignore
 * import { flow, task } from "@orchestra/orchestra";
 * import { PostgresStore } from "@orchestra/orchestra/postgres";
 *
 * const store = await PostgresStore.open("postgres://orchestra@127.0.0.1:5432/orchestra");
 * const hello = task("hello", () => "hi");
 * const greet = flow({ name: "greet" }, () => hello());
 * try {
 *   const record = await greet.run({}, { journal: store });
 *   console.log(record.status, (await store.getRun(record.runId))?.status);
 * } finally {
 *   await store.close();
 * }
 * ```
 *
 * @module
 */

export {
  DEFAULT_LEASE_TIMEOUT_SECONDS,
  type ImportedCacheEntry,
  type ImportedRun,
  type PostgresDurability,
  PostgresStore,
  type PostgresStoreInfo,
  type PostgresStoreOptions,
  PostgresVersionError,
  StoreConnectionError,
} from "./src/store/postgres_store.ts";
export type { AppliedMigration, MigrationReport } from "./src/store/postgres_migrations.ts";
export { maskPassword } from "./src/core/connection_url.ts";
// What the store's API names, also exported by the main entry point.
export { OrchestraError } from "./src/core/errors.ts";
export type {
  LogLevel,
  RunEvent,
  RunEventBase,
  RunStatus,
  TaskEventBase,
  TaskStatus,
} from "./src/core/events.ts";
export { StoreError, StoreVersionError } from "./src/store/store.ts";
export { RunLeaseLostError, RunOwnedError } from "./src/store/ownership.ts";
export type { RunClaim, RunLease, RunOwner, RunOwnership } from "./src/store/ownership.ts";
export type {
  AppendEvent,
  CacheEntry,
  EventQuery,
  NewRun,
  ProcessRecord,
  ReopenOptions,
  RunFilter,
  RunRow,
  Store,
  StoredEvent,
  TaskRow,
} from "./src/store/store.ts";

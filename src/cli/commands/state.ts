/**
 * Opening the state store for a command: read-write for the commands that record, read-only
 * for those that only read (so a read-only state dir can still be listed), and one clear line
 * instead of a stack trace when the database cannot be used.
 *
 * @module
 */

import type { Settings } from "../../config/settings.ts";
import { errorMessage } from "../../core/errors.ts";
import { MemoryStore } from "../../store/memory_store.ts";
import { SqliteStore, STATE_FILE } from "../../store/sqlite_store.ts";
import { type RunRow, type Store, StoreError, StoreVersionError } from "../../store/store.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { commandStore } from "../open_store.ts";
import { commandSettings } from "./config.ts";

/** Where the run log of a detached run goes: what its process printed. */
export function runLogPath(stateDir: string, runId: string): string {
  return `${stateDir.replace(/[\\/]+$/, "")}/runs/${encodeURIComponent(runId)}.log`;
}

/**
 * Opens `<state dir>/state.db`. With `readOnly`, nothing is created: a state dir without a
 * database reads as one with no runs. Prints why and returns exit code 1 when it cannot.
 */
export async function openStateStore(
  settings: Settings,
  io: Io,
  options: { readOnly?: boolean } = {},
): Promise<Store | number> {
  // A PostgreSQL store (the store setting) has no read-only mode to ask for.
  if (settings.store !== undefined) return await commandStore(settings, io);
  const path = `${settings.stateDir.replace(/[\\/]+$/, "")}/${STATE_FILE}`;
  if (options.readOnly) {
    try {
      // An empty file is what securing the state dir creates before anything is recorded.
      if ((await Deno.stat(path)).size === 0) return new MemoryStore();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new MemoryStore();
    }
  }
  try {
    return await SqliteStore.open(settings.stateDir, {
      durability: settings.durability,
      ...(options.readOnly ? { readOnly: true } : {}),
    });
  } catch (e) {
    io.stderr(`error: ${storeProblem(e, path)}\n`);
    return 1;
  }
}

/** The one line that says why the state store failed. */
export function storeProblem(e: unknown, path: string): string {
  if (e instanceof StoreError || e instanceof StoreVersionError) return e.message;
  return `Cannot use the state database "${path}": ${errorMessage(e)}`;
}

/** Opens the state store with the command's settings; read-only for a command that reads. */
export async function openStore(
  parsed: Parsed,
  io: Io,
  options: { readOnly?: boolean } = {},
): Promise<Store | number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  return await openStateStore(settings, io, options);
}

/**
 * The run named by `id`: its id, or a prefix of exactly one run's id. Prints why and returns
 * undefined when there is none, or when the prefix matches several (they are listed).
 */
export async function findRun(
  store: Store,
  io: Io,
  id: string | undefined,
  command: string,
): Promise<RunRow | undefined> {
  if (!id) throw new UsageError(command, `missing RUN: orchestra ${command} RUN_ID`);
  const exact = await store.getRun(id);
  if (exact) return exact;
  const matches = await store.listRuns({ idPrefix: id, limit: 11 });
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    io.stderr(`error: no run "${id}" in this state dir; "orchestra runs" lists them\n`);
  } else {
    const shown = matches.slice(0, 10).map((r) =>
      `  ${r.runId}  ${r.flow}  ${r.status}  ${r.startedAt}\n`
    ).join("");
    io.stderr(
      `error: "${id}" is the start of ${matches.length > 10 ? "more than 10" : matches.length} ` +
        `run ids; give more of the id:\n${shown}`,
    );
  }
  return undefined;
}

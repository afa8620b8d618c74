/**
 * `orchestra store copy`: a store's history (runs with their tasks and journals, and cached
 * results) written into a PostgreSQL store, so that every read returns there what it returned
 * from the source. Copying again is safe: a run already copied and unchanged is skipped, one
 * that went on in the source since is copied again, and one that went on in the target (its
 * journal is no longer a prefix of the source's) is left alone and reported.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { isDeepStrictEqual } from "node:util";
import type { ImportedCacheEntry, PostgresStore } from "./postgres_store.ts";
import { STATE_FILE } from "./sqlite_store.ts";
import type { RunRow, Store, StoredEvent } from "./store.ts";

/** What happened to one run. */
export type CopyOutcome = "copied" | "updated" | "unchanged" | "conflict";

/** What {@linkcode copyStore} did. */
export interface CopyReport {
  /** Runs by outcome. */
  runs: {
    /** Runs that were not in the target. */
    copied: number;
    /** Runs the source had gone on with since an earlier copy: written again. */
    updated: number;
    /** Runs already in the target as they are in the source. */
    unchanged: number;
    /** Runs that went on in the target: left as they are there. */
    conflicts: string[];
  };
  /** Cache entries. */
  cache: {
    /** Entries written. */
    copied: number;
    /** Entries already in the target (expiring as late or later). */
    unchanged: number;
  };
}

/** Options of {@linkcode copyStore}. */
export interface CopyOptions {
  /** The source's unexpired cache entries (the `Store` port cannot list them). @default [] */
  cache?: readonly ImportedCacheEntry[];
  /** Called after each run. */
  onRun?: (runId: string, outcome: CopyOutcome) => void;
}

/**
 * Copies every run of `from` (oldest first, so runs that started together keep their order)
 * and the given cache entries into `to`.
 */
export async function copyStore(
  from: Store,
  to: PostgresStore,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const report: CopyReport = {
    runs: { copied: 0, updated: 0, unchanged: 0, conflicts: [] },
    cache: { copied: 0, unchanged: 0 },
  };
  const runs = (await from.listRuns()).reverse();
  for (const run of runs) {
    const outcome = await copyRun(from, to, run);
    if (outcome === "conflict") report.runs.conflicts.push(run.runId);
    else report.runs[outcome]++;
    options.onRun?.(run.runId, outcome);
  }
  const entries = options.cache ?? [];
  const copied = await to.importCache(entries);
  report.cache = { copied, unchanged: entries.length - copied };
  return report;
}

async function copyRun(from: Store, to: PostgresStore, run: RunRow): Promise<CopyOutcome> {
  const [tasks, events] = [await from.getTasks(run.runId), await from.events(run.runId)];
  const there = await to.getRun(run.runId);
  if (there === undefined) {
    await to.importRun({ run, tasks, events });
    return "copied";
  }
  const thereEvents = await to.events(run.runId);
  if (!isPrefix(thereEvents, events)) return "conflict";
  if (
    thereEvents.length === events.length && isDeepStrictEqual(there, run) &&
    isDeepStrictEqual(await to.getTasks(run.runId), tasks)
  ) {
    return "unchanged";
  }
  await to.importRun({ run, tasks, events }, { replace: true });
  return "updated";
}

function isPrefix(head: readonly StoredEvent[], all: readonly StoredEvent[]): boolean {
  if (head.length > all.length) return false;
  for (let i = 0; i < head.length; i++) if (!isDeepStrictEqual(head[i], all[i])) return false;
  return true;
}

/**
 * The unexpired cache entries of the SQLite store in `stateDir`, read from its file (opened
 * read-only) as they are stored: value JSON text and expiry.
 */
export function readSqliteCache(stateDir: string, now: number): ImportedCacheEntry[] {
  const db = new DatabaseSync(`${stateDir.replace(/[\\/]+$/, "")}/${STATE_FILE}`, {
    readOnly: true,
  });
  try {
    const rows = db.prepare("SELECT key, value, expires_at FROM cache WHERE expires_at > ?")
      .all(now) as { key: string; value: string | null; expires_at: number }[];
    return rows.map((r) => ({ key: r.key, json: r.value, expiresAt: Number(r.expires_at) }));
  } finally {
    db.close();
  }
}

/**
 * Writing another store's history into a PostgreSQL store (`orchestra store copy`): a run's row
 * as it is, its journal with the same seqs, and its task rows as a snapshot at the journal's
 * end, so that every read returns what the other store did.
 *
 * @module
 */

import { toJson } from "./_journal.ts";
import { journalText } from "./_journal_codec.ts";
import { JOURNAL_FORMAT, snapshotText } from "./_pg_journal.ts";
import type { Queryable } from "./_pg_connection.ts";
import type { PgStatements } from "./_pg_statements.ts";
import { BLOCK_FORMAT } from "./_task_blocks.ts";
import type { AppendEvent, RunRow, StoredEvent, TaskRow } from "./store.ts";

/** A run as `PostgresStore.importRun` writes it: its rows and journal, as read. */
export interface ImportedRun {
  /** The run's row (its `updatedAt` is kept). */
  run: RunRow;
  /** Its task rows. */
  tasks: readonly TaskRow[];
  /** Its journal, in seq order. */
  events: readonly StoredEvent[];
}

/** One cache entry, as `PostgresStore.importCache` writes it. */
export interface ImportedCacheEntry {
  /** The key. */
  key: string;
  /** The value as JSON text, null for a cached undefined. */
  json: string | null;
  /** When it expires (ms since the epoch). */
  expiresAt: number;
}

/** Writes one run inside the caller's transaction; `replace` deletes a run of its id first. */
export async function importRun(
  tx: Queryable,
  q: PgStatements,
  imported: ImportedRun,
  replace: boolean,
): Promise<void> {
  const { run, tasks, events } = imported;
  if (replace) await tx.unsafe(q.deleteRun, [run.runId], { prepare: true });
  const last = events.length ? events[events.length - 1].seq : 0;
  await tx.unsafe(q.importRun, [
    run.runId,
    run.flow,
    // An interrupted run is a running one nobody holds: it reads so here too.
    run.status === "interrupted" ? "running" : run.status,
    JSON.stringify(run.params ?? {}),
    run.startedAt,
    run.finishedAt ?? null,
    run.error ?? null,
    toJson(run.result),
    run.flowFile ?? null,
    run.flowHash ?? null,
    run.pid ?? null,
    run.host ?? null,
    run.cancelRequested === true,
    run.updatedAt,
    run.retryOf ?? null,
    last,
  ], { prepare: true });
  const rows = journalRows(events);
  if (rows.seqs.length) {
    await tx.unsafe(q.importJournal, [
      run.runId,
      rows.seqs,
      rows.lasts,
      rows.texts,
      JOURNAL_FORMAT,
    ], { prepare: true });
  }
  if (tasks.length) {
    await tx.unsafe(q.putSnapshot, [run.runId, last, BLOCK_FORMAT, snapshotText(tasks)], {
      prepare: true,
    });
  }
}

/** Writes cache entries; resolves with how many were written (see `q.importCache`). */
export async function importCache(
  sql: Queryable,
  q: PgStatements,
  entries: readonly ImportedCacheEntry[],
): Promise<number> {
  const result = await sql.unsafe(q.importCache, [
    entries.map((e) => e.key),
    entries.map((e) => e.json),
    entries.map((e) => e.expiresAt),
  ], { prepare: true });
  return result.count;
}

/** A run's journal as rows of consecutive seqs (a gap starts a new row). */
function journalRows(events: readonly StoredEvent[]) {
  const out = { seqs: [] as number[], lasts: [] as number[], texts: [] as string[] };
  let start = 0;
  const flush = (end: number) => {
    const slice = events.slice(start, end).map((e) => e.event as AppendEvent);
    for (let i = 0; i < slice.length; i += 4096) {
      const part = slice.slice(i, i + 4096);
      const seq = events[start + i].seq;
      out.seqs.push(seq);
      out.lasts.push(seq + part.length - 1);
      out.texts.push(journalText(part));
    }
    start = end;
  };
  for (let i = 1; i <= events.length; i++) {
    if (i === events.length || events[i].seq !== events[i - 1].seq + 1) flush(i);
  }
  return out;
}

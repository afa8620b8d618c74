/**
 * The PostgreSQL store's journal, as arrays for one statement and as rows read back: an append
 * sends each run's change and its journal rows as parallel arrays (so a tick of any size is one
 * statement, whatever its number of runs; {@linkcode writeBatch}), and a read folds a run's task
 * snapshot and the journal after it into task rows with the rules every store applies
 * (`_journal.ts`).
 *
 * @module
 */

import {
  applyTaskEvent,
  eventTaskId,
  HEARTBEAT_MS,
  iso,
  newTaskRow,
  resetTaskRow,
  type RunBatch,
} from "./_journal.ts";
import { eachJournalEvent, JOURNAL_FORMAT, journalEvents, journalText } from "./_journal_codec.ts";
import { BLOCK_FORMAT, blockRows, blockText, pieces } from "./_task_blocks.ts";
import type { Queryable } from "./_pg_connection.ts";
import type { PgStatements } from "./_pg_statements.ts";
import {
  type EventQuery,
  type ReopenOptions,
  RunNotFoundError,
  type StoredEvent,
  type TaskRow,
} from "./store.ts";

/** At most this many events in one journal row (a long batch takes several). */
const ROW_EVENTS = 4096;

/** The runs of a batch and their changes, as the columns of `unnest(...)`. */
export interface RunColumns {
  /** Run ids. */
  runIds: string[];
  /** How many events each run gets. */
  counts: number[];
  /** The run's new status, or null when the batch leaves its state alone. */
  statuses: (string | null)[];
  /** Its end time (ISO), when the status is set. */
  finishedAts: (string | null)[];
  /** Its error. */
  errors: (string | null)[];
  /** Its result as JSON text. */
  results: (string | null)[];
}

/** The journal rows of a batch, as the columns of `unnest(...)`. */
export interface JournalColumns {
  /** The run of each row. */
  runIds: string[];
  /** The 1-based position of its first event among the run's events in the batch. */
  firsts: number[];
  /** The position of its last event. */
  lasts: number[];
  /** Its text (format {@linkcode JOURNAL_FORMAT}). */
  texts: string[];
}

/** The format of the journal rows this code writes. */
export { JOURNAL_FORMAT };

/** A batch split into the columns of the append statement. */
export function batchColumns(batch: Iterable<RunBatch>): {
  runs: RunColumns;
  journal: JournalColumns;
} {
  const runs: RunColumns = {
    runIds: [],
    counts: [],
    statuses: [],
    finishedAts: [],
    errors: [],
    results: [],
  };
  const journal: JournalColumns = { runIds: [], firsts: [], lasts: [], texts: [] };
  for (const b of batch) {
    const n = b.events.length;
    runs.runIds.push(b.runId);
    runs.counts.push(n);
    runs.statuses.push(b.state?.status ?? null);
    runs.finishedAts.push(b.state?.finishedAt ?? null);
    runs.errors.push(b.state?.error ?? null);
    runs.results.push(b.state?.result ?? null);
    for (let i = 0; i < n; i += ROW_EVENTS) {
      const end = Math.min(n, i + ROW_EVENTS);
      for (const [from, to, text] of pieces(i, end, (f, t) => journalText(b.events, f, t))) {
        journal.runIds.push(b.runId);
        journal.firsts.push(from + 1);
        journal.lasts.push(to);
        journal.texts.push(text);
      }
    }
  }
  return { runs, journal };
}

/** A stored row as a read returns it: a snapshot (`kind` 0) or a journal row (`kind` 1). */
export type FoldRow = [kind: number, seq: number | string, format: number, text: string];

/**
 * A run's task rows in seq order: its snapshot's rows with the journal after it applied (rows
 * sorted by kind, then seq), each task then reset if it is in `reset`.
 */
export function foldTasks(runId: string, rows: readonly FoldRow[], reset?: Set<string>): TaskRow[] {
  const tasks: TaskRow[] = [];
  const byId = new Map<string, TaskRow>();
  for (const [kind, seqValue, format, text] of rows) {
    const seq = Number(seqValue);
    if (kind === 0) {
      for (const row of blockRows(text, format, runId)) {
        tasks.push(row);
        byId.set(row.taskId, row);
      }
      continue;
    }
    eachJournalEvent(runId, text, format, (e, i) => {
      const taskId = eventTaskId(e);
      if (taskId === null) return;
      let row = byId.get(taskId);
      if (row === undefined) {
        // Tasks first seen after the snapshot have higher seqs than any in it: order holds.
        row = newTaskRow(runId, taskId, seq + i);
        tasks.push(row);
        byId.set(taskId, row);
      }
      applyTaskEvent(row, e);
    }, true);
  }
  if (reset !== undefined) {
    for (const row of tasks) {
      if (reset.has(row.taskId)) resetTaskRow(row);
    }
  }
  return tasks;
}

/** The text of a snapshot of task rows (seq order, without their runId). */
export function snapshotText(rows: readonly TaskRow[]): string {
  return blockText(rows);
}

/** A journal row as read for `events()`. */
export type EventRow = [seq: number | string, format: number, text: string];

/** The run's events in `rows` (seq order) that `query` asks for, without their results. */
export function filterEvents(
  runId: string,
  rows: readonly EventRow[],
  query: EventQuery,
): StoredEvent[] {
  const after = query.afterSeq ?? 0;
  const limit = query.limit === undefined ? Infinity : Math.max(0, query.limit);
  const types = query.types === undefined ? undefined : new Set(query.types);
  const out: StoredEvent[] = [];
  if (limit === 0 || types?.size === 0) return out;
  for (const [seqValue, format, text] of rows) {
    const seq = Number(seqValue);
    const events = journalEvents(runId, text, format);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (seq + i <= after) continue;
      if (query.taskId !== undefined && (e as { taskId?: string }).taskId !== query.taskId) {
        continue;
      }
      if (types !== undefined && !types.has(e.type)) continue;
      delete e.result;
      out.push({ seq: seq + i, event: e });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** What {@linkcode writeBatch} needs besides the batch. */
export interface WriteOptions {
  /** This store's lease token on each run of the batch (in its order), null where none. */
  tokens: readonly (string | null)[];
  /** The time now (ms since the epoch), for `updated_at`. */
  now: number;
}

/**
 * The runs of a batch whose `run.finished` ends this store's lease (a token is given): their
 * leases are released in the batch's transaction.
 */
export function endedLeases(
  batch: Map<string, RunBatch>,
  tokens: readonly (string | null)[],
): string[] {
  const out: string[] = [];
  let i = 0;
  for (const b of batch.values()) {
    if (tokens[i++] !== null && b.state !== null && b.state.status !== "running") {
      out.push(b.runId);
    }
  }
  return out;
}

/**
 * Writes a batch inside the caller's transaction: creates the runs it starts, journals every
 * run's events and sets its state in one statement, and releases the leases its
 * `run.finished` events end. Resolves with the id of a run whose write was fenced off (its
 * lease has another token now: the caller rolls back), or undefined when all was written;
 * rejects with `RunNotFoundError` for a run that does not exist.
 */
export async function writeBatch(
  tx: Queryable,
  q: PgStatements,
  batch: Map<string, RunBatch>,
  options: WriteOptions,
): Promise<string | undefined> {
  const { tokens, now } = options;
  const starts = [...batch.values()].filter((b) => b.start !== null);
  if (starts.length) {
    await tx.unsafe(q.insertStarted, [
      starts.map((b) => b.runId),
      starts.map((b) => b.start!.flow),
      starts.map((b) => b.start!.params),
      starts.map((b) => b.start!.startedAt),
      iso(now),
    ], { prepare: true });
  }
  const { runs, journal } = batchColumns(batch.values());
  const appended = await tx.unsafe(q.append, [
    runs.runIds,
    runs.counts,
    runs.statuses,
    runs.finishedAts,
    runs.errors,
    runs.results,
    iso(now - HEARTBEAT_MS),
    iso(now),
    journal.runIds,
    journal.firsts,
    journal.lasts,
    journal.texts,
    JOURNAL_FORMAT,
    tokens,
  ], { prepare: true });
  const fenced = appended.find((r) => r.fenced === true);
  if (fenced) return fenced.run_id as string;
  const missing = appended.find((r) => r.written !== true);
  if (missing) throw new RunNotFoundError(missing.run_id as string);
  const ending = new Set(endedLeases(batch, tokens));
  if (ending.size) {
    const ids = runs.runIds.filter((id) => ending.has(id));
    const held = tokens.filter((_, i) => ending.has(runs.runIds[i])) as string[];
    await tx.unsafe(q.release, [ids, held], { prepare: true });
  }
  return undefined;
}

/** A run's task rows (see {@linkcode foldTasks}), read through `sql` (a transaction too). */
export async function readTasks(
  sql: Queryable,
  q: PgStatements,
  runId: string,
  reset?: Set<string>,
): Promise<TaskRow[]> {
  const rows = await sql.unsafe(q.foldRows, [runId], { prepare: true }).values();
  return foldTasks(runId, rows as unknown as FoldRow[], reset);
}

/**
 * Sets a run running again inside the caller's transaction (`reopenRun`), with the given tasks
 * reset in a new task snapshot. Resolves with false for an unknown run, and with "fenced"
 * (nothing changed) when `token` is given and the run's lease no longer has it.
 */
export async function reopen(
  tx: Queryable,
  q: PgStatements,
  runId: string,
  options: ReopenOptions,
  at: { token: string | null; now: number },
): Promise<boolean | "fenced"> {
  const [r] = await tx.unsafe(q.reopen, [
    runId,
    options.pid ?? null,
    options.host ?? null,
    options.flowHash ?? null,
    iso(at.now),
    at.token,
  ], { prepare: true });
  if (r.fenced === true) return "fenced";
  if (r.journal_seq === null) return false;
  const reset = options.resetTasks ?? [];
  if (reset.length) {
    // The run's row is locked: no append to the run can commit until this one does.
    const tasks = await readTasks(tx, q, runId, new Set(reset));
    await tx.unsafe(q.putSnapshot, [runId, r.journal_seq, BLOCK_FORMAT, snapshotText(tasks)], {
      prepare: true,
    });
  }
  return true;
}

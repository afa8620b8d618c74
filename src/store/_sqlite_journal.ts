/**
 * The SQLite store's journal and task rows. An append writes one `journal` row per run (its
 * events as one compact JSON array, results included: `_journal_codec.ts`) and nothing else.
 * A run's task rows are its journal folded: reading them applies its events in order
 * (`applyTaskEvent` of `_journal.ts`, the rules the memory store applies too). So an append in
 * a chain (one fsync per task) writes about one page, a wide DAG writes each task's events
 * once, and a run's end writes nothing more.
 *
 * So that reading a long run does not fold an ever longer journal, its rows up to
 * `runs.tasks_seq` are also kept in `task_blocks` (JSON arrays of up to 1,024 row tuples in seq
 * order: `_task_blocks.ts`), written once {@linkcode TASKS_LAG} events have gathered since, and
 * when a reopen resets tasks; a read folds only the journal after them.
 *
 * @module
 */

import {
  applyTaskEvent,
  eventTaskId,
  newTaskRow,
  resetTaskRow,
  type RunBatch,
} from "./_journal.ts";
import { eachJournalEvent, JOURNAL_FORMAT, journalEvents, journalText } from "./_journal_codec.ts";
import type { SqliteConnection } from "./_sqlite_connection.ts";
import { BLOCK_FORMAT, BLOCK_TASKS, blockRows, blockText, pieces } from "./_task_blocks.ts";
import type { EventQuery, StoredEvent, TaskRow } from "./store.ts";

/** How many events a run's task blocks may lag behind its journal before they are updated. */
export const TASKS_LAG = 50_000;

/**
 * A run that finishes with this many journal rows after its task blocks has them written:
 * reading many small rows back costs more than their events (a chain journals one per task),
 * and such a run made at least as many commits, so the write is small beside it.
 */
export const ROWS_LAG = 1000;

/** At most this many events in one journal row (a long batch takes several). */
const ROW_EVENTS = 4096;

/** Where a run's journal stands. */
export interface JournalHead {
  /** The seq its task blocks are folded up to; null for an unknown run. */
  tasksSeq: number | null;
  /** The seq of its last event (0 for none). */
  seq: number;
}

const HEAD_SQL = `SELECT tasks_seq,
  coalesce((SELECT last FROM journal WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1), 0) AS seq
  FROM (SELECT 1) LEFT JOIN runs ON run_id = ?1`;

/** Where a running run stands, as of this connection's last commit to it. */
interface Head extends JournalHead {
  tasksSeq: number;
  /** Its journal rows after `tasksSeq`. */
  rows: number;
}

/** A run's task rows: its blocks, with the journal after them applied. */
interface Fold {
  /** The blocks (by seq) with their rows, and whether the journal changed any of them. */
  blocks: { seq: number; rows: TaskRow[]; changed: boolean }[];
  /** The tasks first seen in the journal after the blocks, in seq order. */
  fresh: TaskRow[];
}

/** The journal and the task blocks of one connection's runs. */
export class SqliteJournal {
  readonly #conn: SqliteConnection;
  /** Where the running runs this connection appends to stand, as of its last commit. */
  readonly #heads = new Map<string, Head>();

  /** Uses the connection (whose transactions its callers open). */
  constructor(conn: SqliteConnection) {
    this.#conn = conn;
  }

  /**
   * Where the run's journal stands: as of this connection's last append to it, or read. A head
   * remembered here cannot be stale unnoticed: another writer's next row takes the seq after
   * the one it read, so {@linkcode append} from a stale head collides with it and reads again.
   */
  head(runId: string): JournalHead {
    return this.#heads.get(runId) ?? this.#read(runId);
  }

  #read(runId: string): JournalHead {
    const r = this.#conn.stmt(HEAD_SQL).get(runId) as { tasks_seq: number | null; seq: number };
    return { tasksSeq: r.tasks_seq, seq: r.seq };
  }

  /** How many journal rows the run has after its task blocks. */
  #rowsAfter(runId: string, tasksSeq: number): number {
    const r = this.#conn.stmt("SELECT count(*) AS n FROM journal WHERE run_id = ? AND seq > ?")
      .get(runId, tasksSeq) as { n: number };
    return r.n;
  }

  /**
   * Inside a write transaction (which runs again after a busy error, so nothing in memory
   * changes here): journals the run's events after `head` and, once {@linkcode TASKS_LAG}
   * events have gathered since its task blocks were written, brings them up to date. Returns
   * what to do in memory once the transaction has committed.
   */
  append(b: RunBatch, head: JournalHead): () => void {
    const runId = b.runId;
    let base = head.seq;
    let rows: number;
    try {
      rows = this.#insert(b, base);
    } catch (e) {
      // A remembered head that another writer has moved on from: read it and try again.
      if (!this.#heads.has(runId) || !isConstraint(e)) throw e;
      this.#heads.delete(runId);
      head = this.#read(runId);
      base = head.seq;
      rows = this.#insert(b, base);
    }
    const last = base + b.events.length;
    let tasksSeq = head.tasksSeq ?? 0;
    const running = b.state === null || b.state.status === "running";
    // The rows after the blocks: counted here from a run's start, else read when needed.
    const known = this.#heads.get(runId);
    if (known !== undefined) rows += known.rows;
    else if (head.tasksSeq !== null) rows = NaN;
    if (!running && Number.isNaN(rows)) rows = this.#rowsAfter(runId, tasksSeq);
    if (last - tasksSeq >= TASKS_LAG || (!running && rows >= ROWS_LAG)) {
      // A remembered head is read again rather than trusted with the blocks.
      const from = known === undefined ? tasksSeq : this.#read(runId).tasksSeq ?? 0;
      this.#compact(runId, from, last);
      tasksSeq = last;
      rows = 0;
    }
    return () => {
      if (running) this.#heads.set(runId, { tasksSeq, seq: last, rows });
      else this.#heads.delete(runId);
    };
  }

  /** Writes the batch's journal rows; returns how many. */
  #insert(b: RunBatch, base: number): number {
    const insert = this.#conn.stmt(
      `INSERT INTO journal (run_id, seq, last, events, format) VALUES (?, ?, ?, ?, ${JOURNAL_FORMAT})`,
    );
    const n = b.events.length;
    let rows = 0;
    for (let i = 0; i < n; i += ROW_EVENTS) {
      const end = Math.min(n, i + ROW_EVENTS);
      for (const [from, to, text] of pieces(i, end, (f, t) => journalText(b.events, f, t))) {
        insert.run(b.runId, base + from + 1, base + to, text);
        rows++;
      }
    }
    return rows;
  }

  /**
   * Inside a write transaction: resets the given tasks (for `reopenRun`), writing the run's
   * task blocks up to date to hold them. Returns what to do in memory once the transaction has
   * committed.
   */
  reopen(runId: string, reset: readonly string[]): () => void {
    const forget = () => void this.#heads.delete(runId);
    const head = this.#read(runId);
    if (!reset.length || head.tasksSeq === null) return forget;
    const ids = new Set(reset);
    this.#compact(runId, head.tasksSeq, head.seq, (row) => {
      if (!ids.has(row.taskId)) return false;
      resetTaskRow(row);
      return true;
    });
    return forget;
  }

  /** Inside a read transaction: the run's tasks in seq order. */
  tasks(runId: string): TaskRow[] {
    const head = this.#read(runId);
    if (head.tasksSeq === null) return [];
    const fold = this.#fold(runId, head.tasksSeq);
    const rows: TaskRow[] = [];
    for (const b of fold.blocks) for (const r of b.rows) rows.push(r);
    for (const r of fold.fresh) rows.push(r);
    return rows;
  }

  /** The run's journal, filtered. */
  events(runId: string, query: EventQuery): StoredEvent[] {
    const after = query.afterSeq ?? 0;
    const limit = query.limit === undefined ? Infinity : Math.max(0, query.limit);
    const types = query.types === undefined ? undefined : new Set(query.types);
    const out: StoredEvent[] = [];
    if (limit === 0 || types?.size === 0) return out;
    const rows = this.#conn.arrays(
      "SELECT seq, events, format FROM journal WHERE run_id = ? AND last > ? ORDER BY seq",
    ).iterate(runId, after) as Iterable<[number, string, number]>;
    for (const [seq, text, format] of rows) {
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

  /** The run's task rows: its blocks read back, and its journal after seq `from` applied. */
  #fold(runId: string, from: number): Fold {
    const blocks: Fold["blocks"] = [];
    const byId = new Map<string, TaskRow>();
    const blockOf = new Map<string, number>();
    const texts = this.#conn.arrays(
      "SELECT seq, tasks, format FROM task_blocks WHERE run_id = ? ORDER BY seq",
    ).all(runId) as unknown as [number, string, number][];
    for (const [seq, text, format] of texts) {
      const rows = blockRows(text, format, runId);
      for (let i = 0; i < rows.length; i++) {
        byId.set(rows[i].taskId, rows[i]);
        blockOf.set(rows[i].taskId, blocks.length);
      }
      blocks.push({ seq, rows, changed: false });
    }
    const fresh: TaskRow[] = [];
    const journal = this.#conn.arrays(
      "SELECT seq, events, format FROM journal WHERE run_id = ? AND seq > ? ORDER BY seq",
    ).all(runId, from) as unknown as [number, string, number][];
    for (const [seq, text, format] of journal) {
      eachJournalEvent(runId, text, format, (e, i) => {
        const taskId = eventTaskId(e);
        if (taskId === null) return;
        let row = byId.get(taskId);
        if (row === undefined) {
          row = newTaskRow(runId, taskId, seq + i);
          fresh.push(row);
          byId.set(taskId, row);
        } else if (blockOf.size !== 0) {
          const block = blockOf.get(taskId);
          if (block !== undefined) blocks[block].changed = true;
        }
        applyTaskEvent(row, e);
      }, true);
    }
    return { blocks, fresh };
  }

  /**
   * Writes the run's task blocks up to date with its journal after `from` up to `to`, after
   * `change` (which says whether it changed a row) is applied to every row: the blocks whose
   * rows changed are written again, the tasks first seen since go to new blocks at the end
   * (their seqs are higher than any before).
   */
  #compact(runId: string, from: number, to: number, change?: (row: TaskRow) => boolean): void {
    const { blocks, fresh } = this.#fold(runId, from);
    const insert = this.#conn.stmt(
      `INSERT INTO task_blocks (run_id, seq, tasks, format) VALUES (?, ?, ?, ${BLOCK_FORMAT})`,
    );
    for (const b of blocks) {
      if (change !== undefined) { for (const r of b.rows) if (change(r)) b.changed = true; }
      if (!b.changed) continue;
      // Grown past the limit (results came in): the rest of its rows move to blocks of their own.
      const rows = b.rows;
      const parts = pieces(0, rows.length, (f, t) => blockText(rows.slice(f, t)));
      this.#conn.stmt(
        `UPDATE task_blocks SET tasks = ?, format = ${BLOCK_FORMAT} WHERE run_id = ? AND seq = ?`,
      ).run(parts[0][2], runId, b.seq);
      for (const [f, , text] of parts.slice(1)) insert.run(runId, rows[f].seq, text);
    }
    if (change !== undefined) { for (const r of fresh) change(r); }
    for (let i = 0; i < fresh.length; i += BLOCK_TASKS) {
      const end = Math.min(fresh.length, i + BLOCK_TASKS);
      for (const [f, , text] of pieces(i, end, (f, t) => blockText(fresh.slice(f, t)))) {
        insert.run(runId, fresh[f].seq, text);
      }
    }
    this.#conn.stmt("UPDATE runs SET tasks_seq = ? WHERE run_id = ?").run(to, runId);
  }
}

function isConstraint(e: unknown): boolean {
  return e instanceof Error && /constraint failed/i.test(e.message);
}

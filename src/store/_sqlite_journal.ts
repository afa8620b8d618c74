/**
 * The SQLite store's journal and task rows. An append writes one `journal` row per run (its
 * events as one compact JSON array, results included: `_journal_codec.ts`) and no task row. A
 * run's task rows are its journal folded up to `runs.tasks_seq`, kept in `task_blocks`: JSON
 * arrays of up to 1,024 row tuples in seq order (`_task_blocks.ts`). The blocks are
 * brought up to date when the run finishes, when it is reopened, and once {@linkcode TASKS_LAG}
 * events have gathered since; reading a run's tasks folds the rest of the journal into them.
 *
 * So an append in a chain (one fsync per task) writes about one page, a wide DAG writes each
 * task once as part of a block instead of once per event, and reading 10,000 tasks back for
 * `resume` is ten JSON texts to parse.
 *
 * For the running runs this connection appends to, the fold of the events not yet in the
 * blocks and which block holds each task are also kept in memory, so that bringing the blocks
 * up to date reads nothing back. They are used only while they provably describe the database
 * (their seq range matches its own), so another process appending to the same run costs a
 * read, never a wrong row.
 *
 * @module
 */

import {
  composeInto,
  composePatch,
  encodeBatch,
  type RunBatch,
  type TaskPatch,
} from "./_journal.ts";
import { JOURNAL_FORMAT, journalEvents, journalText } from "./_journal_codec.ts";
import type { SqliteConnection } from "./_sqlite_connection.ts";
import {
  applyPatch,
  BLOCK_FORMAT,
  BLOCK_TASKS,
  blockRows,
  blockText,
  MAX_TEXT,
  newRowJson,
  pieces,
  resetRow,
} from "./_task_blocks.ts";
import type { AppendEvent, EventQuery, StoredEvent, TaskRow } from "./store.ts";

/** How many events a run's task blocks may lag behind its journal before they are updated. */
export const TASKS_LAG = 50_000;

/** At most this many events in one journal row (a long batch takes several). */
const ROW_EVENTS = 4096;

/** Where a run's journal stands. */
export interface JournalHead {
  /** The seq its task blocks are folded up to; null for an unknown run. */
  tasksSeq: number | null;
  /** The seq of its last event (0 for none). */
  seq: number;
  /** The run's status. */
  status: string | null;
}

const HEAD_SQL = `SELECT tasks_seq, status,
  coalesce((SELECT last FROM journal WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1), 0) AS seq
  FROM (SELECT 1) LEFT JOIN runs ON run_id = ?1`;

/** The fold of a run's events after seq `from` up to `to`, and its block layout at `from`. */
interface Pending {
  from: number;
  to: number;
  /** One patch per task touched, whose `first` is the seq of its first event in the range. */
  tasks: Map<string, TaskPatch>;
  /** Which block (by seq) holds each task, or null when not known. */
  blocks: Map<string, number> | null;
}

/** What bringing a run's blocks up to date changed about its layout. */
interface Synced {
  /** The layout before (complete), or null when not known. */
  blocks: Map<string, number> | null;
  /** The tasks put in new blocks, and which block (by seq) each went to. */
  added: string[];
  block: number[];
}

/** The journal and the task blocks of one connection's runs. */
export class SqliteJournal {
  readonly #conn: SqliteConnection;
  readonly #pending = new Map<string, Pending>();

  /** Uses the connection (whose transactions its callers open). */
  constructor(conn: SqliteConnection) {
    this.#conn = conn;
  }

  /** Where the run's journal stands. */
  head(runId: string): JournalHead {
    const r = this.#conn.stmt(HEAD_SQL).get(runId) as {
      tasks_seq: number | null;
      status: string | null;
      seq: number;
    };
    return { tasksSeq: r.tasks_seq, seq: r.seq, status: r.status };
  }

  /**
   * Inside a write transaction (which runs again after a busy error, so nothing in memory
   * changes here): journals the run's events after `head` and, when it is time, brings its
   * task blocks up to date. Returns what to do in memory once the transaction has committed.
   */
  append(b: RunBatch, head: JournalHead): () => void {
    const runId = b.runId;
    const base = head.seq;
    const n = b.events.length;
    const last = base + n;
    const insert = this.#conn.stmt(
      `INSERT INTO journal (run_id, seq, last, events, format) VALUES (?, ?, ?, ?, ${JOURNAL_FORMAT})`,
    );
    for (let i = 0; i < n; i += ROW_EVENTS) {
      const end = Math.min(n, i + ROW_EVENTS);
      for (const [from, to, text] of pieces(i, end, (f, t) => journalText(b.events, f, t))) {
        insert.run(runId, base + from + 1, base + to, text);
      }
    }
    const tasksSeq = head.tasksSeq ?? 0;
    const pending = this.#valid(runId, tasksSeq, base);
    const running = b.state === null ? head.status === "running" : b.state.status === "running";
    if (!running || last - tasksSeq >= TASKS_LAG) {
      const synced = pending === undefined
        ? this.#sync(runId, tasksSeq, last, this.#fold(runId, tasksSeq).values(), null)
        : this.#sync(runId, tasksSeq, last, composed(pending.tasks, b, base), pending.blocks);
      return () => {
        if (running) this.#keep(runId, last, synced);
        else this.#pending.delete(runId);
      };
    }
    return () => {
      let p = pending;
      if (p === undefined) {
        // Events of another connection wait to be folded: they are read back when needed.
        if (tasksSeq !== base || !running) return void this.#pending.delete(runId);
        p = { from: base, to: base, tasks: new Map(), blocks: base === 0 ? new Map() : null };
        this.#pending.set(runId, p);
      }
      // The transaction is over: the batch's patches and the fold can change in place.
      const tasks = p.tasks;
      for (const patch of b.tasks.values()) {
        const earlier = tasks.get(patch.taskId);
        if (earlier !== undefined) composeInto(earlier, patch);
        else {
          patch.first += base + 1;
          tasks.set(patch.taskId, patch);
        }
      }
      p.to = last;
    };
  }

  /**
   * Inside a write transaction: brings the run's task blocks up to date, then resets the given
   * tasks (for `reopenRun`). Returns what to do in memory once the transaction has committed.
   */
  reopen(runId: string, reset: readonly string[]): () => void {
    const head = this.head(runId);
    if (head.tasksSeq === null) return () => {};
    const pending = this.#valid(runId, head.tasksSeq, head.seq);
    const synced = pending !== undefined
      ? this.#sync(runId, head.tasksSeq, head.seq, pending.tasks.values(), pending.blocks)
      : head.tasksSeq !== head.seq
      ? this.#sync(runId, head.tasksSeq, head.seq, this.#fold(runId, head.tasksSeq).values(), null)
      : undefined;
    if (reset.length) this.#reset(runId, new Set(reset));
    const seq = head.seq;
    return () => {
      if (synced === undefined) this.#pending.delete(runId);
      else this.#keep(runId, seq, synced);
    };
  }

  /** Inside a read transaction: the run's tasks in seq order. */
  tasks(runId: string): TaskRow[] {
    const rows: TaskRow[] = [];
    const blocks = this.#conn.arrays(
      "SELECT tasks, format FROM task_blocks WHERE run_id = ? ORDER BY seq",
    ).all(runId) as unknown as [string, number][];
    for (const [text, format] of blocks) {
      const parsed = blockRows(text, format, runId);
      for (let i = 0; i < parsed.length; i++) rows.push(parsed[i]);
    }
    const head = this.head(runId);
    if (head.tasksSeq === null || head.tasksSeq === head.seq) return rows;
    const pending = this.#valid(runId, head.tasksSeq, head.seq)?.tasks ??
      this.#fold(runId, head.tasksSeq);
    const byId = new Map<string, TaskRow>();
    for (const r of rows) byId.set(r.taskId, r);
    let added = false;
    for (const p of pending.values()) {
      const row = byId.get(p.taskId);
      if (row !== undefined) applyPatch(row, p);
      else {
        rows.push(blockRows(`[${newRowJson(p)}]`, BLOCK_FORMAT, runId)[0]);
        added = true;
      }
    }
    if (added) rows.sort((a, b) => a.seq - b.seq);
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

  /** The fold in memory, if it covers exactly the events after `from` up to `to`. */
  #valid(runId: string, from: number, to: number): Pending | undefined {
    const p = this.#pending.get(runId);
    return p !== undefined && p.from === from && p.to === to ? p : undefined;
  }

  /** After a commit that brought the blocks up to `seq`: an empty fold from there. */
  #keep(runId: string, seq: number, synced: Synced): void {
    const blocks = synced.blocks;
    if (blocks !== null) {
      for (let i = 0; i < synced.added.length; i++) blocks.set(synced.added[i], synced.block[i]);
    }
    this.#pending.set(runId, { from: seq, to: seq, tasks: new Map(), blocks });
  }

  /** Folds the run's journal after `from`, read back from the database. */
  #fold(runId: string, from: number): Map<string, TaskPatch> {
    const events: AppendEvent[] = [];
    const rows = this.#conn.arrays(
      "SELECT events, format FROM journal WHERE run_id = ? AND seq > ? ORDER BY seq",
    ).all(runId, from) as unknown as [string, number][];
    for (const [text, format] of rows) {
      for (const e of journalEvents(runId, text, format)) events.push(e);
    }
    const tasks = encodeBatch(events).get(runId)?.tasks ?? new Map<string, TaskPatch>();
    for (const p of tasks.values()) p.first += from + 1;
    return tasks;
  }

  /**
   * Applies the patches (of the events after `from` up to `to`) to the run's blocks: the tasks
   * they hold are updated in place, new tasks go to new blocks at the end (their seqs are
   * higher than any before). `blocks` is the layout at `from` if known; it is not changed.
   */
  #sync(
    runId: string,
    from: number,
    to: number,
    patches: Iterable<TaskPatch>,
    blocks: Map<string, number> | null,
  ): Synced {
    const list = [...patches];
    // Read back only when needed: a run whose tasks were never written has no blocks.
    const layout = blocks ?? (from === 0 || !list.length ? new Map() : this.#layout(runId));
    const changed = new Map<number, TaskPatch[]>();
    const fresh: TaskPatch[] = [];
    for (const p of list) {
      const block = layout.get(p.taskId);
      if (block === undefined) fresh.push(p);
      else {
        const list = changed.get(block);
        if (list === undefined) changed.set(block, [p]);
        else list.push(p);
      }
    }
    const added: string[] = [];
    const blockOf: number[] = [];
    const insert = this.#conn.stmt(
      `INSERT INTO task_blocks (run_id, seq, tasks, format) VALUES (?, ?, ?, ${BLOCK_FORMAT})`,
    );
    for (const [block, ps] of changed) {
      const rows = this.#readBlock(runId, block);
      const byId = new Map<string, TaskRow>();
      for (const r of rows) byId.set(r.taskId, r);
      for (const p of ps) applyPatch(byId.get(p.taskId)!, p);
      // Grown past the limit (results came in): the rest of its rows move to blocks of their own.
      const parts = pieces(0, rows.length, (f, t) => blockText(rows.slice(f, t)));
      this.#writeBlock(runId, block, parts[0][2]);
      for (const [from, to, text] of parts.slice(1)) {
        insert.run(runId, rows[from].seq, text);
        for (let j = from; j < to; j++) {
          added.push(rows[j].taskId);
          blockOf.push(rows[from].seq);
        }
      }
    }
    fresh.sort((a, b) => a.first - b.first);
    for (let i = 0; i < fresh.length;) {
      const block = fresh[i].first;
      let text = "[";
      for (const start = i; i < fresh.length && i - start < BLOCK_TASKS; i++) {
        if (text.length >= MAX_TEXT) break;
        if (i > start) text += ",";
        text += newRowJson(fresh[i]);
        added.push(fresh[i].taskId);
        blockOf.push(block);
      }
      insert.run(runId, block, text + "]");
    }
    this.#conn.stmt("UPDATE runs SET tasks_seq = ? WHERE run_id = ?").run(to, runId);
    // A layout read back (or empty) is complete: keep it; an unknown one stays unknown.
    return { blocks: blocks ?? (from === 0 || list.length ? layout : null), added, block: blockOf };
  }

  /** Sets the tasks back to pending, as if they had never run. */
  #reset(runId: string, ids: ReadonlySet<string>): void {
    const blocks = this.#conn.arrays(
      "SELECT seq, tasks, format FROM task_blocks WHERE run_id = ? ORDER BY seq",
    ).all(runId) as unknown as [number, string, number][];
    for (const [block, text, format] of blocks) {
      const rows = blockRows(text, format);
      let changed = false;
      for (const r of rows) {
        if (!ids.has(r.taskId)) continue;
        resetRow(r);
        changed = true;
      }
      if (changed) this.#writeBlock(runId, block, blockText(rows));
    }
  }

  /** Which block holds each of the run's tasks, read from the database. */
  #layout(runId: string): Map<string, number> {
    const layout = new Map<string, number>();
    const rows = this.#conn.arrays(
      `SELECT b.seq, j.value ->> (CASE b.format WHEN 1 THEN '$.taskId' ELSE '$[0]' END)
       FROM task_blocks AS b, json_each(b.tasks) AS j WHERE b.run_id = ?`,
    ).all(runId) as unknown as [number, string][];
    for (const [block, taskId] of rows) layout.set(taskId, block);
    return layout;
  }

  #readBlock(runId: string, block: number): TaskRow[] {
    const r = this.#conn.stmt("SELECT tasks, format FROM task_blocks WHERE run_id = ? AND seq = ?")
      .get(runId, block) as { tasks: string; format: number };
    return blockRows(r.tasks, r.format);
  }

  #writeBlock(runId: string, block: number, text: string): void {
    this.#conn.stmt(
      `UPDATE task_blocks SET tasks = ?, format = ${BLOCK_FORMAT} WHERE run_id = ? AND seq = ?`,
    )
      .run(text, runId, block);
  }
}

/** The pending patches with the batch's on top, without changing either. */
function* composed(
  pending: Map<string, TaskPatch>,
  b: RunBatch,
  base: number,
): Generator<TaskPatch> {
  for (const p of pending.values()) {
    const later = b.tasks.get(p.taskId);
    yield later === undefined ? p : composePatch(p, later, p.first);
  }
  for (const p of b.tasks.values()) {
    if (!pending.has(p.taskId)) yield composePatch(undefined, p, base + p.first + 1);
  }
}

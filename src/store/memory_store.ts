/**
 * The in-memory store: for tests and for library use without persistence. It keeps values as
 * JSON text, exactly like the SQLite store, so what a test sees is what production stores.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import {
  applyTaskEvent,
  decodeEvent,
  encodeBatch,
  type EncodedEvent,
  encodeEvent,
  eventTaskId,
  fromJson,
  HEARTBEAT_MS,
  iso,
  isoArgument,
  newTaskRow,
  resetTaskRow,
  toJson,
} from "./_journal.ts";
import {
  currentOwner,
  type RunClaim,
  type RunLease,
  RunOwnedError,
  type RunOwner,
} from "./ownership.ts";
import {
  type AppendEvent,
  type CacheEntry,
  type EventQuery,
  type NewRun,
  type ProcessRecord,
  type ReopenOptions,
  type RunFilter,
  RunNotFoundError,
  type RunRow,
  type StateEntry,
  type StatePutOptions,
  type Store,
  type StoredEvent,
  type TaskRow,
} from "./store.ts";

/** Options of a {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock of `updatedAt`, in milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

type StoredRun = Omit<RunRow, "params" | "result"> & {
  params: string;
  result: string | null;
};

const OPTIONAL_RUN_FIELDS = [
  "finishedAt",
  "error",
  "flowFile",
  "flowHash",
  "pid",
  "host",
  "retryOf",
] as const;

interface RunState {
  row: StoredRun;
  order: number;
  /** Task rows, holding JSON copies of the events' values. */
  tasks: Map<string, TaskRow>;
  /** When updatedAt was last written (ms). */
  touched: number;
  events: (EncodedEvent & { seq: number })[];
  /** Its recorded process groups. */
  processes: ProcessRecord[];
}

/**
 * A {@linkcode Store} in memory.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@orchestra/orchestra";
 * const store = new MemoryStore();
 * await store.createRun({
 *   runId: "r1",
 *   flow: "etl",
 *   status: "running",
 *   params: {},
 *   startedAt: new Date().toISOString(),
 * });
 * await store.append([{ type: "task.created", runId: "r1", time: 0, taskId: "a", name: "a", needs: [], kind: "task" }]);
 * console.assert((await store.getTasks("r1"))[0].status === "pending");
 * ```
 */
export class MemoryStore implements Store {
  #runs = new Map<string, RunState>();
  #cache = new Map<string, { value: string | null; expiresAt: number }>();
  #state = new Map<string, Map<string, { value: string | null; expiresAt?: number }>>();
  #order = 0;
  #closed = false;
  readonly #now: () => number;
  // Leases live as long as the store object: the process that holds it is their owner.
  readonly #leases = new Map<string, RunLease>();

  /** Creates an empty store. */
  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Claims the run for this store. */
  claimRun(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    return this.#do(() => this.#claim(runId, owner));
  }

  /** Who holds the run. */
  runOwner(runId: string): Promise<RunOwner | undefined> {
    return this.#do(() => this.#leases.get(runId)?.owner);
  }

  #claim(runId: string, owner?: Partial<RunOwner>): RunClaim {
    const held = this.#leases.get(runId);
    if (held !== undefined) return { heldBy: held.owner };
    const lease: RunLease = {
      runId,
      owner: currentOwner(owner),
      release: () => {
        if (this.#leases.get(runId) === lease) this.#leases.delete(runId);
        return Promise.resolve();
      },
    };
    this.#leases.set(runId, lease);
    return { lease };
  }

  /** Journals the events and updates the rows, all or nothing. */
  append(events: readonly AppendEvent[]): Promise<void> {
    return this.#do(() => {
      const batch = encodeBatch(events);
      const encoded = new Map<string, EncodedEvent[]>();
      for (const run of batch.values()) {
        if (!this.#runs.has(run.runId) && run.start === null) throw new RunNotFoundError(run.runId);
        encoded.set(run.runId, run.events.map(encodeEvent));
      }
      // One store is one owner: a run it holds may start again; one held elsewhere may not.
      for (const b of batch.values()) {
        if (b.start === null || this.#leases.has(b.runId)) continue;
        const claim = this.#claim(b.runId);
        if (claim.heldBy) throw new RunOwnedError(b.runId, claim.heldBy);
      }
      // Nothing above wrote; from here on nothing throws.
      const now = this.#now();
      for (const b of batch.values()) {
        let run = this.#runs.get(b.runId);
        if (run === undefined) {
          const s = b.start!;
          run = this.#newRun({
            runId: b.runId,
            flow: s.flow,
            status: "running",
            params: s.params,
            startedAt: s.startedAt,
            result: null,
            updatedAt: iso(now),
          });
        }
        const base = run.events.at(-1)?.seq ?? 0;
        const evs = encoded.get(b.runId)!;
        for (let i = 0; i < evs.length; i++) {
          const seq = base + i + 1;
          run.events.push({ seq, ...evs[i] });
          const taskId = eventTaskId(b.events[i]);
          if (taskId === null) continue;
          let row = run.tasks.get(taskId);
          if (row === undefined) run.tasks.set(taskId, row = newTaskRow(b.runId, taskId, seq));
          // What the SQLite store keeps: the event's values as JSON.
          applyTaskEvent(row, JSON.parse(JSON.stringify(b.events[i])));
        }
        const r = run.row;
        if (b.state !== null) {
          r.status = b.state.status;
          setOrDelete(r, "finishedAt", b.state.finishedAt);
          setOrDelete(r, "error", b.state.error);
          r.result = b.state.result;
          r.updatedAt = iso(now);
          // A finished run has no heartbeat: a late event refreshes updatedAt at once.
          run.touched = b.state.status === "running" ? now : -Infinity;
          if (b.state.status !== "running") this.#leases.delete(b.runId);
        } else if (!(now - run.touched < HEARTBEAT_MS)) {
          r.updatedAt = iso(now);
          run.touched = now;
        }
      }
    });
  }

  /** Records a new run. */
  createRun(row: NewRun): Promise<void> {
    return this.#do(() => {
      if (this.#runs.has(row.runId)) {
        throw new OrchestraError(`Cannot create run "${row.runId}": it already exists`);
      }
      const stored: StoredRun = {
        runId: row.runId,
        flow: row.flow,
        status: row.status,
        params: JSON.stringify(row.params ?? {}),
        startedAt: row.startedAt,
        result: toJson(row.result),
        updatedAt: iso(this.#now()),
      };
      for (const k of OPTIONAL_RUN_FIELDS) {
        if (row[k] !== undefined) (stored as Record<string, unknown>)[k] = row[k];
      }
      if (row.cancelRequested) stored.cancelRequested = true;
      this.#newRun(stored);
    });
  }

  /** The run's row. */
  getRun(runId: string): Promise<RunRow | undefined> {
    return this.#do(() => {
      const run = this.#runs.get(runId);
      return run && this.#row(run.row);
    });
  }

  /** The row as callers see it: a running run nobody holds is interrupted. */
  #row(r: StoredRun): RunRow {
    const row = runRow(r);
    if (row.status !== "running") return row;
    const owner = this.#leases.get(row.runId)?.owner;
    if (owner === undefined) row.status = "interrupted";
    else row.owner = { ...owner };
    return row;
  }

  /** Runs, newest first. */
  listRuns(filter: RunFilter = {}): Promise<RunRow[]> {
    return this.#do(() => {
      const olderThan = filter.olderThan === undefined
        ? undefined
        : isoArgument("olderThan", filter.olderThan);
      const runs = [...this.#runs.values()].filter((r) =>
        (filter.flow === undefined || r.row.flow === filter.flow) &&
        (filter.status === undefined || this.#row(r.row).status === filter.status) &&
        (olderThan === undefined || r.row.startedAt < olderThan) &&
        (filter.idPrefix === undefined || r.row.runId.startsWith(filter.idPrefix)) &&
        (filter.retryOf === undefined || r.row.retryOf === filter.retryOf)
      );
      runs.sort((a, b) =>
        a.row.startedAt < b.row.startedAt
          ? 1
          : a.row.startedAt > b.row.startedAt
          ? -1
          : b.order - a.order
      );
      const limit = filter.limit ?? Infinity;
      return runs.slice(0, Math.max(0, limit)).map((r) => this.#row(r.row));
    });
  }

  /** The run's tasks in seq order. */
  getTasks(runId: string): Promise<TaskRow[]> {
    return this.#do(() => {
      const run = this.#runs.get(runId);
      if (!run) return [];
      return [...run.tasks.values()].sort((a, b) => a.seq - b.seq).map((t) => structuredClone(t));
    });
  }

  /** The run's journal. */
  events(runId: string, query: EventQuery = {}): Promise<StoredEvent[]> {
    return this.#do(() => {
      const run = this.#runs.get(runId);
      if (!run) return [];
      const after = query.afterSeq ?? 0;
      const types = query.types && new Set(query.types);
      const out: StoredEvent[] = [];
      for (const e of run.events) {
        if (out.length >= (query.limit ?? Infinity)) break;
        if (e.seq <= after) continue;
        if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
        if (types && !types.has(e.type)) continue;
        out.push({ seq: e.seq, event: decodeEvent(runId, e.type, e.taskId, e.time, e.data) });
      }
      return out;
    });
  }

  /** Sets the run running again and resets the given tasks. */
  reopenRun(runId: string, options: ReopenOptions = {}): Promise<boolean> {
    return this.#do(() => {
      const run = this.#runs.get(runId);
      if (!run) return false;
      const r = run.row;
      r.status = "running";
      r.result = null;
      delete r.finishedAt;
      delete r.error;
      delete r.cancelRequested;
      if (options.pid !== undefined) r.pid = options.pid;
      if (options.host !== undefined) r.host = options.host;
      if (options.flowHash !== undefined) r.flowHash = options.flowHash;
      this.#touch(run);
      for (const id of options.resetTasks ?? []) {
        const t = run.tasks.get(id);
        if (t) resetTaskRow(t);
      }
      return true;
    });
  }

  /** Flags the run for cancellation. */
  requestCancel(runId: string): Promise<boolean> {
    return this.#do(() => {
      const run = this.#runs.get(runId);
      if (!run || run.row.status !== "running") return false;
      run.row.cancelRequested = true;
      this.#touch(run);
      return true;
    });
  }

  /** Whether a cancel was requested. */
  isCancelRequested(runId: string): Promise<boolean> {
    return this.#do(() => this.#runs.get(runId)?.row.cancelRequested === true);
  }

  /** Deletes runs that finished before the time. */
  pruneRuns(olderThan: string): Promise<number> {
    return this.#do(() => {
      const before = isoArgument("olderThan", olderThan);
      let n = 0;
      for (const [id, run] of this.#runs) {
        const r = run.row;
        if (r.status !== "running" && r.finishedAt !== undefined && r.finishedAt < before) {
          this.#runs.delete(id);
          n++;
        }
      }
      return n;
    });
  }

  /** Records a process group of a run. */
  recordProcess(p: ProcessRecord): Promise<void> {
    return this.#do(() => {
      const run = this.#runs.get(p.runId);
      if (!run) throw new RunNotFoundError(p.runId);
      run.processes = run.processes.filter((q) => !(q.host === p.host && q.pgid === p.pgid));
      run.processes.push({ ...p });
    });
  }

  /** Forgets a process group that ended. */
  forgetProcess(p: Pick<ProcessRecord, "runId" | "host" | "pgid">): Promise<void> {
    return this.#do(() => {
      const run = this.#runs.get(p.runId);
      if (!run) return;
      run.processes = run.processes.filter((q) => !(q.host === p.host && q.pgid === p.pgid));
    });
  }

  /** The run's recorded process groups. */
  processes(runId: string): Promise<ProcessRecord[]> {
    return this.#do(() =>
      [...(this.#runs.get(runId)?.processes ?? [])]
        .sort((a, b) => a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0)
        .map((p) => ({ ...p }))
    );
  }

  /** A fresh cache entry. */
  cacheGet(key: string, now: number): Promise<CacheEntry | undefined> {
    return this.#do(() => {
      const e = this.#cache.get(key);
      if (!e || e.expiresAt <= now) return undefined;
      return { value: fromJson(e.value) };
    });
  }

  /** Stores a cache entry. */
  cacheSet(key: string, value: unknown, expiresAt: number): Promise<void> {
    return this.#do(() => {
      this.#cache.set(key, { value: toJson(value), expiresAt });
    });
  }

  /** Empties the cache. */
  cacheClear(): Promise<number> {
    return this.#do(() => {
      const n = this.#cache.size;
      this.#cache.clear();
      return n;
    });
  }

  /** An unexpired state entry. */
  stateGet(scope: string, key: string, now: number): Promise<StateEntry | undefined> {
    return this.#do(() => {
      const e = this.#state.get(scope)?.get(key);
      return e && !(e.expiresAt !== undefined && e.expiresAt <= now) ? entry(key, e) : undefined;
    });
  }

  /** The unexpired entries of a scope, by key. */
  stateList(scope: string, now: number): Promise<StateEntry[]> {
    return this.#do(() =>
      [...this.#state.get(scope) ?? []]
        .filter(([, e]) => !(e.expiresAt !== undefined && e.expiresAt <= now))
        .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
        .map(([k, e]) => entry(k, e))
    );
  }

  /** Writes a state entry. */
  statePut(
    scope: string,
    key: string,
    value: unknown,
    options: StatePutOptions = {},
  ): Promise<void> {
    return this.#do(() => {
      const json = toJson(value);
      let entries = this.#state.get(scope);
      if (!entries) this.#state.set(scope, entries = new Map());
      entries.set(key, { value: json, ...pickExpiry(options) });
    });
  }

  /** Writes a state entry unless an unexpired one holds the key. */
  statePutNew(
    scope: string,
    key: string,
    value: unknown,
    options: StatePutOptions & { now: number },
  ): Promise<StateEntry | undefined> {
    return this.#do(() => {
      const json = toJson(value);
      let entries = this.#state.get(scope);
      if (!entries) this.#state.set(scope, entries = new Map());
      for (const [k, e] of entries) {
        if (e.expiresAt !== undefined && e.expiresAt <= options.now) entries.delete(k);
      }
      const there = entries.get(key);
      if (there) return entry(key, there);
      entries.set(key, { value: json, ...pickExpiry(options) });
      return undefined;
    });
  }

  /** Removes a state entry. */
  stateDelete(scope: string, key: string): Promise<boolean> {
    return this.#do(() => this.#state.get(scope)?.delete(key) ?? false);
  }

  /** Closes the store; the runs it held have no owner any more. */
  close(): Promise<void> {
    this.#closed = true;
    this.#leases.clear();
    return Promise.resolve();
  }

  #touch(run: RunState): void {
    run.touched = this.#now();
    run.row.updatedAt = iso(run.touched);
  }

  #newRun(row: StoredRun): RunState {
    const state: RunState = {
      row,
      order: this.#order++,
      tasks: new Map(),
      touched: row.status === "running" ? Date.parse(row.updatedAt) : -Infinity,
      events: [],
      processes: [],
    };
    this.#runs.set(row.runId, state);
    return state;
  }

  #do<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("The memory store is closed"));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

function entry(key: string, e: { value: string | null; expiresAt?: number }): StateEntry {
  return {
    key,
    value: fromJson(e.value),
    ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }),
  };
}

function pickExpiry(options: StatePutOptions): { expiresAt?: number } {
  return options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt };
}

function setOrDelete(r: StoredRun, key: "finishedAt" | "error", value: string | null): void {
  if (value === null) delete r[key];
  else r[key] = value;
}

function runRow(r: StoredRun): RunRow {
  const { params, result, ...rest } = r;
  const row: RunRow = { ...rest, params: JSON.parse(params) };
  if (result !== null) row.result = JSON.parse(result);
  return row;
}

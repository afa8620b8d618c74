/**
 * Run ownership on PostgreSQL: a lease row per run in the `leases` table, which its owner
 * renews (a heartbeat, every third of the lease's timeout, from a timer that does not keep the
 * process alive) and which any process may take over once it has expired, on the server's
 * clock. Each claim gets a new fencing token (from a sequence, so tokens only grow); a store
 * remembers the token of every run it holds and its writes of such a run check it, so that an
 * owner whose lease lapsed and was taken over can never write the run again.
 *
 * A lease that lapsed is not lost until another process claims the run: until then its owner's
 * heartbeat (or a write) carries on with it. A lease found taken over stays known here as lost,
 * and every later write of its run from this store is refused with `RunLeaseLostError`.
 *
 * @module
 */

import type postgres from "postgres";
import { OrchestraError } from "../core/errors.ts";
import {
  currentOwner,
  type RunClaim,
  type RunLease,
  RunLeaseLostError,
  type RunOwner,
} from "./ownership.ts";
import type { PgStatements } from "./_pg_statements.ts";

type Row = Record<string, unknown>;

/** A lease this store took. */
interface Held {
  lease: RunLease;
  /** The fencing token (int8, as text). */
  token: string;
  /** Aborted once the lease is found lost. */
  controller: AbortController;
  /** Set once it was found taken over. */
  lost?: RunLeaseLostError;
  /** Set while an append that releases it (a run.finished) commits: no heartbeat then. */
  releasing?: boolean;
}

/** The holder of a lease row, as the server sees it now. */
interface Holder {
  owner: RunOwner;
  token: string;
  /** Whether it has not expired. */
  live: boolean;
}

/** The leases one store holds, their heartbeat, and the tokens its writes are fenced with. */
export class PgLeases {
  /** This store's id in the lease rows (two stores of one process are two owners). */
  readonly ownerId: string = crypto.randomUUID();
  /** How long a lease lasts without a heartbeat, in milliseconds. */
  readonly leaseMs: number;
  readonly #sql: postgres.Sql;
  readonly #q: PgStatements;
  readonly #store: string;
  readonly #held = new Map<string, Held>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #beat: Promise<void> | undefined;

  /** Leases in the tables of `q`, through `sql`; `store` names the store in errors. */
  constructor(sql: postgres.Sql, q: PgStatements, store: string, leaseMs: number) {
    this.#sql = sql;
    this.#q = q;
    this.#store = store;
    this.leaseMs = leaseMs;
  }

  /** Whether this store holds the run's lease (and has not found it lost). */
  holds(runId: string): boolean {
    const held = this.#held.get(runId);
    return held !== undefined && held.lost === undefined;
  }

  /** Claims the run: a new lease when there is none or it expired; else who holds it. */
  async claim(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    const held = this.#held.get(runId);
    if (held !== undefined && held.lost === undefined) return { heldBy: held.lease.owner };
    const me = currentOwner(owner);
    // A lease may expire or be released between the claim and the look-up: claim again.
    for (let attempt = 0; attempt < 10; attempt++) {
      const [r] = await this.#sql.unsafe(this.#q.claim, [
        runId,
        this.ownerId,
        me.pid,
        me.host,
        me.since,
        this.leaseMs,
      ], { prepare: true });
      if (r !== undefined) return { lease: this.#take(runId, me, String(r.token)) };
      const holder = await this.#holder(runId);
      if (holder?.live) return { heldBy: holder.owner };
    }
    throw new OrchestraError(
      `Cannot claim run "${runId}" in the state store "${this.#store}": its lease keeps ` +
        `changing hands; try again`,
    );
  }

  /** The live holder of the run's lease, if anyone (the server's view, not this store's). */
  async owner(runId: string): Promise<RunOwner | undefined> {
    const holder = await this.#holder(runId);
    return holder?.live ? holder.owner : undefined;
  }

  /**
   * The token to fence a write of each run with: null for a run this store does not hold.
   * Throws `RunLeaseLostError` for a run whose lease it found lost.
   */
  tokens(runIds: readonly string[]): (string | null)[] {
    return runIds.map((runId) => this.token(runId));
  }

  /** The token of one run (see {@linkcode PgLeases.tokens}). */
  token(runId: string): string | null {
    const held = this.#held.get(runId);
    if (held === undefined) return null;
    if (held.lost !== undefined) throw held.lost;
    return held.token;
  }

  /**
   * A write of the run was fenced off: its lease has another token now. Marks the lease lost
   * and returns the error to throw, naming who holds the run now.
   */
  async lost(runId: string): Promise<RunLeaseLostError> {
    const held = this.#held.get(runId);
    if (held?.lost !== undefined) return held.lost;
    let holder: Holder | undefined;
    try {
      holder = await this.#holder(runId);
    } catch {
      // the message then names no one: the write is refused all the same
    }
    const error = new RunLeaseLostError(this.#store, runId, holder?.owner);
    if (held !== undefined) this.#lose(held, error);
    return error;
  }

  /**
   * After a write of held runs failed (a dropped connection: the server ends a session that
   * left a transaction open for as long as a lease, as a paused process does): the error of
   * the first of them whose lease was taken over meanwhile, else undefined.
   */
  async explain(runIds: readonly string[]): Promise<RunLeaseLostError | undefined> {
    for (const runId of runIds) {
      const held = this.#held.get(runId);
      if (held === undefined) continue;
      if (held.lost !== undefined) return held.lost;
      let holder: Holder | undefined;
      try {
        holder = await this.#holder(runId);
      } catch {
        return undefined; // still out of reach: the write's own error says so
      }
      if (holder?.token !== held.token) return await this.lost(runId);
    }
    return undefined;
  }

  /**
   * Runs whose `run.finished` an append is about to commit, releasing their leases in the same
   * transaction: the heartbeat leaves them alone until {@linkcode PgLeases.released} says how
   * it went.
   */
  releasing(runIds: readonly string[]): void {
    for (const runId of runIds) {
      const held = this.#held.get(runId);
      if (held !== undefined) held.releasing = true;
    }
  }

  /** The append of {@linkcode PgLeases.releasing} committed (forget them) or failed. */
  released(runIds: readonly string[], committed: boolean): void {
    for (const runId of runIds) {
      if (committed) this.#forget(runId);
      else {
        const held = this.#held.get(runId);
        if (held !== undefined) held.releasing = false;
      }
    }
  }

  /** Stops the heartbeat and releases every lease this store holds. */
  async close(): Promise<void> {
    this.#stopHeartbeat();
    await this.#beat;
    const held = [...this.#held.entries()];
    this.#held.clear();
    if (held.length === 0) return;
    await this.#sql.unsafe(this.#q.release, [
      held.map(([runId]) => runId),
      held.map(([, h]) => h.token),
    ], { prepare: true });
  }

  #take(runId: string, owner: RunOwner, token: string): RunLease {
    const controller = new AbortController();
    let released = false;
    const lease: RunLease = {
      runId,
      owner,
      signal: controller.signal,
      release: async () => {
        if (released) return;
        released = true;
        if (this.#held.get(runId)?.lease !== lease) return; // finished, or closed
        this.#forget(runId);
        // A lost lease's row has another token now: nothing to delete.
        await this.#sql.unsafe(this.#q.release, [[runId], [token]], { prepare: true });
      },
    };
    this.#held.set(runId, { lease, token, controller });
    this.#startHeartbeat();
    return lease;
  }

  #forget(runId: string): void {
    this.#held.delete(runId);
    if (this.#held.size === 0) this.#stopHeartbeat();
  }

  #lose(held: Held, error: RunLeaseLostError): void {
    held.lost = error;
    held.controller.abort(error);
  }

  async #holder(runId: string): Promise<Holder | undefined> {
    const [r] = await this.#sql.unsafe(this.#q.holder, [runId], { prepare: true }) as Row[];
    if (r === undefined) return undefined;
    return {
      owner: { pid: r.pid as number, host: r.host as string, since: r.since as string },
      token: String(r.token),
      live: r.live === true,
    };
  }

  #startHeartbeat(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => {
      this.#beat ??= this.#renew().finally(() => this.#beat = undefined);
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    // The heartbeat lasts while the process does; it never keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopHeartbeat(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Renews every lease held; marks lost those taken over meanwhile. */
  async #renew(): Promise<void> {
    const held = [...this.#held.entries()].filter(([, h]) => !h.lost && !h.releasing);
    if (held.length === 0) return;
    let renewed: Set<string>;
    try {
      const rows = await this.#sql.unsafe(this.#q.renew, [
        held.map(([runId]) => runId),
        held.map(([, h]) => h.token),
        this.leaseMs,
      ], { prepare: true });
      renewed = new Set(rows.map((r) => r.run_id as string));
    } catch {
      // The server is out of reach: try again at the next beat. Should the lease expire
      // meanwhile, it is lost only if another process claims the run first.
      return;
    }
    for (const [runId, h] of held) {
      if (renewed.has(runId) || this.#held.get(runId) !== h || h.releasing) continue;
      await this.lost(runId).catch(() => {});
    }
  }
}

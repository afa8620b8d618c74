/**
 * Who runs a run: the ownership port. A process claims a run before it executes it and holds
 * the claim (a lease) for the run's lifetime; the claim ends when the process releases it,
 * when the run finishes, or when the process dies, without anyone having to notice. So a run
 * has at most one owner, and a run whose row says `running` but which has no owner was
 * interrupted: `resume` may take it over at once.
 *
 * Liveness is never decided by probing a PID: a killed process can stay a zombie for seconds
 * (and a probe still finds it), and a PID may be reused by an unrelated process.
 *
 * Implementations: the SQLite store holds an advisory file lock (flock) on
 * `<state dir>/runs/<run id>.lock`, which the operating system releases when the owner dies
 * ({@linkcode FileRunOwnership}); the memory store keeps leases in memory. A store shared by
 * several machines (PostgreSQL) implements the same port with a lease row in the database that
 * its owner renews (a heartbeat) and that another process may take once it expired, with a
 * fencing token so a paused former owner cannot write after it lost the lease.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { StoreError } from "./store.ts";

/** Who holds a run's lease. */
export interface RunOwner {
  /** The owner's process id (informative only: liveness is the lease's business). */
  pid: number;
  /** The host it runs on. */
  host: string;
  /** ISO time it claimed the run. */
  since: string;
}

/** A claim on a run, held until released (or until its holder dies). */
export interface RunLease {
  /** The run. */
  readonly runId: string;
  /** Who holds it. */
  readonly owner: RunOwner;
  /**
   * Aborted, with a `RunLeaseLostError`, once the store finds that the lease lapsed and
   * another process took the run over (a store whose leases end only with their holder, as
   * SQLite's lock files, leaves it out): the holder should stop running the run, since every
   * write of it is refused from then on.
   */
  readonly signal?: AbortSignal;
  /** Gives the run up; calling it again does nothing. */
  release(): Promise<void>;
}

/** What {@linkcode RunOwnership.claimRun} returns: the lease, or who holds the run now. */
export type RunClaim =
  | { lease: RunLease; heldBy?: undefined }
  | { lease?: undefined; heldBy: RunOwner };

/** The port: claim a run, or find out who runs it. */
export interface RunOwnership {
  /**
   * Claims the run for this process (never waits). The claim lasts until the lease is
   * released, the run's `run.finished` is appended through this store, the store is closed,
   * or the process dies. A run this store already holds counts as held.
   */
  claimRun(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim>;
  /** The live owner of the run, or `undefined` when nobody holds it. */
  runOwner(runId: string): Promise<RunOwner | undefined>;
}

/** The owner this process claims as: its pid and host, now. */
export function currentOwner(owner: Partial<RunOwner> = {}): RunOwner {
  let host = owner.host;
  if (host === undefined) {
    try {
      host = Deno.hostname();
    } catch {
      host = "localhost"; // without the sys permission
    }
  }
  return { pid: owner.pid ?? Deno.pid, host, since: owner.since ?? new Date().toISOString() };
}

/**
 * How a message names an owner: `process 4711 on host "build-1" since 2026-01-01T12:00:00Z`.
 *
 * @example
 * ```ts
 * import { describeOwner } from "./ownership.ts";
 * const text = describeOwner({ pid: 7, host: "h", since: "2026-01-01T00:00:00.000Z" });
 * console.assert(text === 'process 7 on host "h" since 2026-01-01T00:00:00.000Z');
 * ```
 */
export function describeOwner(owner: RunOwner): string {
  const pid = owner.pid > 0 ? `process ${owner.pid}` : "another process";
  const host = owner.host ? ` on host "${owner.host}"` : "";
  return `${pid}${host}${owner.since ? ` since ${owner.since}` : ""}`;
}

/**
 * A run is held by another live owner, so this process may not run it (or journal its start).
 *
 * @example
 * ```ts
 * import { RunOwnedError } from "./ownership.ts";
 * const err = new RunOwnedError("r1", { pid: 7, host: "h", since: "2026-01-01T00:00:00.000Z" });
 * console.assert(err.name === "RunOwnedError" && err.message.includes("process 7"));
 * ```
 */
export class RunOwnedError extends OrchestraError {
  /** The run. */
  readonly runId: string;
  /** Who holds it. */
  readonly owner: RunOwner;
  /** Creates the error. */
  constructor(runId: string, owner: RunOwner) {
    super(
      `Run "${runId}" is being run by ${describeOwner(owner)}; wait for it to end, or stop ` +
        `it with "orchestra cancel ${runId}"`,
    );
    this.name = "RunOwnedError";
    this.runId = runId;
    this.owner = owner;
  }
}

/**
 * This process held a run's lease, which lapsed (it was not renewed in time) and was taken
 * over by another process: a write of the run from here is refused (fenced off), so that an
 * owner presumed dead can never write over its successor.
 *
 * @example
 * ```ts
 * import { RunLeaseLostError } from "./ownership.ts";
 * const err = new RunLeaseLostError("postgres://db/app", "r1", {
 *   pid: 7,
 *   host: "h",
 *   since: "2026-01-01T00:00:00.000Z",
 * });
 * console.assert(err.message.includes("lost the lease of run r1 to process 7"));
 * ```
 */
export class RunLeaseLostError extends StoreError {
  /** The run. */
  readonly runId: string;
  /** Who took it over, when known (undefined once it released it in turn). */
  readonly owner: RunOwner | undefined;
  /** Creates the error; `store` names the state store (its URL, password masked). */
  constructor(store: string, runId: string, owner?: RunOwner) {
    super(
      store,
      `Cannot write run "${runId}" to the state store`,
      `this process lost the lease of run ${runId} to ${
        owner ? describeOwner(owner) : "another process (which has released it since)"
      }: its lease lapsed (it was not renewed in time) and the run was taken over, so this ` +
        `process writes nothing more of it. If this process was only slow (paused, ` +
        `overloaded, cut off from the database), give leases more time (lease_timeout in ` +
        `the store URL)`,
    );
    this.name = "RunLeaseLostError";
    this.runId = runId;
    this.owner = owner;
  }
}

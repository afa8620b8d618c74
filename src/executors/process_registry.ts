/**
 * Every process group this process's tasks started and that is still running: so that a run
 * is recorded as ended, and the CLI exits, only once all of them are gone; so that they are
 * recorded durably (for a `resume` after this process died); and so that the supervisor stops
 * them if this process dies first.
 *
 * @module
 */

import { groupAlive, processIdentity, signalGroup, stopGroup } from "./process_group.ts";
import { Supervisor } from "./supervisor.ts";

/** A running process group of a task. */
export interface RunningGroup {
  /** The group id: its leader's pid. */
  readonly pgid: number;
  /** The leader's identity (see `processIdentity`). */
  readonly identity: string;
  /** The run and task that started it, when known. */
  readonly owner: { readonly runId: string; readonly taskId: string } | undefined;
  /** ISO time it started. */
  readonly startedAt: string;
  /**
   * Resolves once the group is watched by the supervisor and recorded by every listener (in
   * the store): only then may its command start, so that a crash at any moment leaves no
   * group that nobody knows of. Never rejects.
   */
  readonly known: Promise<void>;
}

/** Told when a group starts and ends (the CLI records them in the store). */
export interface GroupListener {
  /** A group started; the returned promise is awaited before its end is reported. */
  started?(group: RunningGroup): void | Promise<void>;
  /** A group ended (no process of it is left). */
  ended?(group: RunningGroup): void | Promise<void>;
}

interface Entry {
  group: RunningGroup;
  stopping: Promise<void> | undefined;
  graceMs: number;
}

/**
 * The registry of running process groups; {@linkcode processGroups} is this process's.
 *
 * @example
 * ```ts
 * import { ProcessGroups } from "./process_registry.ts";
 * const groups = new ProcessGroups({ supervise: false });
 * const child = new Deno.Command("setsid", { args: ["sleep", "30"] }).spawn();
 * const group = groups.add(child.pid, { graceMs: 1000 });
 * await groups.stopAll();
 * await child.status;
 * await groups.remove(group);
 * console.assert(groups.size === 0);
 * ```
 */
export class ProcessGroups {
  readonly #live = new Map<number, Entry>();
  readonly #listeners = new Set<GroupListener>();
  readonly #supervisor: Supervisor | undefined;

  /** With `supervise` (the default), a supervisor stops the groups if this process dies. */
  constructor(options: { supervise?: boolean; graceMs?: number } = {}) {
    this.#supervisor = options.supervise === false
      ? undefined
      : new Supervisor(options.graceMs === undefined ? {} : { graceMs: options.graceMs });
  }

  /** How many groups are running. */
  get size(): number {
    return this.#live.size;
  }

  /** The running groups. */
  list(): RunningGroup[] {
    return [...this.#live.values()].map((e) => e.group);
  }

  /** Calls `listener` for every group from now on, until the returned function is called. */
  listen(listener: GroupListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A group started: `pgid` is the pid of its leader, just spawned. */
  add(
    pgid: number,
    options: { owner?: RunningGroup["owner"]; graceMs: number },
  ): RunningGroup {
    const base = {
      pgid,
      identity: processIdentity(pgid),
      owner: options.owner,
      startedAt: new Date().toISOString(),
    };
    const watched = this.#supervisor?.watch(pgid);
    const listeners = [...this.#listeners];
    const group: RunningGroup = {
      ...base,
      known: Promise.allSettled([
        watched,
        ...listeners.map((l) => Promise.resolve().then(() => l.started?.(base as RunningGroup))),
      ]).then(() => {}),
    };
    this.#live.set(pgid, { group, stopping: undefined, graceMs: options.graceMs });
    return group;
  }

  /**
   * Stops the group (SIGTERM, grace, SIGKILL); resolves once none of it is left. Stopping a
   * group that is being stopped waits for the same end.
   */
  stop(group: RunningGroup): Promise<void> {
    const entry = this.#live.get(group.pgid);
    if (entry === undefined || entry.group !== group) return Promise.resolve();
    return entry.stopping ??= stopGroup(group.pgid, entry.graceMs);
  }

  /** Resolves once a stop of the group in progress (if any) is done. */
  stopped(group: RunningGroup): Promise<void> {
    const entry = this.#live.get(group.pgid);
    return entry?.group === group && entry.stopping ? entry.stopping : Promise.resolve();
  }

  /** Stops whatever is left of the group if any of it is still alive (after its leader ended). */
  stopLeftovers(group: RunningGroup): Promise<void> {
    return groupAlive(group.pgid) ? this.stop(group) : Promise.resolve();
  }

  /** The group ended: forgets it, and tells the supervisor and the listeners. */
  async remove(group: RunningGroup): Promise<void> {
    const entry = this.#live.get(group.pgid);
    if (entry === undefined || entry.group !== group) return;
    this.#live.delete(group.pgid);
    void this.#supervisor?.unwatch(group.pgid);
    await group.known;
    await Promise.allSettled(
      [...this.#listeners].map((l) => Promise.resolve().then(() => l.ended?.(group))),
    );
  }

  /** Stops every running group (of one run, if given); resolves once they are gone. */
  async stopAll(filter: { runId?: string } = {}): Promise<void> {
    const mine = [...this.#live.values()].filter((e) =>
      filter.runId === undefined || e.group.owner === undefined ||
      e.group.owner.runId === filter.runId
    );
    await Promise.all(mine.map((e) => this.stop(e.group)));
  }

  /** Sends SIGKILL to every running group at once (the process is about to exit). */
  killAll(): void {
    for (const pgid of this.#live.keys()) signalGroup(pgid, "SIGKILL");
  }
}

/** The process groups this process's tasks started. */
export const processGroups: ProcessGroups = new ProcessGroups();

/**
 * Runs flows at their schedules' times. Each schedule's last tick and whether it is paused are
 * kept in the state store (scope `schedule`), so a restarted server knows which ticks it
 * missed: each is counted (metric and log) and caught up as the schedule's `catchup` says.
 * A tick while the schedule's last run is still going follows its `overlap` policy. Time comes
 * from an injected clock, so tests move it across a day, or a change of daylight saving time.
 *
 * @module
 */

import { nextTimes, type Schedule, ticksBetween } from "../core/schedule.ts";
import type { Store } from "../store/store.ts";
import type { Metrics } from "./metrics.ts";

/** Time for the scheduler: now, and timers. */
export interface SchedulerClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; the function returned cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock. */
export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** What the scheduler keeps of a schedule in the store. */
export interface ScheduleState {
  /** The last tick handled (ISO). */
  lastTick?: string;
  /** Paused through the API. */
  paused?: boolean;
  /** The run its last tick started. */
  lastRunId?: string;
}

/** A schedule as the API shows it. */
export interface ScheduleView extends Schedule {
  /** Paused through the API. */
  paused: boolean;
  /** The last tick handled (ISO). */
  lastTick?: string;
  /** The run its last tick started. */
  lastRunId?: string;
  /** The next five times it fires (ISO). */
  next: string[];
  /** Ticks missed while no server ran, since this server started. */
  missed: number;
}

/** What the scheduler needs from the server. */
export interface SchedulerOptions {
  /** Where schedule state is kept. */
  store: Store;
  /** Counted: ticks by outcome, missed ticks. */
  metrics: Metrics;
  /** Starts a run of `schedule` for `tick`; resolves with its id, or why it could not. */
  start(
    schedule: Schedule,
    tick: Date,
    manual: boolean,
  ): Promise<{ runId: string } | { error: string }>;
  /** Whether a run is still going. */
  isRunning(runId: string): boolean;
  /** Cancels a run (overlap `cancel-other`). */
  cancel(runId: string): Promise<unknown>;
  /** Log lines. */
  log(level: "info" | "warning", message: string, props: Record<string, unknown>): void;
  /** @default systemClock */
  clock?: SchedulerClock;
  /** The longest a timer waits before looking at the clock again, in ms. @default 60000 */
  maxWaitMs?: number;
}

const SCOPE = "schedule";

interface Armed {
  schedule: Schedule;
  state: ScheduleState;
  cancelTimer?: () => void;
  /** A tick kept by `buffer-one` until the last run ends. */
  buffered?: Date;
  missed: number;
}

/**
 * The schedules of the served flows, armed.
 *
 * @example
 * ```ts ignore
 * const scheduler = new Scheduler({ store, metrics, start, isRunning, cancel, log });
 * await scheduler.sync(catalog.entries.flatMap((e) => e.schedules));
 * ```
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #clock: SchedulerClock;
  readonly #armed = new Map<string, Armed>();
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** Creates a scheduler with nothing armed. */
  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Arms the schedules given and disarms the others. A schedule seen for the first time by
   * this server catches up the ticks it missed (per its `catchup`); one new to the store
   * starts from now.
   */
  sync(schedules: readonly Schedule[]): Promise<void> {
    return this.#serial(async () => {
      const wanted = new Map(schedules.map((s) => [s.id, s]));
      for (const [id, a] of this.#armed) {
        if (!wanted.has(id)) {
          a.cancelTimer?.();
          this.#armed.delete(id);
        }
      }
      const now = this.#clock.now();
      for (const s of schedules) {
        const armed = this.#armed.get(s.id);
        if (armed) {
          // Its entry changed (cron, zone, policies): the new one counts from now on.
          if (JSON.stringify(armed.schedule) !== JSON.stringify(s)) {
            armed.schedule = s;
            this.#arm(armed);
          }
          continue;
        }
        const stored = await this.#o.store.stateGet(SCOPE, s.id, now);
        const state = (stored?.value ?? {}) as ScheduleState;
        const a: Armed = { schedule: s, state, missed: 0 };
        this.#armed.set(s.id, a);
        if (state.lastTick && !state.paused) await this.#catchUp(a, now);
        else if (!state.lastTick) {
          a.state.lastTick = new Date(now).toISOString();
          await this.#save(a);
        }
        this.#arm(a);
      }
    });
  }

  /** Every armed schedule, with its state and next times. */
  list(): ScheduleView[] {
    const now = new Date(this.#clock.now());
    return [...this.#armed.values()].map((a) => ({
      ...a.schedule,
      paused: a.state.paused === true,
      ...(a.state.lastTick ? { lastTick: a.state.lastTick } : {}),
      ...(a.state.lastRunId ? { lastRunId: a.state.lastRunId } : {}),
      next: a.state.paused ? [] : nextTimes(a.schedule, now, 5).map((d) => d.toISOString()),
      missed: a.missed,
    })).sort((x, y) => x.id < y.id ? -1 : 1);
  }

  /** One schedule's view. */
  get(id: string): ScheduleView | undefined {
    return this.list().find((s) => s.id === id);
  }

  /** Pauses: its ticks pass without runs (and are not missed ticks). */
  pause(id: string): Promise<ScheduleView | undefined> {
    return this.#serial(async () => {
      const a = this.#armed.get(id);
      if (!a) return undefined;
      a.state.paused = true;
      a.buffered = undefined;
      await this.#save(a);
      this.#arm(a);
      return this.get(id);
    });
  }

  /** Resumes from now: the ticks that passed while paused do not run. */
  resume(id: string): Promise<ScheduleView | undefined> {
    return this.#serial(async () => {
      const a = this.#armed.get(id);
      if (!a) return undefined;
      a.state.paused = false;
      a.state.lastTick = new Date(this.#clock.now()).toISOString();
      await this.#save(a);
      this.#arm(a);
      return this.get(id);
    });
  }

  /** Starts a run of the schedule now, by hand (paused or not, whatever its overlap). */
  async trigger(id: string): Promise<{ runId: string } | { error: string } | undefined> {
    const a = this.#armed.get(id);
    if (!a) return undefined;
    const started = await this.#o.start(a.schedule, new Date(this.#clock.now()), true);
    if ("runId" in started) {
      a.state.lastRunId = started.runId;
      await this.#save(a);
    }
    return started;
  }

  /** A run ended: a tick `buffer-one` kept for its schedule runs now. */
  runEnded(runId: string): void {
    for (const a of this.#armed.values()) {
      if (a.state.lastRunId !== runId || !a.buffered) continue;
      const tick = a.buffered;
      a.buffered = undefined;
      this.#serial(() => this.#startFor(a, tick));
    }
  }

  /** Disarms every schedule. */
  stop(): void {
    this.#stopped = true;
    for (const a of this.#armed.values()) a.cancelTimer?.();
  }

  /** Resolves once the work queued so far (ticks, syncs) is done. */
  idle(): Promise<void> {
    return this.#serial(() => Promise.resolve());
  }

  async #catchUp(a: Armed, now: number): Promise<void> {
    const { schedule } = a;
    const missed = ticksBetween(schedule, new Date(a.state.lastTick!), new Date(now));
    if (missed.length === 0) return;
    a.missed += missed.length;
    this.#o.metrics.missed.inc({ schedule: schedule.id, flow: schedule.flow }, missed.length);
    const inWindow = missed.filter((t) => t.getTime() > now - schedule.catchup.windowMs);
    const run = schedule.catchup.policy === "all"
      ? inWindow
      : schedule.catchup.policy === "latest"
      ? inWindow.slice(-1)
      : [];
    this.#o.log(
      "warning",
      "Schedule {schedule} missed {count} ticks while no server ran ({first} … {last}); catchup {policy}: {running} of them run now",
      {
        schedule: schedule.id,
        count: missed.length,
        first: missed[0].toISOString(),
        last: missed.at(-1)!.toISOString(),
        policy: schedule.catchup.policy,
        running: run.length,
      },
    );
    for (const tick of run) await this.#tick(a, tick);
    a.state.lastTick = missed.at(-1)!.toISOString();
    await this.#save(a);
  }

  #arm(a: Armed): void {
    a.cancelTimer?.();
    a.cancelTimer = undefined;
    if (this.#stopped) return;
    const now = this.#clock.now();
    const from = new Date(Math.max(now, Date.parse(a.state.lastTick ?? "") || 0));
    const [next] = nextTimes(a.schedule, from, 1);
    if (!next) return;
    const wait = Math.min(Math.max(0, next.getTime() - now), this.#o.maxWaitMs ?? 60_000);
    a.cancelTimer = this.#clock.setTimer(() => {
      if (this.#armed.get(a.schedule.id) !== a) return;
      if (this.#clock.now() < next.getTime()) return this.#arm(a);
      this.#serial(async () => {
        await this.#tick(a, next);
        a.state.lastTick = next.toISOString();
        await this.#save(a);
        this.#arm(a);
      });
    }, wait);
  }

  async #tick(a: Armed, tick: Date): Promise<void> {
    const { schedule } = a;
    const labels = (outcome: string) => ({ schedule: schedule.id, flow: schedule.flow, outcome });
    if (a.state.paused) return this.#o.metrics.ticks.inc(labels("paused"));
    const last = a.state.lastRunId;
    if (last && this.#o.isRunning(last)) {
      switch (schedule.overlap) {
        case "skip":
          this.#o.log(
            "info",
            "Schedule {schedule}: tick {tick} skipped, run {runId} is still going",
            {
              schedule: schedule.id,
              tick: tick.toISOString(),
              runId: last,
            },
          );
          return this.#o.metrics.ticks.inc(labels("skipped"));
        case "buffer-one":
          if (a.buffered) return this.#o.metrics.ticks.inc(labels("skipped"));
          a.buffered = tick;
          return this.#o.metrics.ticks.inc(labels("buffered"));
        case "cancel-other":
          await this.#o.cancel(last).catch(() => {});
          break;
        case "allow":
          break;
      }
    }
    await this.#startFor(a, tick);
  }

  async #startFor(a: Armed, tick: Date): Promise<void> {
    const { schedule } = a;
    const started = await this.#o.start(schedule, tick, false);
    const outcome = "runId" in started ? "started" : "failed";
    this.#o.metrics.ticks.inc({ schedule: schedule.id, flow: schedule.flow, outcome });
    if ("runId" in started) {
      a.state.lastRunId = started.runId;
      await this.#save(a);
    } else {
      this.#o.log("warning", "Schedule {schedule}: tick {tick} could not start a run: {error}", {
        schedule: schedule.id,
        tick: tick.toISOString(),
        error: started.error,
      });
    }
  }

  #save(a: Armed): Promise<void> {
    return this.#o.store.statePut(SCOPE, a.schedule.id, a.state);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const job = this.#queue.then(fn, fn);
    this.#queue = job.catch(() => {});
    return job;
  }
}

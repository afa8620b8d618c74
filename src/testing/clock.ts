/**
 * {@linkcode TestClock}: virtual time that moves only when every running task is waiting on it.
 * `FakeClock` moves to the next timer whenever the program is idle, which is also the case
 * while a task waits for a command, a worker or the network: a `timeout` would fire at once.
 * This clock is told which task attempts are running (by `runFlow`) and which of them wait on
 * one of its timers (a timer set inside the task's context); it moves only when none is busy,
 * so real work takes no virtual time, and sleeps, retry delays and timeouts take no real time.
 *
 * @module
 */

import { taskContextStorage } from "../core/protocol.ts";
import type { Clock } from "../engine/clock.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  owner: object | undefined;
}

/**
 * A virtual clock for flow tests (the default of `runFlow`). Like `FakeClock` it fires timers
 * in time order once the program has nothing else to do, and additionally waits while a task
 * attempt it {@linkcode TestClock.hold holds} is busy rather than sleeping on it. A task that
 * waits on something other than this clock or real I/O (say, a promise another task resolves
 * after a sleep) keeps time from moving: give such tests a `FakeClock`.
 *
 * @example
 * ```ts
 * import { sleep } from "../engine/clock.ts";
 * import { TestClock } from "./clock.ts";
 * const clock = new TestClock(0);
 * const release = clock.hold({});
 * let woke = false;
 * const waiting = sleep(clock, 1000).then(() => (woke = true));
 * await new Promise((r) => setTimeout(r, 10));
 * console.assert(!woke && clock.now() === 0, "held: time stands still");
 * release();
 * await waiting;
 * console.assert(clock.now() === 1000);
 * ```
 */
export class TestClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;
  #pumping = false;
  /** Held attempts, with how many of this clock's timers each is waiting on. */
  #held = new Map<object, number>();
  /** Every delay ever requested, in order: handy for asserting backoff. */
  readonly requested: number[] = [];

  /** Starts the virtual clock at `start` ms since the epoch. */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  /** The virtual time. */
  now(): number {
    return this.#now;
  }

  /** Sets a virtual timer; one set inside a held task's context counts as that task waiting. */
  setTimer(fn: () => void, ms: number): () => void {
    this.requested.push(ms);
    const store = taskContextStorage().getStore();
    const owner = typeof store === "object" && store !== null && this.#held.has(store)
      ? store
      : undefined;
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, owner };
    this.#timers.push(timer);
    if (owner) this.#held.set(owner, this.#held.get(owner)! + 1);
    this.#schedule();
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) {
        this.#timers.splice(i, 1);
        this.#unwait(timer);
      }
    };
  }

  /**
   * Marks a task attempt (its context) busy: time stands still until it waits on one of this
   * clock's timers or the returned function releases it.
   */
  hold(attempt: object): () => void {
    if (!this.#held.has(attempt)) this.#held.set(attempt, 0);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(attempt);
      this.#schedule();
    };
  }

  /** Moves time forward by `ms`, firing due timers in order, held tasks or not. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > until) break;
      this.#fire(next);
    }
    this.#now = until;
  }

  #busy(): boolean {
    for (const waiting of this.#held.values()) if (waiting === 0) return true;
    return false;
  }

  #unwait(t: Timer): void {
    const n = t.owner ? this.#held.get(t.owner) : undefined;
    if (n !== undefined) this.#held.set(t.owner!, n - 1);
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(t: Timer): void {
    this.#timers.splice(this.#timers.indexOf(t), 1);
    this.#unwait(t);
    this.#now = Math.max(this.#now, t.at);
    t.fn();
  }

  #schedule(): void {
    if (this.#pumping || this.#timers.length === 0) return;
    this.#pumping = true;
    // A real macrotask runs only after every pending microtask: that is "idle".
    setTimeout(() => {
      this.#pumping = false;
      // A busy task reschedules when it waits or is released.
      if (this.#busy()) return;
      const next = this.#earliest();
      if (next) {
        this.#fire(next);
        this.#schedule();
      }
    }, 0);
  }
}

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
import { FakeClock } from "../engine/clock.ts";

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
 * import { TestClock } from "@orchestra/orchestra/testing";
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
export class TestClock extends FakeClock {
  /** Held attempts, with how many of this clock's timers each is waiting on. */
  #held = new Map<object, number>();

  /** Starts the virtual clock at `start` ms since the epoch. */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    super(start);
  }

  /** Sets a virtual timer; one set inside a held task's context counts as that task waiting. */
  override setTimer(fn: () => void, ms: number): () => void {
    const store = taskContextStorage().getStore();
    const owner = typeof store === "object" && store !== null && this.#held.has(store)
      ? store
      : undefined;
    if (owner) this.#held.set(owner, this.#held.get(owner)! + 1);
    let done = false;
    // The owner stops waiting on this timer once it fires or is cancelled, whichever is first.
    const unwait = () => {
      if (done) return false;
      done = true;
      const n = owner ? this.#held.get(owner) : undefined;
      if (n !== undefined) this.#held.set(owner!, n - 1);
      return true;
    };
    const cancel = super.setTimer(() => (unwait(), fn()), ms);
    return () => {
      if (unwait()) cancel();
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
      this.wake();
    };
  }

  /** Time moves on its own only while no held attempt is busy (waiting on nothing of ours). */
  protected override canAdvance(): boolean {
    for (const waiting of this.#held.values()) if (waiting === 0) return false;
    return true;
  }
}

/**
 * Time, injected: the engine reads the clock and sets timers only through a {@linkcode Clock},
 * so tests of backoff and timeouts run on virtual time and take milliseconds.
 *
 * @module
 */

/** The engine's view of time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels the timer. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const id = setTimeout(fn, ms);
    return () => clearTimeout(id);
  },
};

/** Waits `ms` on `clock`; rejects with the signal's reason when it aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A virtual clock for tests. Time moves only forward and only to the next timer, and only once
 * the program has nothing else to do (no pending microtasks), so a task that sleeps 10 minutes
 * against a 30 s timeout times out after 30 virtual seconds and a few real milliseconds.
 *
 * @example
 * ```ts
 * import { FakeClock, sleep } from "./clock.ts";
 * const clock = new FakeClock(0);
 * await sleep(clock, 60_000);
 * console.assert(clock.now() === 60_000);
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;
  #pumping = false;
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

  /** Sets a virtual timer. */
  setTimer(fn: () => void, ms: number): () => void {
    this.requested.push(ms);
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    this.#schedule();
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > until) break;
      this.#fire(next);
    }
    this.#now = until;
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
    this.#now = Math.max(this.#now, t.at);
    t.fn();
  }

  /**
   * Whether time may move on its own now (the program is idle). A subclass that knows of work
   * still going on says no, and calls {@linkcode FakeClock.wake} when that changes.
   */
  protected canAdvance(): boolean {
    return true;
  }

  /** Lets time move on again once the program is idle (after `canAdvance` said no). */
  protected wake(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#pumping || this.#timers.length === 0) return;
    this.#pumping = true;
    // A real macrotask runs only after every pending microtask: that is "idle".
    setTimeout(() => {
      this.#pumping = false;
      // A subclass that says no wakes the clock when it may move again.
      if (!this.canAdvance()) return;
      const next = this.#earliest();
      if (next) {
        this.#fire(next);
        if (this.#timers.length) this.#schedule();
      }
    }, 0);
  }
}

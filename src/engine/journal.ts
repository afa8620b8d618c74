/**
 * Where a run's events go: to the listener at once, and to the {@linkcode Journal} in one batch
 * per scheduler tick. The journal is also the durability gate: a task whose inputs are ready
 * starts only once the batch that made them so is durable, so a crash never loses a result
 * something else already consumed.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { EventListener, RunEvent } from "../core/events.ts";
import type { Logger } from "@logtape/logtape";
import type { Journal, JournalEvent } from "./types.ts";

/**
 * Batches events per tick into a {@linkcode Journal} and holds back gated entries (tasks ready
 * to start) until the batch before them is durable.
 *
 * @example
 * ```ts
 * import { JournalWriter } from "./journal.ts";
 * const written: string[] = [];
 * const started: string[] = [];
 * const writer = new JournalWriter<string>(
 *   { append: async (events) => void written.push(...events.map((e) => e.type)) },
 *   (gated) => started.push(...gated),
 *   () => {},
 * );
 * writer.push({ type: "run.started", runId: "r", time: 0, flow: "f", params: {} });
 * writer.gate("b");
 * await writer.durable();
 * console.assert(written.join() === "run.started" && started.join() === "b");
 * ```
 */
export class JournalWriter<T> {
  readonly #journal: Journal;
  readonly #onDurable: (gated: T[]) => void;
  readonly #onError: (error: unknown) => void;
  #batch: JournalEvent[] = [];
  #gated: T[] = [];
  #scheduled = false;
  #flushing = false;
  #flushed: (() => void) | undefined;
  #error: unknown = undefined;
  #failed = false;

  /**
   * Writes to `journal`; hands gated entries to `onDurable` once what came before them is
   * durable, and reports a failed append to `onError` (once).
   */
  constructor(journal: Journal, onDurable: (gated: T[]) => void, onError: (e: unknown) => void) {
    this.#journal = journal;
    this.#onDurable = onDurable;
    this.#onError = onError;
  }

  /** The error of the append that failed, if one did. */
  get error(): unknown {
    return this.#error;
  }

  /** Whether an append failed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Adds an event to this tick's batch. */
  push(event: JournalEvent): void {
    this.#batch.push(event);
    this.#schedule();
  }

  /** Holds `entry` until everything pushed so far is durable. */
  gate(entry: T): void {
    this.#gated.push(entry);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /** Writes the batch; entries gated meanwhile are released once it is durable. */
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#batch.length || this.#gated.length) {
        const batch = this.#batch;
        const gated = this.#gated;
        this.#batch = [];
        this.#gated = [];
        if (batch.length) await this.#journal.append(batch);
        if (gated.length) this.#onDurable(gated);
      }
    } catch (e) {
      this.#error = e;
      this.#failed = true;
      this.#onError(e);
    } finally {
      this.#flushing = false;
      if (this.#batch.length || this.#gated.length) this.#schedule();
      this.#flushed?.();
    }
  }

  /** Resolves once everything pushed so far is durable (or its append failed). */
  durable(): Promise<void> {
    if (!this.#batch.length && !this.#flushing) return Promise.resolve();
    if (!this.#flushing) return this.#flush();
    return new Promise((resolve) => {
      const previous = this.#flushed;
      this.#flushed = () => {
        previous?.();
        if (!this.#batch.length && !this.#flushing) resolve();
        else void this.#flush().then(() => resolve());
      };
      this.#schedule();
    });
  }
}

/**
 * The run's event stream: each event goes to the listener and, unless it is about a restored
 * call (whose row already holds its result), to the journal with the result it carries.
 */
export class RunEvents {
  /** Receives every event. */
  readonly listener: EventListener | undefined;
  /** The journal's writer, when the run is journaled. */
  readonly journal: { push(event: JournalEvent): void } | undefined;
  /** Whether anyone receives events at all: otherwise they are not built. */
  readonly observed: boolean;
  /** Set while a restored call is being added and settled: the journal does not get those. */
  restoring = false;
  readonly #log: () => Logger;

  /** Events for `listener` and `journal`; a listener's exception is logged through `log`. */
  constructor(
    listener: EventListener | undefined,
    journal: { push(event: JournalEvent): void } | undefined,
    log: () => Logger,
  ) {
    this.listener = listener;
    this.journal = journal;
    this.observed = listener !== undefined || journal !== undefined;
    this.#log = log;
  }

  /** Whether events about the call being handled now have anyone to go to. */
  get wanted(): boolean {
    return this.listener !== undefined || (this.journal !== undefined && !this.restoring);
  }

  /** Whether the call being handled now is journaled. */
  get journaling(): boolean {
    return this.journal !== undefined && !this.restoring;
  }

  /** Sends `event`; `result` travels with it to the journal (listeners get it from the record). */
  emit(event: RunEvent, result?: { value: unknown }): void {
    if (this.journal !== undefined && !this.restoring) {
      // Only a listener would see the result on the event: without one, no copy is needed.
      let e: JournalEvent = event;
      if (result !== undefined) {
        if (this.listener === undefined) (e as { result?: unknown }).result = result.value;
        else e = { ...event, result: result.value };
      }
      this.journal.push(e);
    }
    if (this.listener === undefined) return;
    try {
      this.listener(event);
    } catch (e) {
      this.#log().error("An event listener failed: {error}", { error: errorMessage(e) });
    }
  }
}

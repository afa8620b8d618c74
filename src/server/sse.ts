/**
 * Following a run live: its journal as Server-Sent Events (`id:` is the event's seq in the
 * run's journal, so a client that reconnects with `Last-Event-ID` gets what it missed and
 * nothing twice), and a task's log lines as they come. Everything is read from the state store,
 * where it was written masked, so a stream shows no secret; the server's own notice of a new
 * event only wakes the reader early.
 *
 * @module
 */

import type { RunEvent } from "../core/events.ts";
import type { Store, StoredEvent } from "../store/store.ts";

/** What a follower needs. */
export interface FollowOptions {
  /** The store the run is recorded in. */
  store: Store;
  /** The run. */
  runId: string;
  /** Events after this seq. @default 0 */
  afterSeq?: number;
  /** Only events of this task. */
  taskId?: string;
  /** Only events of these types. */
  types?: readonly string[];
  /** Called when the server sees a new event of the run (or its end), to read at once. */
  wake(fn: (e: RunEvent | undefined) => void): () => void;
  /** Stops following (the client went away). */
  signal: AbortSignal;
  /** How long to wait for a wake-up before reading anyway (runs of other processes), in ms. @default 1000 */
  pollMs?: number;
}

/**
 * The run's events from `afterSeq` on, as they are recorded, until the run has ended and
 * every event was given (or the signal aborts).
 */
export async function* followEvents(o: FollowOptions): AsyncGenerator<StoredEvent> {
  let after = o.afterSeq ?? 0;
  let woken: (() => void) | undefined;
  const stop = o.wake(() => woken?.());
  const aborted = () => woken?.();
  o.signal.addEventListener("abort", aborted);
  try {
    while (!o.signal.aborted) {
      // Ended is read before the events: an event recorded after the end is still given.
      const row = await o.store.getRun(o.runId);
      const events = await o.store.events(o.runId, {
        afterSeq: after,
        ...(o.taskId ? { taskId: o.taskId } : {}),
        ...(o.types ? { types: o.types } : {}),
      });
      for (const e of events) {
        after = e.seq;
        yield e;
      }
      if (!row || row.status !== "running") return;
      if (events.length) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.pollMs ?? 1000);
        woken = () => {
          clearTimeout(timer);
          woken = undefined;
          resolve();
        };
      });
    }
  } finally {
    stop();
    o.signal.removeEventListener("abort", aborted);
  }
}

/** One Server-Sent Event, as text. */
export function sseText(id: number, type: string, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

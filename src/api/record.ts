/**
 * The run record as `flow.run()` gives it: a union by status, so that `result` is the body's
 * value (typed) once `status === "succeeded"` is checked.
 *
 * @module
 */

import type { RunRecord as RunRecordData, TaskRecord } from "../engine/types.ts";

/** What every run record holds, whatever its status. */
export interface RunRecordBase {
  /** The run's id. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** The params the run used, defaults applied. */
  params: Record<string, unknown>;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time. */
  finishedAt: string;
  /** Every task call, map groups followed by their items. */
  tasks: TaskRecord[];
}

/** A run that succeeded: `result` is what the body returned, references resolved. */
export interface SucceededRunRecord<R = unknown> extends RunRecordBase {
  /** Final status. */
  status: "succeeded";
  /** The body's return value with references resolved. */
  result: R;
  /** Nothing went wrong. */
  error?: undefined;
}

/** A run that failed: `error` says why (the failed task's error, or the body's). */
export interface FailedRunRecord<R = unknown> extends RunRecordBase {
  /** Final status. */
  status: "failed";
  /**
   * `undefined`, unless every task succeeded and only the state store failed afterwards (then
   * the body's value, which was not made durable).
   */
  result: R | undefined;
  /** What went wrong. */
  error: string;
}

/** A run that was cancelled (its signal aborted, Ctrl-C, `orchestra cancel`). */
export interface CancelledRunRecord extends RunRecordBase {
  /** Final status. */
  status: "cancelled";
  /** No result. */
  result: undefined;
  /** Why it was cancelled, when known. */
  error?: string;
}

/**
 * The record of one run: the document `orchestra run --json` prints, a union by status.
 *
 * @example
 * ```ts
 * import { flow, type RunRecord, task } from "@orchestra/orchestra";
 * const add = task("add", (a: number, b: number) => a + b);
 * const sum = flow("sum", () => ({ total: add(1, 2) }));
 * const record: RunRecord<{ total: number }> = await sum.run();
 * if (record.status === "succeeded") console.assert(record.result.total === 3);
 * else console.error(record.error);
 * ```
 */
export type RunRecord<R = unknown> =
  | SucceededRunRecord<R>
  | FailedRunRecord<R>
  | CancelledRunRecord;

/** The engine's record, seen through its status (the engine builds it as plain data). */
export function byStatus<R>(record: RunRecordData<R>): RunRecord<R> {
  return record as RunRecord<R>;
}

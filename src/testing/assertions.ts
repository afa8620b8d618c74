/**
 * Assertions over a run record: each throws an `AssertionError` (from `node:assert`) whose
 * message says what was expected and lists every task of the run with its status, attempts
 * and error, so a failing test shows what happened.
 *
 * @module
 */

import assert, { AssertionError } from "node:assert";
import type { RunEvent, TaskStatus } from "../core/events.ts";
import { didYouMean } from "../core/suggest.ts";
import type { RunRecord, TaskRecord } from "../engine/types.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The tasks of a run as lines for a message: id, status, attempts and error or reason.
 *
 * @example
 * ```ts
 * import { describeTasks } from "@orchestra/orchestra/testing";
 * const text = describeTasks({
 *   runId: "r1", flow: "etl", status: "succeeded", result: 1, params: {},
 *   startedAt: "", finishedAt: "",
 *   tasks: [{ id: "load", name: "load", status: "succeeded", attempts: 1 }],
 * });
 * console.assert(text.includes("load  succeeded  1 attempt"));
 * ```
 */
export function describeTasks(record: RunRecord): string {
  const head = `Run "${record.runId}" of flow "${record.flow}" ${record.status}` +
    (record.error !== undefined ? `: ${record.error}` : "");
  if (record.tasks.length === 0) return `${head}\n  (no tasks)`;
  const idWidth = Math.max(...record.tasks.map((t) => t.id.length));
  const statusWidth = Math.max(...record.tasks.map((t) => t.status.length));
  const lines = record.tasks.map((t) => {
    const why = t.error ?? t.reason;
    return `  ${t.id.padEnd(idWidth)}  ${t.status.padEnd(statusWidth)}  ` +
      plural(t.attempts, "attempt") + (why !== undefined ? `  ${why}` : "");
  });
  return `${head}\n${lines.join("\n")}`;
}

function fail(message: string, record: RunRecord, extra: Partial<AssertionErrorOptions> = {}) {
  return new AssertionError({ message: `${message}\n${describeTasks(record)}`, ...extra });
}

type AssertionErrorOptions = ConstructorParameters<typeof AssertionError>[0];

/**
 * The task `taskId` of the run; throws an `AssertionError` naming the run's tasks when it has
 * none of that id.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { getTask } from "@orchestra/orchestra/testing";
 * const record = await flow("f", () => task("one", () => 1)()).run();
 * console.assert(getTask(record, "one").attempts === 1);
 * ```
 */
export function getTask(record: RunRecord, taskId: string): TaskRecord {
  const found = record.tasks.find((t) => t.id === taskId);
  if (found) return found;
  const ids = record.tasks.map((t) => t.id);
  throw fail(
    `Run "${record.runId}" of flow "${record.flow}" has no task "${taskId}"` +
      didYouMean(taskId, ids),
    record,
  );
}

/**
 * Asserts that the run succeeded.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertSucceeded } from "@orchestra/orchestra/testing";
 * assertSucceeded(await flow("f", () => task("one", () => 1)()).run());
 * ```
 */
export function assertSucceeded(record: RunRecord): void {
  if (record.status === "succeeded") return;
  throw fail(
    `Expected run "${record.runId}" of flow "${record.flow}" to succeed, but it ${record.status}`,
    record,
    { actual: record.status, expected: "succeeded", operator: "strictEqual" },
  );
}

/**
 * Asserts that the run failed or, given `taskId`, that this task failed (the run may still have
 * succeeded, under `continueOnError`).
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertFailed } from "@orchestra/orchestra/testing";
 * const boom = task("boom", () => { throw new Error("no"); });
 * const record = await flow("f", () => boom()).run();
 * assertFailed(record);
 * assertFailed(record, "boom");
 * ```
 */
export function assertFailed(record: RunRecord, taskId?: string): void {
  if (taskId === undefined) {
    if (record.status === "failed") return;
    throw fail(
      `Expected run "${record.runId}" of flow "${record.flow}" to fail, but it ${record.status}`,
      record,
      { actual: record.status, expected: "failed", operator: "strictEqual" },
    );
  }
  assertTaskStatus(record, taskId, "failed");
}

/**
 * Asserts the final status of a task.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertTaskStatus } from "@orchestra/orchestra/testing";
 * const boom = task("boom", () => { throw new Error("no"); });
 * const after = task("after", (x: unknown) => x);
 * const record = await flow("f", () => after(boom())).run();
 * assertTaskStatus(record, "after", "skipped");
 * ```
 */
export function assertTaskStatus(record: RunRecord, taskId: string, status: TaskStatus): void {
  const t = getTask(record, taskId);
  if (t.status === status) return;
  throw fail(
    `Expected task "${taskId}" to be ${status}, but it is ${t.status}`,
    record,
    { actual: t.status, expected: status, operator: "strictEqual" },
  );
}

/**
 * The result of a task that succeeded (or came from the cache); throws an `AssertionError`
 * when it did not.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { taskResult } from "@orchestra/orchestra/testing";
 * const record = await flow("f", () => task("one", () => 1)()).run();
 * console.assert(taskResult<number>(record, "one") === 1);
 * ```
 */
export function taskResult<T = unknown>(record: RunRecord, taskId: string): T {
  const t = getTask(record, taskId);
  if (t.status !== "succeeded" && t.status !== "cached") {
    throw fail(`Task "${taskId}" has no result: it is ${t.status}`, record);
  }
  return t.result as T;
}

/**
 * Asserts that a task succeeded (or came from the cache) with a result deeply equal to
 * `expected`; the message shows the difference.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertTaskResult } from "@orchestra/orchestra/testing";
 * const record = await flow("f", () => task("pair", () => ({ a: 1, b: [2] }))()).run();
 * assertTaskResult(record, "pair", { a: 1, b: [2] });
 * ```
 */
export function assertTaskResult(record: RunRecord, taskId: string, expected: unknown): void {
  const actual = taskResult(record, taskId);
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (e) {
    if (!(e instanceof AssertionError)) throw e;
    throw new AssertionError({
      message: `Task "${taskId}" returned another result than expected:\n${e.message}`,
      actual,
      expected,
      operator: "deepStrictEqual",
    });
  }
}

/**
 * Asserts how many attempts a task made (0 when it never started or came from the cache).
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertTaskAttempts } from "@orchestra/orchestra/testing";
 * let calls = 0;
 * const flaky = task({ name: "flaky", retries: { attempts: 3, delay: 0 } }, () => {
 *   if (++calls < 3) throw new Error("try again");
 *   return calls;
 * });
 * assertTaskAttempts(await flow("f", () => flaky()).run(), "flaky", 3);
 * ```
 */
export function assertTaskAttempts(record: RunRecord, taskId: string, attempts: number): void {
  const t = getTask(record, taskId);
  if (t.attempts === attempts) return;
  throw fail(
    `Expected task "${taskId}" to have made ${plural(attempts, "attempt")}, but it made ` +
      `${t.attempts}`,
    record,
    { actual: t.attempts, expected: attempts, operator: "strictEqual" },
  );
}

/**
 * Asserts that a task logged a line containing `text` (a string) or matching it (a RegExp).
 *
 * @example
 * ```ts
 * import { flow, task, type TaskContext } from "@orchestra/orchestra";
 * import { assertLogged } from "@orchestra/orchestra/testing";
 * const hello = task("hello", (ctx: TaskContext) => ctx.log.info("hello, world"));
 * const record = await flow("f", () => hello()).run();
 * assertLogged(record, "hello", "world");
 * assertLogged(record, "hello", /^hello,/);
 * ```
 */
export function assertLogged(record: RunRecord, taskId: string, text: string | RegExp): void {
  const t = getTask(record, taskId);
  const lines = t.logs ?? [];
  const hit = lines.some((l) =>
    typeof text === "string" ? l.message.includes(text) : text.test(l.message)
  );
  if (hit) return;
  const shown = lines.length === 0
    ? "it logged nothing"
    : `its lines:\n${lines.map((l) => `    ${l.level}: ${l.message}`).join("\n")}`;
  const wanted = typeof text === "string"
    ? `containing ${JSON.stringify(text)}`
    : `matching ${text}`;
  throw fail(`Expected task "${taskId}" to log a line ${wanted}, but ${shown}`, record);
}

type Ran = { start: number; end: number } | undefined;

/** Positions of a task's first start (a map's expansion) and its settling in the events. */
function positions(events: readonly RunEvent[], taskId: string): Ran {
  let start = -1;
  let end = -1;
  events.forEach((e, i) => {
    if (!("taskId" in e) || e.taskId !== taskId) return;
    const starts = e.type === "task.started" || e.type === "task.cached" ||
      e.type === "map.expanded";
    if (start < 0 && starts) start = i;
    if (
      e.type === "task.succeeded" || e.type === "task.cached" || e.type === "task.failed" ||
      e.type === "task.cancelled"
    ) end = i;
  });
  return start < 0 ? undefined : { start, end: end < 0 ? Infinity : end };
}

/**
 * Asserts that task `a` finished before task `b` started. With the events of the run (the
 * record `runFlow()` returns carries them) the order of events decides; with a plain record
 * the times do (`a` finished at or before `b` started), which cannot tell apart tasks that
 * ran in the same millisecond.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import { assertRanBefore } from "@orchestra/orchestra/testing";
 * const first = task("first", () => 1);
 * const second = task("second", (x: number) => x + 1);
 * assertRanBefore(await flow("f", () => second(first())).run(), "first", "second");
 * ```
 */
export function assertRanBefore(record: RunRecord, a: string, b: string): void {
  const ta = getTask(record, a);
  const tb = getTask(record, b);
  const events = (record as { events?: readonly RunEvent[] }).events;
  const never = (t: TaskRecord) => `task "${t.id}" never ran (it is ${t.status})`;
  const expected = `Expected task "${a}" to finish before task "${b}" started`;
  if (events !== undefined) {
    const pa = positions(events, a);
    const pb = positions(events, b);
    if (pa === undefined) throw fail(`${expected}, but ${never(ta)}`, record);
    if (pb === undefined) throw fail(`${expected}, but ${never(tb)}`, record);
    if (pa.end < pb.start) return;
    const why = pa.end === Infinity
      ? `task "${a}" had not finished when the run ended`
      : pb.start < pa.start
      ? `task "${b}" started first`
      : `task "${b}" started while "${a}" was still running`;
    throw fail(`${expected}, but ${why}`, record);
  }
  if (ta.startedAt === undefined) throw fail(`${expected}, but ${never(ta)}`, record);
  if (tb.startedAt === undefined) throw fail(`${expected}, but ${never(tb)}`, record);
  if (ta.finishedAt !== undefined && ta.finishedAt <= tb.startedAt) return;
  throw fail(
    `${expected}, but "${a}" finished at ${ta.finishedAt ?? "(never)"} and "${b}" started at ` +
      tb.startedAt,
    record,
  );
}

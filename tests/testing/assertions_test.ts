import assert, { AssertionError } from "node:assert/strict";
import { flow, task, type TaskContext } from "../../mod.ts";
import type { RunRecord } from "../../src/engine/types.ts";
import {
  assertFailed,
  assertLogged,
  assertRanBefore,
  assertSucceeded,
  assertTaskAttempts,
  assertTaskResult,
  assertTaskStatus,
  describeTasks,
  getTask,
  runFlow,
  taskResult,
} from "../../testing.ts";

// extract → load (fails after 2 attempts) → report (skipped); audit runs alongside and logs.
const extract = task("extract", () => [1, 2]);
const load = task(
  { name: "load", retries: { attempts: 2, delay: "5s" } },
  (_rows: number[]): number => {
    throw new Error("disk full");
  },
);
const report = task("report", (n: number) => `loaded ${n}`);
const audit = task("audit", (ctx: TaskContext) => {
  ctx.log.info("audit started");
  ctx.log.warn("3 rows without a region");
  return { ok: true, rows: [1, 2] };
});
const etl = flow("etl", () => ({ report: report(load(extract())), audit: audit() }));

const failed = await runFlow(etl, { runId: "run-f" });
const fixed = await runFlow(etl, { runId: "run-s", mocks: { load: 2 } });

/** The message of the AssertionError `fn` throws. */
function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AssertionError, `expected an AssertionError, got ${e}`);
    return e.message;
  }
  assert.fail("expected an AssertionError, nothing was thrown");
}

const FAILURE = 'Task "load" failed after 2 attempts: disk full';
const TABLE = [
  `Run "run-f" of flow "etl" failed: ${FAILURE}`,
  "  extract  succeeded  1 attempt",
  `  load     failed     2 attempts  ${FAILURE}`,
  '  report   skipped    0 attempts  upstream "load" failed',
  "  audit    succeeded  1 attempt",
].join("\n");

Deno.test("describeTasks() lists every task with status, attempts and error or reason", () => {
  assert.equal(describeTasks(failed), TABLE);
  const empty: RunRecord = { ...fixed, tasks: [] };
  assert.equal(describeTasks(empty), `Run "run-s" of flow "etl" succeeded\n  (no tasks)`);
});

Deno.test("assertSucceeded() passes a run that succeeded and lists the tasks otherwise", () => {
  assertSucceeded(fixed);
  const message = messageOf(() => assertSucceeded(failed));
  assert.match(message, /^Expected run "run-f" of flow "etl" to succeed, but it failed\n/);
  assert.ok(message.includes(`\n${TABLE}\n`), message);
  assert.throws(() => assertSucceeded(failed), { actual: "failed", expected: "succeeded" });
});

Deno.test("assertFailed() checks the run, or one task", () => {
  assertFailed(failed);
  assertFailed(failed, "load");
  assert.match(
    messageOf(() => assertFailed(fixed)),
    /^Expected run "run-s" of flow "etl" to fail, but it succeeded\n/,
  );
  assert.match(
    messageOf(() => assertFailed(failed, "extract")),
    /^Expected task "extract" to be failed, but it is succeeded\n/,
  );
});

Deno.test("assertTaskStatus() compares the status and names an unknown task", () => {
  assertTaskStatus(failed, "report", "skipped");
  assertTaskStatus(fixed, "report", "succeeded");
  const message = messageOf(() => assertTaskStatus(failed, "report", "succeeded"));
  assert.match(message, /^Expected task "report" to be succeeded, but it is skipped\n/);
  assert.match(message, /report {3}skipped {4}0 attempts {2}upstream "load" failed/);
  assert.match(
    messageOf(() => assertTaskStatus(failed, "laod", "failed")),
    /^Run "run-f" of flow "etl" has no task "laod" \(did you mean "load"\?\)\n/,
  );
});

Deno.test("taskResult() and getTask() return what the run recorded", () => {
  assert.equal(taskResult(fixed, "report"), "loaded 2");
  assert.deepEqual(taskResult<{ ok: boolean }>(fixed, "audit").ok, true);
  assert.equal(getTask(failed, "load").attempts, 2);
  assert.match(
    messageOf(() => taskResult(failed, "load")),
    /^Task "load" has no result: it is failed\n/,
  );
  assert.match(messageOf(() => getTask(failed, "nope")), /has no task "nope"\n/);
});

Deno.test("assertTaskResult() compares deeply and shows the difference", () => {
  assertTaskResult(fixed, "audit", { ok: true, rows: [1, 2] });
  assertTaskResult(fixed, "load", 2);
  const message = messageOf(() => assertTaskResult(fixed, "audit", { ok: true, rows: [1, 3] }));
  assert.match(message, /^Task "audit" returned another result than expected:\n/);
  assert.match(message, /-\s+3/);
  assert.match(message, /\+\s+2/);
  assert.throws(() => assertTaskResult(fixed, "audit", {}), {
    actual: { ok: true, rows: [1, 2] },
    expected: {},
  });
  assert.match(
    messageOf(() => assertTaskResult(failed, "report", "loaded 2")),
    /^Task "report" has no result: it is skipped\n/,
  );
});

Deno.test("assertTaskAttempts() counts attempts", () => {
  assertTaskAttempts(failed, "load", 2);
  assertTaskAttempts(failed, "report", 0);
  assertTaskAttempts(fixed, "load", 1);
  assert.match(
    messageOf(() => assertTaskAttempts(failed, "load", 3)),
    /^Expected task "load" to have made 3 attempts, but it made 2\n/,
  );
  assert.match(
    messageOf(() => assertTaskAttempts(failed, "extract", 2)),
    /^Expected task "extract" to have made 2 attempts, but it made 1\n/,
  );
});

Deno.test("assertLogged() finds a line by text or pattern and shows the lines otherwise", () => {
  assertLogged(failed, "audit", "without a region");
  assertLogged(failed, "audit", /^\d+ rows/);
  const message = messageOf(() => assertLogged(failed, "audit", "all rows have a region"));
  assert.ok(
    message.startsWith(
      'Expected task "audit" to log a line containing "all rows have a region", but its ' +
        "lines:\n    info: audit started\n    warning: 3 rows without a region\n",
    ),
    message,
  );
  assert.match(
    messageOf(() => assertLogged(failed, "extract", /x/)),
    /^Expected task "extract" to log a line matching \/x\/, but it logged nothing\n/,
  );
});

Deno.test("assertRanBefore() follows the order of events", () => {
  assertRanBefore(fixed, "extract", "load");
  assertRanBefore(fixed, "load", "report");
  const expected = (a: string, b: string) => `Expected task "${a}" to finish before task "${b}"`;
  assert.ok(
    messageOf(() => assertRanBefore(fixed, "report", "extract")).startsWith(
      `${expected("report", "extract")} started, but task "extract" started first\n`,
    ),
  );
  assert.ok(
    messageOf(() => assertRanBefore(failed, "load", "report")).startsWith(
      `${expected("load", "report")} started, but task "report" never ran (it is skipped)\n`,
    ),
  );
});

Deno.test("assertRanBefore() tells overlapping tasks apart at one virtual instant", async () => {
  // Both start at the same virtual time; only the events tell who waited for whom.
  const slow = task("slow", async (ctx: TaskContext) => {
    await ctx.sleep(1000);
    return 1;
  });
  const quick = task("quick", () => 2);
  const run = await runFlow(flow("overlap", () => [slow(), quick()]));
  assert.equal(getTask(run, "slow").startedAt, getTask(run, "quick").startedAt);
  assert.match(
    messageOf(() => assertRanBefore(run, "slow", "quick")),
    /but task "quick" started while "slow" was still running\n/,
  );
});

Deno.test("assertRanBefore() treats a map as running from its expansion to its end", async () => {
  const numbers = task("numbers", () => [1, 2]);
  const square = task("square", (x: number) => x * x);
  const sum = task("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const run = await runFlow(flow("mapped", (f) => sum(f.map(numbers(), square))));
  assertRanBefore(run, "numbers", "square");
  assertRanBefore(run, "square[1]", "sum");
  assertRanBefore(run, "square", "sum");
  assert.match(
    messageOf(() => assertRanBefore(run, "sum", "square")),
    /but task "square" started first\n/,
  );
});

Deno.test("assertRanBefore() on a plain record compares the times", () => {
  const plain: RunRecord = JSON.parse(JSON.stringify(fixed));
  const at = (s: number) => new Date(s * 1000).toISOString();
  plain.tasks = [
    { id: "a", name: "a", status: "succeeded", attempts: 1, startedAt: at(0), finishedAt: at(2) },
    { id: "b", name: "b", status: "succeeded", attempts: 1, startedAt: at(2), finishedAt: at(3) },
    { id: "c", name: "c", status: "succeeded", attempts: 1, startedAt: at(1), finishedAt: at(4) },
  ];
  assertRanBefore(plain, "a", "b");
  assert.match(
    messageOf(() => assertRanBefore(plain, "a", "c")),
    new RegExp(`but "a" finished at ${at(2)} and "c" started at ${at(1)}\\n`),
  );
});

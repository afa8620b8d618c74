// Timeouts are honest: an attempt that overran its timeout is never recorded as succeeded. A
// worker (or process) is stopped at the timeout; an inline task cannot be preempted, so it is
// recorded timed out when it returns (a failed attempt, retried if its policy says so).
import assert from "node:assert/strict";
import {
  type Clock,
  FakeClock,
  flow,
  type RunEvent,
  type RunRecord,
  task,
  type TaskContext,
  TaskTimeoutError,
} from "../../mod.ts";

function spinFor(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x++;
  return x;
}

function only(record: RunRecord) {
  assert.equal(record.tasks.length, 1);
  return record.tasks[0];
}

Deno.test("a CPU-bound inline task past its timeout is recorded timed out, not succeeded", async () => {
  const busy = task({ name: "busy", timeout: "50ms" }, () => spinFor(150));
  const record = await flow("cpu", () => busy()).run();
  assert.equal(record.status, "failed");
  const t = only(record);
  assert.equal(t.status, "failed");
  assert.match(t.error!, /Task "busy" timed out after 50ms \(it returned after \d+(\.\d+)?m?s: /);
  assert.match(t.error!, /executor "worker" stops it at its timeout/);
});

Deno.test("an inline task that blocks the thread and then resolves is timed out too", async () => {
  const busy = task({ name: "busy", timeout: "40ms" }, async () => {
    await Promise.resolve();
    return spinFor(120);
  });
  const events: RunEvent[] = [];
  const record = await flow("cpu-async", () => busy()).run({}, { onEvent: (e) => events.push(e) });
  assert.equal(only(record).status, "failed");
  assert.ok(!events.some((e) => e.type === "task.succeeded"));
});

Deno.test("a timed-out inline attempt is retried when the policy says so", async () => {
  let calls = 0;
  const busy = task(
    { name: "busy", timeout: "40ms", retries: { attempts: 3, delay: 0 } },
    () => ++calls < 3 ? spinFor(120) : "in time",
  );
  const retried: string[] = [];
  const record = await flow("cpu-retry", () => busy()).run({}, {
    onEvent: (e) => e.type === "task.retrying" && retried.push(e.error),
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, "in time");
  assert.equal(only(record).attempts, 3);
  assert.equal(retried.length, 2);
  assert.match(retried[0], /timed out after 40ms/);
});

Deno.test("a task that throws after overrunning its timeout is recorded timed out", async () => {
  const busy = task({
    name: "busy",
    timeout: "30ms",
    retries: { attempts: 2, delay: 0, retryOn: ["TaskTimeoutError"] },
  }, () => {
    spinFor(90);
    throw new Error("its own error");
  });
  const record = await flow("cpu-throw", () => busy()).run();
  const t = only(record);
  assert.equal(t.attempts, 2, "retryOn saw a TaskTimeoutError");
  assert.match(t.error!, /timed out after 30ms/);
});

Deno.test("on a FakeClock, time passing during a synchronous task times it out", async () => {
  const clock = new FakeClock(0);
  let reason: unknown;
  const busy = task({ name: "busy", timeout: "1s" }, (ctx: TaskContext) => {
    clock.advance(1500); // the task holds the thread while 1.5 virtual seconds pass
    reason = ctx.signal.reason;
    return "too late";
  });
  const record = await flow("fake", () => busy()).run({}, { clock });
  assert.equal(only(record).status, "failed");
  assert.ok(reason instanceof TaskTimeoutError);
  assert.match(only(record).error!, /timed out after 1s/);
});

Deno.test("with a clock whose timers cannot fire while the task runs, the late return is caught", async () => {
  // What a CPU-bound task does to a real timer, deterministically: time moves, no timer fires.
  let now = 0;
  const stuck: Clock = { now: () => now, setTimer: () => () => {} };
  const busy = task({ name: "busy", timeout: "1s" }, () => {
    now += 8000;
    return "eight seconds later";
  });
  const record = await flow("stuck", () => busy()).run({}, { clock: stuck });
  const t = only(record);
  assert.equal(t.status, "failed");
  assert.match(t.error!, /timed out after 1s \(it returned after 8s:/);
  const quick = task({ name: "quick", timeout: "1s" }, () => (now += 1000, "exactly on time"));
  assert.equal((await flow("edge", () => quick()).run({}, { clock: stuck })).status, "succeeded");
});

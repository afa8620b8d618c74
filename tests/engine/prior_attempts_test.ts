// A run restarted after its flow isolate was stopped continues each call from the attempts it
// made: the retry budget carries across, a call that failed for good stays failed.
import assert from "node:assert/strict";
import { executeFlow, flow, task, type TaskContext, TaskTimeoutError } from "../../mod.ts";

function counting(name: string, attempts: number) {
  const calls: number[] = [];
  const t = task({ name, retries: { attempts, delay: 0 } }, (ctx: TaskContext) => {
    calls.push(ctx.attempt);
    return ctx.attempt;
  });
  return { t, calls };
}

Deno.test("priorAttempts: a call whose last attempt timed out is retried as its next attempt", async () => {
  const { t, calls } = counting("spin", 3);
  const record = await executeFlow(flow("prior", () => t()), {}, {
    priorAttempts: new Map([["spin", { attempts: 1, error: new TaskTimeoutError("spin", 10) }]]),
  });
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(calls, [2], "attempt 1 is not made again");
  assert.equal(record.tasks[0].attempts, 2);
});

Deno.test("priorAttempts: a timed-out last attempt with no budget left fails the call without running it", async () => {
  const { t, calls } = counting("spin", 2);
  const record = await executeFlow(flow("prior", () => t()), {}, {
    priorAttempts: new Map([["spin", { attempts: 2, error: new TaskTimeoutError("spin", 10) }]]),
  });
  assert.equal(record.status, "failed");
  assert.deepEqual(calls, []);
  assert.equal(record.tasks[0].attempts, 2);
  assert.match(
    record.tasks[0].error!,
    /Task "spin" failed after 2 attempts: Task "spin" timed out after 10ms/,
  );
});

Deno.test("priorAttempts: an attempt cut short by the restart runs again under the same number", async () => {
  const { t, calls } = counting("cut", 3);
  const record = await executeFlow(flow("prior", () => t()), {}, {
    priorAttempts: new Map([["cut", { attempts: 1 }]]),
  });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(calls, [2]);
});

Deno.test("priorAttempts: a call that had failed for good fails again, and does not run", async () => {
  const { t, calls } = counting("gone", 5);
  const record = await executeFlow(flow("prior", () => t()), {}, {
    priorAttempts: new Map([["gone", { attempts: 1, error: new Error("boom"), final: true }]]),
  });
  assert.equal(record.status, "failed");
  assert.deepEqual(calls, []);
  assert.equal(record.tasks[0].error, `Task "gone" failed after 1 attempt: boom`);
});

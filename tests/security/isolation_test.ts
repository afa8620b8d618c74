// Escape attempts between tasks that could share a worker: one task (or code of its module)
// tries to read another call's secrets or arguments, or to forge its result. Every worker
// starts from the sandbox bootstrap, which captures the bridge to the host before user code
// loads; tasks that declare different secrets never share a worker. Each attack runs in a pool
// of one worker per key, so the tasks share a worker wherever the pool allows it.
import assert from "node:assert/strict";
import { flow, type FlowHandle, type RunRecord } from "../../mod.ts";
import { WorkerPool } from "../../src/executors/worker_pool.ts";
import { reversed } from "../fixtures/security/isolation/_shared.ts";
import * as contextHook from "../fixtures/security/isolation/context_hook.ts";
import * as internals from "../fixtures/security/isolation/internals.ts";
import * as leftover from "../fixtures/security/isolation/leftover_timer.ts";
import * as messageSpy from "../fixtures/security/isolation/message_spy.ts";
import * as output from "../fixtures/security/isolation/output.ts";
import * as postForge from "../fixtures/security/isolation/post_forge.ts";
import * as pollution from "../fixtures/security/isolation/proto_pollution.ts";
import * as shared from "../fixtures/security/isolation/shared_global.ts";
import * as uncaught from "../fixtures/security/isolation/uncaught.ts";

const SECRET = "isolation-secret-4f1c";
const ARG = "private-argument-9d2e";

async function run(body: (f: FlowHandle) => unknown): Promise<RunRecord> {
  const pool = new WorkerPool({ size: 1 });
  try {
    return await flow("isolation", body).run({}, { workerPool: pool, secrets: () => SECRET });
  } finally {
    await pool.close();
  }
}

function byId(record: RunRecord) {
  return Object.fromEntries(record.tasks.map((t) => [t.id, t]));
}

/** Nothing secret or private shows anywhere in the record, in clear or reversed. */
function assertNoLeak(record: RunRecord): void {
  const text = JSON.stringify(record);
  for (const v of [SECRET, ARG]) {
    assert.ok(!text.includes(reversed(v)), `${v} leaked: ${text}`);
  }
}

Deno.test("escape attempt: a task that declares no secret reads another task's secret through message events", async () => {
  const record = await run(async () => {
    await messageSpy.victim(ARG);
    return messageSpy.report();
  });
  assertNoLeak(record);
  assert.equal(byId(record).victim.status, "succeeded");
  assert.equal(record.result, "", "the module saw no message at all");
});

Deno.test("escape attempt: module code reads another call's arguments through message events", async () => {
  const record = await run(async () => {
    await messageSpy.plainVictim(ARG);
    return messageSpy.report();
  });
  assertNoLeak(record);
  assert.equal(record.result, "", "the module saw no message at all");
});

Deno.test("escape attempt: module code wrapping postMessage forges another call's result", async () => {
  const record = await run(() => postForge.victim());
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(record.result, "genuine");
});

Deno.test("escape attempt: a timer left by one task posts replies naming another call's id", async () => {
  const record = await run(async () => {
    await postForge.forger();
    return postForge.slowVictim();
  });
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(record.result, "genuine");
});

Deno.test("escape attempt: an overridden Promise.prototype.then forges another call's result", async () => {
  const record = await run(async () => {
    await postForge.thenForger();
    return postForge.slowVictim();
  });
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(record.result, "genuine");
});

Deno.test("escape attempt: a setter on the worker context global captures another task's context and secret", async () => {
  const record = await run(async () => {
    await contextHook.victim();
    await contextHook.thief();
    return contextHook.report();
  });
  assertNoLeak(record);
  assert.match(byId(record).thief.result as string, /^refused: /, "the hook was refused");
  assert.equal(byId(record).victim.status, "succeeded");
});

Deno.test("escape attempt: a setter on Object.prototype captures the context the worker hands a task", async () => {
  const record = await run(async () => {
    await pollution.victim(ARG);
    return pollution.report();
  });
  assertNoLeak(record);
  assert.doesNotMatch(record.result as string, /fo txetnoc/, "no context was captured");
});

Deno.test("escape attempt: a hooked Array.prototype.push sees the messages the worker queues", async () => {
  const record = await run(async () => {
    await pollution.report();
    await pollution.victim(ARG);
    return pollution.report();
  });
  assertNoLeak(record);
  assert.doesNotMatch(record.result as string, /:egassem/, "no message was seen");
});

Deno.test("escape attempt: a task reaches Deno's internals to hook every promise in its worker", async () => {
  const record = await run(async () => {
    await internals.spy();
    await internals.victim(ARG);
    return internals.report();
  });
  assertNoLeak(record);
  assert.equal(byId(record).spy.result, "no internals");
});

Deno.test("escape attempt: a timer left running by one task reads the next task's context", async () => {
  const record = await run(async () => {
    await leftover.spy();
    await leftover.victim();
    return leftover.report();
  });
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(record.result, "", "the timer never saw the next task");
  const logs = byId(record).victim.logs ?? [];
  assert.ok(!logs.some((l) => /injected/.test(l.message)), "nothing was logged in its name");
});

Deno.test("escape attempt: an uncaught error in one task's async work fails the next task sharing its worker", async () => {
  const record = await run(() => ({ a: uncaught.thrower(), b: uncaught.bystander() }));
  const t = byId(record);
  assert.equal(t.thrower.status, "failed");
  assert.match(
    t.thrower.error!,
    /task "thrower" raised an uncaught error: Error: boom from the thrower's timer/,
  );
  assert.equal(t.bystander.status, "succeeded", t.bystander.error);
  assert.equal(t.bystander.result, "unharmed");
});

Deno.test("escape attempt: an unhandled rejection in one task's async work fails the next task sharing its worker", async () => {
  const record = await run(() => ({ a: uncaught.rejecter(), b: uncaught.bystander() }));
  const t = byId(record);
  assert.equal(t.rejecter.status, "failed");
  assert.match(
    t.rejecter.error!,
    /task "rejecter" raised an uncaught rejection: Error: rejected and never handled/,
  );
  assert.equal(t.bystander.status, "succeeded", t.bystander.error);
});

Deno.test("escape attempt: a timer that throws after its task ended fails whichever task runs then", async () => {
  const record = await run(async () => {
    await uncaught.lateThrower();
    return uncaught.bystander();
  });
  const t = byId(record);
  assert.equal(t.late_thrower.status, "succeeded");
  assert.equal(t.bystander.status, "succeeded", t.bystander.error);
});

Deno.test("escape attempt: a worker task writes to the process's stdout and stderr around its log and masking", async () => {
  const record = await run(() => output.shout());
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(record.tasks[0].logs!.map((l) => [l.level, l.message]), [
    ["info", "stdout ***"],
    ["error", "stderr ***"],
    ["info", "node ***"],
    ["info", "stream ***"],
  ]);
});

Deno.test("tasks that declare different secrets never share a worker", async () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    await flow("keys", () => ({ a: messageSpy.victim(ARG), b: messageSpy.plainVictim(ARG) }))
      .run({}, { workerPool: pool, secrets: () => SECRET });
    assert.equal(pool.workers, 2, "one worker per set of secret names");
  } finally {
    await pool.close();
  }
});

// Known limitation: tasks of one module with the same grant and the same secrets share a
// worker, and so its globals; code of that module that patches a global another call then
// uses sees what it passes. Give such a task its own worker (another grant, or its own module).
Deno.test("known limitation: a task that patches a global sees what another call of its module passes to it", async () => {
  const record = await run(async () => {
    await shared.spy();
    await shared.victim(ARG);
    return shared.report();
  });
  assert.equal(record.status, "succeeded", record.error);
  // The spy kept what it saw reversed; the report reverses it back.
  assert.equal(record.result, ARG);
});

Deno.test("known limitation: a getter for then on Object.prototype sees the result another call of its module returns", async () => {
  const record = await run(async () => {
    await shared.thenSpy();
    await shared.objectVictim(ARG);
    return shared.report();
  });
  assert.equal(record.status, "succeeded", record.error);
  assert.match(record.result as string, new RegExp(ARG));
});

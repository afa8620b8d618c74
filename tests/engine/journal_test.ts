import assert from "node:assert/strict";
import { flow, type JournalEvent, NonDeterminismError, task } from "../../mod.ts";

function slowJournal(log: string[]) {
  const events: JournalEvent[] = [];
  return {
    events,
    async append(batch: readonly JournalEvent[]) {
      await new Promise((r) => setTimeout(r, 5));
      for (const e of batch) {
        events.push(e);
        if (e.type === "task.succeeded") log.push(`durable ${"taskId" in e ? e.taskId : ""}`);
      }
    },
  };
}

Deno.test("a task's result is durable before anything that depends on it starts", async () => {
  const log: string[] = [];
  const a = task("a", () => {
    log.push("run a");
    return 1;
  });
  const b = task("b", (x: number) => {
    log.push("run b");
    return x + 1;
  });
  const journal = slowJournal(log);
  const record = await flow("durable", () => b(a())).run({}, { journal });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(log, ["run a", "durable a", "run b", "durable b"]);
  const done = journal.events.find((e) => e.type === "task.succeeded" && e.taskId === "a");
  assert.equal(done?.result, 1);
  const finished = journal.events.at(-1)!;
  assert.equal(finished.type, "run.finished");
  assert.equal(finished.result, 2);
});

Deno.test("a journal that fails stops the run, which fails with the store's error", async () => {
  const a = task("a", () => 1);
  const b = task("b", (x: number) => x);
  let calls = 0;
  const record = await flow("broken", () => b(a())).run({}, {
    journal: {
      append() {
        if (++calls >= 2) return Promise.reject(new Error("disk full"));
        return Promise.resolve();
      },
    },
  });
  assert.equal(record.status, "failed");
  assert.match(record.error!, /the state store failed: disk full/);
});

Deno.test("restored calls keep their results and do not run again", async () => {
  let ran = 0;
  const a = task("a", () => {
    ran++;
    return 10;
  });
  const b = task("b", (x: number) => x * 2);
  const record = await flow("resume", () => b(a())).run({}, {
    restore: new Map([["a", { name: "a", value: 21, attempts: 1 }]]),
  });
  assert.equal(ran, 0);
  assert.equal(record.result, 42);
  assert.equal(record.tasks[0].status, "succeeded");
});

Deno.test("a body that calls a different task on replay is a non-determinism error", async () => {
  const a = task("a", () => 1);
  const record = await flow("changed", () => a()).run({}, {
    restore: new Map([["a", { name: "a", value: 1, attempts: 1 }]]),
  });
  assert.equal(record.status, "succeeded");
  const other = task("other", () => 2);
  const changed = await flow("changed", (f) => f.call(other, [], { id: "a" })).run({}, {
    restore: new Map([["a", { name: "a", value: 1, attempts: 1 }]]),
  });
  assert.equal(changed.status, "failed");
  assert.match(
    changed.error!,
    /call "a" was task "a" when the run began, but the flow body now calls task "other"/,
  );
  assert.equal(NonDeterminismError.name, "NonDeterminismError");
});

Deno.test("restored calls are not journaled again: their rows already hold their results", async () => {
  const a = task("a", () => 1);
  const b = task("b", (x: number) => x + 1);
  const journal = slowJournal([]);
  const record = await flow("again", () => b(a())).run({}, {
    journal,
    restore: new Map([["a", { name: "a", value: 1, attempts: 1 }]]),
  });
  assert.equal(record.status, "succeeded");
  const about = (id: string) =>
    journal.events.filter((e) => "taskId" in e && e.taskId === id).map((e) => e.type);
  assert.deepEqual(about("a"), []);
  assert.deepEqual(about("b"), ["task.created", "task.started", "task.succeeded"]);
});

Deno.test("a listener still sees restored calls' events while the journal gets none", async () => {
  const a = task("a", () => 1);
  const b = task("b", (x: number) => x + 1);
  const journal = slowJournal([]);
  const seen: string[] = [];
  const record = await flow("listened", () => b(a())).run({}, {
    journal,
    restore: new Map([["a", { name: "a", value: 1, attempts: 1 }]]),
    onEvent: (e) => {
      if ("taskId" in e && e.taskId === "a") seen.push(e.type);
    },
  });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(seen, ["task.created", "task.succeeded"]);
  assert.deepEqual(journal.events.filter((e) => "taskId" in e && e.taskId === "a"), []);
});

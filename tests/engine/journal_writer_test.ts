import assert from "node:assert/strict";
import { JournalWriter, RunEvents } from "../../src/engine/journal.ts";
import type { JournalEvent } from "../../src/engine/types.ts";
import type { RunEvent } from "../../src/core/events.ts";
import { log } from "./_parts.ts";

const ev = (taskId: string): RunEvent => ({
  type: "task.started",
  runId: "r",
  time: 0,
  taskId,
  name: taskId,
  attempt: 1,
});

Deno.test("JournalWriter appends one batch per tick", async () => {
  const batches: string[][] = [];
  const writer = new JournalWriter<string>(
    {
      append: (
        b,
      ) => (batches.push(b.map((e) => (e as { taskId: string }).taskId)), Promise.resolve()),
    },
    () => {},
    () => {},
  );
  writer.push(ev("a"));
  writer.push(ev("b"));
  await writer.durable();
  writer.push(ev("c"));
  await writer.durable();
  assert.deepEqual(batches, [["a", "b"], ["c"]]);
});

Deno.test("JournalWriter releases gated entries only after the batch before them is durable", async () => {
  const log: string[] = [];
  let release!: () => void;
  const writer = new JournalWriter<string>(
    {
      append: () => {
        log.push("append");
        return new Promise((r) => (release = () => (log.push("durable"), r())));
      },
    },
    (gated) => log.push(`start ${gated.join()}`),
    () => {},
  );
  writer.push(ev("a"));
  writer.gate("b");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(log, ["append"]);
  release();
  await writer.durable();
  assert.deepEqual(log, ["append", "durable", "start b"]);
});

Deno.test("JournalWriter reports a failed append once and remembers it", async () => {
  const errors: unknown[] = [];
  const writer = new JournalWriter<string>(
    { append: () => Promise.reject(new Error("disk full")) },
    () => {},
    (e) => errors.push(e),
  );
  writer.push(ev("a"));
  await writer.durable();
  assert.equal(errors.length, 1);
  assert.equal(writer.failed, true);
  assert.match(String(writer.error), /disk full/);
});

Deno.test("RunEvents give the journal the result, and nothing about restored calls", () => {
  const journaled: JournalEvent[] = [];
  const heard: RunEvent[] = [];
  const events = new RunEvents((e) => heard.push(e), { push: (e) => journaled.push(e) }, log);
  assert.equal(events.observed, true);
  const done: RunEvent = {
    type: "task.succeeded",
    runId: "r",
    time: 0,
    taskId: "a",
    name: "a",
    attempt: 1,
    durationMs: 0,
  };
  events.emit(done, { value: 42 });
  assert.equal(journaled[0].result, 42);
  assert.equal((heard[0] as JournalEvent).result, undefined, "the listener's copy has no result");
  events.restoring = true;
  assert.equal(events.journaling, false);
  events.emit(ev("restored"));
  assert.equal(journaled.length, 1);
  assert.equal(heard.length, 2);
});

Deno.test("RunEvents survive a listener that throws", () => {
  const events = new RunEvents(
    () => {
      throw new Error("bad listener");
    },
    undefined,
    log,
  );
  events.emit(ev("a"));
  assert.equal(events.journaling, false);
});

import assert from "node:assert/strict";
import { task } from "../../mod.ts";
import { RunCancelledError, TaskSkippedError } from "../../src/core/errors.ts";
import { STATUS } from "../../src/engine/node.ts";
import { parts, recordingJournal, tick } from "./_parts.ts";

const t = task("t", (..._a: unknown[]) => 1);
const p = (priority: number) => task({ name: `p${priority}`, priority }, () => 1);

Deno.test("Scheduler starts a node once its dependencies have settled", async () => {
  const { graph, started, finish } = parts();
  const a = graph.call(t, []);
  const b = graph.call(t, [a]);
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["t"]);
  finish(a, 5);
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["t", "t#2"]);
  assert.deepEqual(b.args, [5], "its arguments are resolved when it starts");
});

Deno.test("Scheduler keeps to the global limit and starts by priority, then call order", async () => {
  const { graph, started, finish } = parts({ limit: 1 });
  graph.call(p(0), []);
  graph.call(p(1), []);
  graph.call(p(5), []);
  graph.call(p(5), [], { id: "p5-later" });
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["p5"], "one slot");
  for (let i = 0; i < 3; i++) finish(started[i], 1);
  assert.deepEqual(started.map((n) => n.id), ["p5", "p5-later", "p1", "p0"]);
});

Deno.test("Scheduler parks map items beyond the map's own limit", async () => {
  const { graph, started, finish } = parts();
  const group = graph.map([1, 2, 3], t, { concurrency: 2 });
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["t[0]", "t[1]"]);
  finish(started[0], "a");
  assert.deepEqual(started.map((n) => n.id), ["t[0]", "t[1]", "t[2]"]);
  finish(started[1], "b");
  finish(started[2], "c");
  assert.equal(STATUS[group.state], "succeeded");
  assert.deepEqual(group.value, ["a", "b", "c"]);
});

Deno.test("Scheduler skips everything downstream of a failure, iteratively", async () => {
  const { graph, started, failWith, events } = parts();
  const head = graph.call(t, []);
  let prev = head;
  for (let i = 0; i < 20_000; i++) prev = graph.call(t, [prev]);
  await tick();
  failWith(head, new Error("boom"));
  assert.equal(started.length, 1);
  assert.equal(STATUS[prev.state], "skipped");
  assert.equal(prev.reason, `upstream "t" failed`);
  assert.ok(prev.error instanceof TaskSkippedError);
  assert.equal(events.filter((e) => e.type === "task.skipped").length, 20_000);
});

Deno.test("Scheduler asks a node's condition once its dependencies have settled", async () => {
  const { graph, started, finish } = parts();
  const a = graph.call(t, []);
  const seen: unknown[] = [];
  const no = graph.call(t, [a], {
    condition: { text: '"never"', test: (info) => (seen.push(info), false) },
  });
  const yes = graph.call(t, [a], { condition: { text: '"always"', test: () => true } });
  await tick();
  finish(a, 3);
  await tick();
  assert.deepEqual(seen, [{ statuses: { t: "succeeded" }, values: { t: 3 }, cancelled: false }]);
  assert.equal(STATUS[no.state], "skipped");
  assert.equal(no.reason, 'condition "never" is false');
  assert.ok(started.includes(yes));
});

Deno.test("Scheduler.cancel() settles what has not run, but keeps always() conditions", async () => {
  const { graph, sched, started } = parts();
  const a = graph.call(t, []);
  const after = graph.call(t, [a]);
  const cleanup = graph.call(t, [a], {
    condition: { text: "always()", test: () => true, evenIfUpstreamFailed: true },
  });
  await tick();
  const err = new RunCancelledError("r", "stop");
  let aborted: unknown;
  a.ctx = { abort: (e: unknown) => (aborted = e) } as never;
  sched.cancel(err);
  await tick();
  assert.equal(aborted, err, "a running attempt is aborted");
  assert.equal(STATUS[a.state], "cancelled");
  assert.equal(STATUS[after.state], "cancelled");
  assert.ok(started.includes(cleanup), "the always() task ran once its input settled");
  assert.equal(sched.cancelled, true);
});

Deno.test("Scheduler in a journaled run starts a node only once its inputs are durable", async () => {
  const journal = recordingJournal();
  const { graph, started, finish } = parts({ journal });
  const a = graph.call(t, []);
  graph.call(t, [a]);
  assert.equal(started.length, 0);
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["t"]);
  assert.deepEqual(journal.batches[0].map((e) => e.type), ["task.created", "task.created"]);
  finish(a, 1);
  assert.equal(started.length, 1, "t#2 waits for the batch holding t's result");
  await tick();
  assert.deepEqual(started.map((n) => n.id), ["t", "t#2"]);
  const done = journal.batches[1].find((e) => e.type === "task.succeeded");
  assert.equal(done?.result, 1);
});

Deno.test("Scheduler reports idle only when every node has settled", async () => {
  const s = parts();
  const a = s.graph.call(t, []);
  await tick();
  assert.equal(s.sched.idle, false);
  const calls = s.idleCalls;
  s.finish(a, 1);
  assert.equal(s.sched.idle, true);
  assert.ok(s.idleCalls > calls, "the run is told, to see whether it is done");
});

Deno.test("Scheduler.abandon() halts the run: queued nodes never start", async () => {
  const { graph, sched, started } = parts();
  const a = graph.call(t, []);
  sched.abandon("invalid body");
  await tick();
  assert.equal(started.length, 0);
  assert.equal(a.reason, "invalid body");
});

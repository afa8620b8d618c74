// The run page's model: a run's record plus its events, as the graph and timeline read them.
import assert from "node:assert/strict";
import {
  applyEvent,
  graphOf,
  isKept,
  mergeRecord,
  runModel,
  shapeKey,
  timelineOf,
} from "../../../src/server/dashboard/assets/run_model.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const base = { runId: "r1" };
type Ev = Record<string, unknown>;
const ev = (time: number, type: string, rest: Ev = {}): Ev => ({
  ...base,
  time: T0 + time,
  type,
  ...rest,
});
const task = (id: string, rest: Ev = {}) => ({ taskId: id, name: id, ...rest });

function play(model: ReturnType<typeof runModel>, events: Ev[]): string[] {
  return events.map((e, i) => String(applyEvent(model, e, i + 1)));
}

Deno.test("run model: events move tasks through their states; new tasks change the shape", () => {
  const m = runModel({ runId: "r1", flow: "f", status: "running", startedAt: iso(0), tasks: [] });
  const changes = play(m, [
    ev(0, "run.started", { flow: "f", params: {} }),
    ev(1, "task.created", task("a", { needs: [], kind: "task" })),
    ev(1, "task.created", task("b", { needs: ["a"], kind: "task" })),
    ev(2, "task.started", task("a", { attempt: 1 })),
    ev(5, "task.log", task("a", { level: "info", message: "hi" })),
  ]);
  assert.deepEqual(changes, ["state", "structure", "structure", "state", "false"]);
  assert.equal(m.tasks.get("a").status, "running");
  assert.equal(m.tasks.get("b").status, "pending");
  const g1 = graphOf(m);
  assert.deepEqual(g1.edges, [{ from: "a", to: "b" }]);
  play(m, [
    ev(10, "task.succeeded", task("a", { attempt: 1, durationMs: 8 })),
    ev(11, "task.skipped", task("b", { reason: 'upstream "x" failed' })),
    ev(12, "run.finished", { flow: "f", status: "succeeded" }),
  ]);
  assert.equal(m.status, "succeeded");
  assert.deepEqual([...m.tasks.values()].map((t) => t.status), ["succeeded", "skipped"]);
  assert.equal(m.tasks.get("b").reason, 'upstream "x" failed');
  assert.equal(shapeKey(graphOf(m)), shapeKey(g1), "states alone do not change the shape");
  assert.equal(m.lastSeq, 5, "the highest seq seen; an older one never lowers it");
});

Deno.test("run model: a record already finished, then its events replayed, ends as recorded", () => {
  const doc = {
    runId: "r1",
    flow: "f",
    status: "succeeded",
    startedAt: iso(0),
    finishedAt: iso(20),
    tasks: [{
      id: "a",
      name: "a",
      status: "succeeded",
      attempts: 1,
      needs: [],
      startedAt: iso(2),
      finishedAt: iso(10),
      result: 3,
    }],
  };
  const m = runModel(doc);
  assert.equal(m.tasks.get("a").status, "succeeded");
  play(m, [
    ev(0, "run.started", { flow: "f", params: {} }),
    ev(1, "task.created", task("a", { needs: [], kind: "task" })),
    ev(2, "task.started", task("a", { attempt: 1 })),
    ev(10, "task.succeeded", task("a", { attempt: 1, durationMs: 8 })),
    ev(20, "run.finished", { flow: "f", status: "succeeded" }),
  ]);
  const a = m.tasks.get("a");
  assert.equal(a.status, "succeeded");
  assert.equal(a.result, 3);
  assert.deepEqual(a.attempts, [{ n: 1, start: T0 + 2, end: T0 + 10, outcome: "succeeded" }]);
  assert.equal(m.status, "succeeded");
});

Deno.test("run model: retried attempts, a cache hit with its key, and a timeline of both", () => {
  const m = runModel({ runId: "r1", flow: "f", status: "running", startedAt: iso(0), tasks: [] });
  play(m, [
    ev(0, "task.created", task("flaky", { needs: [], kind: "task" })),
    ev(0, "task.created", task("c", { needs: [], kind: "task" })),
    ev(1, "task.cached", task("c", { key: "sha256:abc" })),
    ev(2, "task.started", task("flaky", { attempt: 1 })),
    ev(5, "task.retrying", task("flaky", { attempt: 1, delayMs: 10, error: "boom" })),
    ev(15, "task.started", task("flaky", { attempt: 2 })),
    ev(30, "task.succeeded", task("flaky", { attempt: 2, durationMs: 15 })),
    ev(31, "run.finished", { flow: "f", status: "succeeded" }),
  ]);
  const flaky = m.tasks.get("flaky");
  assert.equal(flaky.attemptCount, 2);
  assert.deepEqual(flaky.attempts.map((a: { outcome: string }) => a.outcome), [
    "retried",
    "succeeded",
  ]);
  assert.equal(m.tasks.get("c").status, "cached");
  assert.equal(m.tasks.get("c").cacheKey, "sha256:abc");
  const tl = timelineOf(m, T0 + 100);
  assert.equal(tl.start, T0);
  assert.equal(tl.end, T0 + 31);
  const rows = Object.fromEntries(tl.rows.map((r) => [r.id, r]));
  assert.deepEqual(
    rows.flaky.bars.map((b: { start: number; end: number; outcome: string }) => [
      b.start - T0,
      b.end - T0,
      b.outcome,
    ]),
    [[2, 5, "retried"], [15, 30, "succeeded"]],
  );
  assert.equal(rows.c.cached, T0 + 1);
  assert.deepEqual(rows.c.bars, []);
});

Deno.test("run model: a running attempt's bar grows to now; an unfinished one ends cancelled", () => {
  const m = runModel({ runId: "r1", flow: "f", status: "running", startedAt: iso(0), tasks: [] });
  play(m, [
    ev(0, "task.created", task("a", { needs: [] })),
    ev(3, "task.started", task("a", { attempt: 1 })),
  ]);
  assert.deepEqual(timelineOf(m, T0 + 50).rows[0].bars[0].end, T0 + 50);
  play(m, [ev(60, "run.finished", { flow: "f", status: "cancelled" })]);
  const bar = timelineOf(m, T0 + 500).rows[0].bars[0];
  assert.deepEqual([bar.end - T0, bar.outcome], [60, "cancelled"]);
});

Deno.test("run model: map items are folded into their group's node, with counts by state", () => {
  const m = runModel({ runId: "r1", flow: "f", status: "running", startedAt: iso(0), tasks: [] });
  play(m, [
    ev(0, "task.created", task("list", { needs: [] })),
    ev(0, "task.created", task("square", { needs: ["list"], kind: "map" })),
    ev(0, "task.created", task("sum", { needs: ["square"] })),
    ev(1, "map.expanded", task("square", { items: 3 })),
    ...[0, 1, 2].map((i) =>
      ev(1, "task.created", task(`square[${i}]`, { needs: [], group: "square", kind: "task" }))
    ),
    ev(2, "task.started", task("square[0]", { attempt: 1 })),
    ev(3, "task.succeeded", task("square[0]", { attempt: 1, durationMs: 1 })),
    ev(3, "task.started", task("square[1]", { attempt: 1 })),
    ev(4, "task.failed", task("square[2]", { attempts: 1, error: "no", durationMs: 1 })),
  ]);
  const g = graphOf(m);
  assert.deepEqual(g.nodes.map((n: { id: string }) => n.id), ["list", "square", "sum"]);
  const sq = g.nodes[1];
  assert.equal(sq.kind, "map");
  assert.equal(sq.items, 3);
  assert.equal(sq.state, "running");
  assert.deepEqual([sq.counts.succeeded, sq.counts.running, sq.counts.failed], [1, 1, 1]);
  assert.deepEqual(g.edges, [{ from: "list", to: "square" }, { from: "square", to: "sum" }]);
  const tl = timelineOf(m, T0 + 10, { maxItems: 2 });
  assert.deepEqual(tl.rows.map((r: { id: string; depth: number }) => [r.id, r.depth]), [
    ["list", 0],
    ["square", 0],
    ["square[0]", 1],
    ["square[1]", 1],
    ["sum", 0],
  ]);
  assert.equal(tl.hidden, 1);
});

Deno.test("run model: tasks a retry kept succeed without an attempt; the record's end wins", () => {
  const doc = {
    runId: "r2",
    flow: "f",
    status: "running",
    startedAt: iso(100),
    trigger: { kind: "retry", of: "r1" },
    tasks: [
      {
        id: "a",
        name: "a",
        status: "succeeded",
        attempts: 1,
        needs: [],
        startedAt: iso(2),
        finishedAt: iso(9),
      },
    ],
  };
  const m = runModel(doc);
  play(m, [
    // As a retry journals a kept task: created and succeeded, with no attempt.
    ev(100, "task.created", task("a", { needs: [] })),
    ev(100, "task.succeeded", task("a", { attempt: 1, durationMs: 7 })),
    ev(100, "task.created", task("b", { needs: ["a"] })),
    ev(101, "task.started", task("b", { attempt: 1 })),
  ]);
  assert.equal(isKept(m.tasks.get("a")), true);
  assert.equal(isKept(m.tasks.get("b")), false);
  const rows = timelineOf(m, T0 + 110).rows;
  // The kept task is drawn at the new run's start, not back where the old run ran it.
  assert.deepEqual(
    rows[0].bars.map((b: { start: number; outcome: string }) => [b.start - T0, b.outcome]),
    [
      [100, "restored"],
    ],
  );
  assert.deepEqual(graphOf(m).edges, [{ from: "a", to: "b" }]);
  const change = mergeRecord(m, {
    ...doc,
    status: "succeeded",
    finishedAt: iso(120),
    tasks: [
      ...doc.tasks,
      { id: "b", name: "b", status: "succeeded", attempts: 1, needs: ["a"], result: { ok: true } },
    ],
  });
  assert.equal(change, "state");
  assert.equal(m.status, "succeeded");
  assert.deepEqual(m.tasks.get("b").result, { ok: true });
  assert.equal(m.tasks.get("b").attempts.length, 1, "the attempts seen stay");
});

Deno.test("run model: a task a retry kept with its old attempts (started before the retry) is kept", () => {
  const doc = {
    runId: "r2",
    flow: "f",
    status: "running",
    startedAt: iso(100),
    trigger: { kind: "retry", of: "r1" },
    tasks: [],
  };
  const m = runModel(doc);
  play(m, [
    // As a retry journals a kept task now: its attempt as it was in the run it retries.
    ev(9, "task.created", task("a", { needs: [] })),
    ev(2, "task.started", task("a", { attempt: 1 })),
    ev(9, "task.succeeded", task("a", { attempt: 1, durationMs: 7 })),
    ev(100, "task.created", task("b", { needs: ["a"] })),
    ev(101, "task.started", task("b", { attempt: 1 })),
    ev(102, "task.succeeded", task("b", { attempt: 1, durationMs: 1 })),
  ]);
  assert.equal(isKept(m.tasks.get("a"), m), true);
  assert.equal(isKept(m.tasks.get("b"), m), false);
  assert.equal(isKept(m.tasks.get("a")), false, "without the run, attempts mean it ran");
  const rows = timelineOf(m, T0 + 110).rows;
  assert.deepEqual(
    rows[0].bars.map((b: { start: number; outcome: string }) => [b.start - T0, b.outcome]),
    [[100, "restored"]],
  );
});

Deno.test("run model: a resumed run runs again after its first end, in the same journal", () => {
  const m = runModel({ runId: "r1", flow: "f", status: "running", startedAt: iso(0), tasks: [] });
  play(m, [
    ev(0, "run.started", { flow: "f", params: {} }),
    ev(0, "task.created", task("a", { needs: [] })),
    ev(1, "task.started", task("a", { attempt: 1 })),
    ev(2, "task.cancelled", task("a")),
    ev(2, "run.finished", { flow: "f", status: "cancelled", error: "cancelled" }),
  ]);
  assert.equal(m.status, "cancelled");
  play(m, [
    ev(10, "run.started", { flow: "f", params: {} }),
    ev(10, "task.created", task("a", { needs: [] })),
    ev(11, "task.started", task("a", { attempt: 1 })),
  ]);
  assert.deepEqual([m.status, m.finishedAt, m.error], ["running", undefined, undefined]);
  assert.equal(m.tasks.get("a").status, "running");
  play(m, [
    ev(15, "task.succeeded", task("a", { attempt: 1, durationMs: 4 })),
    ev(15, "run.finished", { flow: "f", status: "succeeded" }),
  ]);
  assert.deepEqual(
    m.tasks.get("a").attempts.map((a: { outcome: string }) => a.outcome),
    ["cancelled", "succeeded"],
  );
  assert.equal(m.status, "succeeded");
  assert.equal(m.startedAt, T0, "the run's start is its first");
});

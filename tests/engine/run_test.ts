import assert from "node:assert/strict";
import {
  FakeClock,
  flow,
  MapLimitError,
  NotJsonError,
  RunCancelledError,
  type RunEvent,
  type RunRecord,
  task,
  type TaskContext,
  TaskFailedError,
  type TaskRecord,
  TaskTimeoutError,
} from "../../mod.ts";
import { sleep } from "../../src/engine/clock.ts";

function byId(record: RunRecord, id: string): TaskRecord {
  const t = record.tasks.find((t) => t.id === id);
  assert.ok(t, `no task "${id}" in ${record.tasks.map((t) => t.id).join(", ")}`);
  return t;
}

/** Counts how many tasks run at once. */
function gauge() {
  const g = {
    now: 0,
    max: 0,
    enter() {
      g.now++;
      g.max = Math.max(g.max, g.now);
    },
    leave() {
      g.now--;
    },
  };
  return g;
}

Deno.test("a run passes results along references and returns the body's value", async () => {
  const extract = task("extract", () => [1, 2, 3]);
  const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const label = task("label", (n: number, prefix: string) => `${prefix}${n}`);
  const etl = flow("etl", () => {
    const sum = total(extract());
    return { sum, text: label(sum, "total=") };
  });
  const record = await etl.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.result, { sum: 6, text: "total=6" });
  assert.equal(record.flow, "etl");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status, t.attempts, t.result]), [
    ["extract", "succeeded", 1, [1, 2, 3]],
    ["total", "succeeded", 1, 6],
    ["label", "succeeded", 1, "total=6"],
  ]);
});

Deno.test("a task starts only after everything it needs has finished", async () => {
  const clock = new FakeClock(0);
  const log: string[] = [];
  const step = task("step", async (name: string, ms: number, ...rest: unknown[]) => {
    const ctx = rest.at(-1) as TaskContext;
    log.push(`start ${name}@${clock.now()}`);
    await ctx.sleep(ms);
    log.push(`end ${name}@${clock.now()}`);
    return name;
  });
  const join = task("join", (a: string, b: string) => {
    log.push(`join@${clock.now()}`);
    return a + b;
  });
  const f = flow("order", () => {
    const a = step("a", 100);
    const b = step("b", 300);
    return join(a, b);
  });
  const record = await f.run({}, { clock });
  assert.equal(record.result, "ab");
  assert.deepEqual(log, ["start a@0", "start b@0", "end a@100", "end b@300", "join@300"]);
});

Deno.test("independent branches run at the same time", async () => {
  const clock = new FakeClock(0);
  const g = gauge();
  const source = task("source", () => 1);
  const branch = task("branch", async (n: number, ms: number, ctx: TaskContext) => {
    g.enter();
    await ctx.sleep(ms);
    g.leave();
    return n + ms;
  });
  const join = task("join", (a: number, b: number, c: number) => [a, b, c]);
  const f = flow("diamond", () => {
    const s = source();
    return join(branch(s, 100), branch(s, 200), branch(s, 300));
  });
  const record = await f.run({}, { clock });
  assert.deepEqual(record.result, [101, 201, 301]);
  assert.equal(g.max, 3);
  // Run in parallel the three branches take as long as the slowest.
  assert.equal(clock.now(), 300);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "source",
    "branch",
    "branch#2",
    "branch#3",
    "join",
  ]);
});

Deno.test("the global concurrency limit bounds how many tasks run at once", async () => {
  const clock = new FakeClock(0);
  const g = gauge();
  const work = task("work", async (i: number, ctx: TaskContext) => {
    g.enter();
    await ctx.sleep(100);
    g.leave();
    return i;
  });
  const f = flow({ name: "limited", concurrency: 3 }, () => {
    const refs = [];
    for (let i = 0; i < 10; i++) refs.push(work(i));
    return refs;
  });
  const record = await f.run({}, { clock });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.result, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(g.max, 3);
  assert.equal(clock.now(), 400);
});

Deno.test("the run's concurrency option overrides the flow's", async () => {
  const clock = new FakeClock(0);
  const g = gauge();
  const work = task("work", async (ctx: TaskContext) => {
    g.enter();
    await ctx.sleep(10);
    g.leave();
  });
  const f = flow({ name: "limited", concurrency: 4 }, () => {
    for (let i = 0; i < 6; i++) work();
  });
  await f.run({}, { clock, concurrency: 1 });
  assert.equal(g.max, 1);
  assert.equal(clock.now(), 60);
});

Deno.test("f.map() limits its own items while other tasks keep running", async () => {
  const clock = new FakeClock(0);
  const items = gauge();
  let otherRanAt = -1;
  const square = task("square", async (n: number, ctx: TaskContext) => {
    items.enter();
    await ctx.sleep(100);
    items.leave();
    return n * n;
  });
  const other = task("other", async (ctx: TaskContext) => {
    await ctx.sleep(50);
    otherRanAt = clock.now();
  });
  const f = flow("mapped", (f) => {
    other();
    return f.map([1, 2, 3, 4, 5], square, { concurrency: 2 });
  });
  const record = await f.run({}, { clock });
  assert.deepEqual(record.result, [1, 4, 9, 16, 25]);
  assert.equal(items.max, 2);
  assert.equal(clock.now(), 300);
  assert.equal(otherRanAt, 50);
});

Deno.test("f.map() rejects a bad concurrency", async () => {
  const id = task("id", (x: number) => x);
  const f = flow("bad-map", (f) => f.map([1], id, { concurrency: 0 }));
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(record.error!, /concurrency must be a whole number ≥ 1, got 0/);
});

Deno.test("with concurrency 1, ready tasks start in priority order", async () => {
  const clock = new FakeClock(0);
  const started: string[] = [];
  const make = (name: string, priority?: number) =>
    task({ name, priority }, async (ctx: TaskContext) => {
      started.push(name);
      await ctx.sleep(10);
    });
  const low = make("low", -1);
  const normal = make("normal");
  const high = make("high", 10);
  const mid = make("mid", 5);
  const f = flow({ name: "prio", concurrency: 1 }, () => {
    low();
    normal();
    high();
    mid();
  });
  await f.run({}, { clock });
  assert.deepEqual(started, ["high", "mid", "normal", "low"]);
});

Deno.test("equal priorities start in call order", async () => {
  const started: number[] = [];
  const t = task("t", (i: number) => void started.push(i));
  const f = flow({ name: "fifo", concurrency: 1 }, () => {
    for (let i = 0; i < 5; i++) t(i);
  });
  await f.run({}, { clock: new FakeClock() });
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

Deno.test("call ids are the name, then name#2, name#3 …", async () => {
  const load = task("load", (x: number) => x);
  const ids: string[] = [];
  const f = flow("ids", () => {
    ids.push(load(1).id, load(2).id, load(3).id);
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.deepEqual(ids, ["load", "load#2", "load#3"]);
  assert.deepEqual(record.tasks.map((t) => [t.id, t.name, t.result]), [
    ["load", "load", 1],
    ["load#2", "load", 2],
    ["load#3", "load", 3],
  ]);
});

Deno.test("the task context describes the call", async () => {
  let seen: Record<string, unknown> = {};
  const inspect = task("inspect", (x: number, ctx: TaskContext) => {
    seen = {
      runId: ctx.runId,
      flow: ctx.flow,
      taskId: ctx.taskId,
      name: ctx.name,
      attempt: ctx.attempt,
      params: ctx.params,
      aborted: ctx.signal.aborted,
      x,
    };
  });
  const f = flow({ name: "ctx", params: { n: { type: "integer", default: 7 } } }, () => {
    inspect(1);
    inspect(2);
  });
  const record = await f.run({}, { clock: new FakeClock(), runId: "run-1" });
  assert.equal(record.runId, "run-1");
  assert.deepEqual(seen, {
    runId: "run-1",
    flow: "ctx",
    taskId: "inspect#2",
    name: "inspect",
    attempt: 1,
    params: { n: 7 },
    aborted: false,
    x: 2,
  });
  assert.deepEqual(record.params, { n: 7 });
});

Deno.test("f.map() over a literal list makes one task per item", async () => {
  const square = task("square", (n: number) => n * n);
  const f = flow("squares", (f) => f.map([1, 2, 3], square));
  const record = await f.run({}, { clock: new FakeClock() });
  assert.deepEqual(record.result, [1, 4, 9]);
  assert.deepEqual(
    record.tasks.map((t) => [t.id, t.name, t.status, t.group, t.items, t.result]),
    [
      ["square", "square", "succeeded", undefined, 3, [1, 4, 9]],
      ["square[0]", "square", "succeeded", "square", undefined, 1],
      ["square[1]", "square", "succeeded", "square", undefined, 4],
      ["square[2]", "square", "succeeded", "square", undefined, 9],
    ],
  );
});

Deno.test("f.map() over a reference expands once the list is known", async () => {
  const clock = new FakeClock(0);
  const numbers = task("numbers", async (n: number, ctx: TaskContext) => {
    await ctx.sleep(10);
    return Array.from({ length: n }, (_, i) => i + 1);
  });
  const double = task("double", (x: number) => x * 2);
  const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const f = flow("fan", (f) => total(f.map(numbers(4), double)));
  const events: RunEvent[] = [];
  const record = await f.run({}, { clock, onEvent: (e) => events.push(e) });
  assert.equal(record.result, 20);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "numbers",
    "double",
    "double[0]",
    "double[1]",
    "double[2]",
    "double[3]",
    "total",
  ]);
  const expanded = events.find((e) => e.type === "map.expanded");
  assert.deepEqual(expanded && { id: expanded.taskId, time: expanded.time }, {
    id: "double",
    time: 10,
  });
  assert.deepEqual(expanded && "items" in expanded && expanded.items, 4);
});

Deno.test("f.map() over an empty list gives an empty list", async () => {
  const square = task("square", (n: number) => n * n);
  const f = flow("empty", (f) => f.map([], square));
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(record.result, []);
  assert.equal(byId(record, "square").items, 0);
});

Deno.test("f.map() over a reference that is not a list fails the map", async () => {
  const notList = task("notList", () => ({ a: 1 }));
  const square = task("square", (n: number) => n * n);
  const f = flow("bad", (f) => {
    f.map(notList() as never, square);
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(byId(record, "square").error!, /needs a list, but its input is object/);
});

Deno.test("f.map() refuses to expand beyond maxItems with a MapLimitError", async () => {
  const numbers = task("numbers", (n: number) => Array.from({ length: n }, (_, i) => i));
  let calls = 0;
  const square = task("square", (n: number) => (calls++, n * n));
  const f = flow("limit", (f) => {
    f.map(numbers(5), square, { maxItems: 3 });
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.equal(calls, 0);
  const group = byId(record, "square");
  assert.equal(group.status, "failed");
  const expected = new MapLimitError("square", 5, 3).message;
  assert.equal(group.error, expected);
  assert.match(expected, /map over 5 items exceeds the limit of 3; pass \{ maxItems: 5 \}/);
});

Deno.test("f.map() applies the default limit of 10,000 items to literal lists", async () => {
  const id = task("id", (n: number) => n);
  const big = Array.from({ length: 10_001 }, (_, i) => i);
  const record = await flow("big", (f) => {
    f.map(big, id);
  }).run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(byId(record, "id").error!, /10001 items exceeds the limit of 10000/);
  const allowed = await flow("big-ok", (f) => f.map(big, id, { maxItems: 20_000 })).run({}, {
    clock: new FakeClock(),
  });
  assert.equal(allowed.status, "succeeded");
  assert.equal((allowed.result as number[]).length, 10_001);
});

Deno.test("a failing map item fails the map and skips what needs it", async () => {
  const check = task("check", (n: number) => {
    if (n === 2) throw new Error("two is not allowed");
    return n;
  });
  const sum = task("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const f = flow("map-fail", (f) => {
    sum(f.map([1, 2, 3], check));
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.equal(byId(record, "check[1]").status, "failed");
  assert.equal(byId(record, "check").status, "failed");
  assert.match(byId(record, "check").error!, /Task "check\[1\]" failed after 1 attempt: two is/);
  assert.equal(byId(record, "sum").status, "skipped");
  assert.equal(byId(record, "sum").reason, 'upstream "check" failed');
  assert.match(record.error!, /two is not allowed/);
});

Deno.test("references nested in arrays and objects make edges and are replaced by values", async () => {
  const a = task("a", () => 1);
  const b = task("b", () => "two");
  let received: unknown;
  const use = task("use", (x: unknown) => (received = x));
  const events: RunEvent[] = [];
  const f = flow("nested", () => {
    const ra = a(), rb = b();
    return use({ list: [ra, { deep: rb }], same: ra, plain: [3, null] });
  });
  const record = await f.run({}, { clock: new FakeClock(), onEvent: (e) => events.push(e) });
  assert.deepEqual(received, { list: [1, { deep: "two" }], same: 1, plain: [3, null] });
  assert.deepEqual(record.result, received);
  const created = events.find((e) => e.type === "task.created" && e.taskId === "use");
  assert.deepEqual(created && "needs" in created && created.needs, ["a", "b"]);
});

Deno.test("a flow body can await a result and branch on it", async () => {
  const count = task("count", () => 5);
  const big = task("big", (n: number) => `big ${n}`);
  const small = task("small", (n: number) => `small ${n}`);
  const f = flow("dynamic", async () => {
    const n = await count();
    return n > 2 ? big(n) : small(n);
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.result, "big 5");
  assert.deepEqual(record.tasks.map((t) => t.id), ["count", "big"]);
});

Deno.test("a dynamic body can loop on results", async () => {
  const next = task("next", (n: number) => n * 2);
  const f = flow("loop", async () => {
    let n = 1;
    while (n < 100) n = await next(n);
    return n;
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.result, 128);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "next",
    "next#2",
    "next#3",
    "next#4",
    "next#5",
    "next#6",
    "next#7",
  ]);
});

Deno.test("awaiting a failed task's reference rejects with TaskFailedError", async () => {
  const boom = task("boom", () => {
    throw new RangeError("kaput");
  });
  let caught: unknown;
  const f = flow("await-fail", async () => {
    try {
      await boom();
    } catch (e) {
      caught = e;
    }
    return "handled";
  });
  const record = await f.run({}, { clock: new FakeClock(), runId: "r1" });
  assert.ok(caught instanceof TaskFailedError);
  assert.equal(caught.taskId, "boom");
  assert.equal(caught.runId, "r1");
  assert.equal(caught.attempts, 1);
  assert.ok(caught.cause instanceof RangeError);
  assert.equal(caught.message, 'Task "boom" failed after 1 attempt: kaput');
  // The body handled it, but the task still failed, so the run did.
  assert.equal(record.status, "failed");
});

Deno.test("a body that throws fails the run with its error", async () => {
  const one = task("one", () => 1);
  const f = flow("throws", async () => {
    await one();
    throw new Error("body broke");
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.equal(record.error, "body broke");
  assert.equal(record.result, undefined);
});

Deno.test("a task argument that is not JSON is rejected before any task runs", async () => {
  let ran = 0;
  const first = task("first", () => ran++);
  const useDate = task("useDate", (_d: unknown) => ran++);
  const f = flow("dates", () => {
    first();
    useDate({ rows: [{ ok: 1 }, { when: new Date(0) }] });
  });
  await assert.rejects(f.run({}, { clock: new FakeClock() }), (e) => {
    assert.ok(e instanceof NotJsonError);
    assert.equal(e.taskId, "useDate");
    assert.equal(e.path, "args[0].rows[1].when");
    assert.match(e.message, /^Task "useDate": args\[0\]\.rows\[1\]\.when is a Date/);
    assert.match(e.message, /toISOString/);
    return true;
  });
  // Let any stray scheduling run before counting.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(ran, 0);
});

Deno.test("a Date passed directly names args[0]", async () => {
  const useDate = task("useDate", (_d: unknown) => 1);
  const f = flow("date", () => useDate(new Date()));
  await assert.rejects(f.run({}, { clock: new FakeClock() }), (e) => {
    assert.ok(e instanceof NotJsonError);
    assert.equal(e.path, "args[0]");
    return true;
  });
});

Deno.test("a task result that is not JSON fails the task without retrying", async () => {
  let calls = 0;
  const when = task({ name: "when", retries: 3 }, () => {
    calls++;
    return { at: new Date(0) };
  });
  const after = task("after", (x: unknown) => x);
  const f = flow("bad-result", () => {
    after(when());
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(calls, 1);
  assert.equal(record.status, "failed");
  const t = byId(record, "when");
  assert.equal(t.status, "failed");
  assert.match(t.error!, /^Task "when": result\.at is a Date, which is not JSON-compatible/);
  assert.equal(byId(record, "after").reason, 'upstream "when" failed');
});

Deno.test("a circular task result fails the task instead of hanging the run", async () => {
  const loop = task("loop", () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  });
  const record = await flow("circular", () => {
    loop();
  }).run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(byId(record, "loop").error!, /result\.self is a circular reference/);
});

Deno.test("a body result that is not JSON fails the run", async () => {
  const f = flow("bad-body", () => ({ when: new Date(0) }));
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "failed");
  assert.match(record.error!, /result\.when is a Date/);
});

Deno.test("the event stream reports a small run in order", async () => {
  const clock = new FakeClock(0);
  const a = task("a", async (ctx: TaskContext) => {
    ctx.log.info("working", { step: 1 });
    await ctx.sleep(5);
    return 1;
  });
  const b = task("b", (x: number) => x + 1);
  const events: RunEvent[] = [];
  const record = await flow("events", () => b(a())).run({}, {
    clock,
    onEvent: (e) => events.push(e),
    runId: "ev",
  });
  assert.deepEqual(
    events.map((e) => [e.type, "taskId" in e ? e.taskId : "-", e.time]),
    [
      ["run.started", "-", 0],
      ["task.created", "a", 0],
      ["task.created", "b", 0],
      ["task.started", "a", 0],
      ["task.log", "a", 0],
      ["task.succeeded", "a", 5],
      ["task.started", "b", 5],
      ["task.succeeded", "b", 5],
      ["run.finished", "-", 5],
    ],
  );
  assert.ok(events.every((e) => e.runId === "ev"));
  const createdB = events[2];
  assert.ok(createdB.type === "task.created");
  assert.deepEqual(createdB.needs, ["a"]);
  const succeededA = events[5];
  assert.ok(succeededA.type === "task.succeeded");
  assert.equal(succeededA.durationMs, 5);
  const finished = events.at(-1)!;
  assert.ok(finished.type === "run.finished" && finished.status === "succeeded");
  assert.deepEqual(byId(record, "a").logs?.map((l) => [l.level, l.message, l.props]), [
    ["info", "working", { step: 1 }],
  ]);
});

Deno.test("a throwing event listener does not break the run", async () => {
  const a = task("a", () => 1);
  const record = await flow("listener", () => a()).run({}, {
    clock: new FakeClock(),
    onEvent: () => {
      throw new Error("listener bug");
    },
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 1);
});

Deno.test("a chain of 10,000 tasks runs to the end", async () => {
  const step = task("step", (n: number) => n + 1);
  const f = flow("chain", () => {
    let ref = step(0);
    for (let i = 1; i < 10_000; i++) ref = step(ref);
    return ref;
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 10_000);
});

Deno.test("a 10,000-task chain whose first task fails skips the rest without overflowing", async () => {
  let calls = 0;
  const first = task("first", () => {
    throw new Error("no data");
  });
  const step = task("step", (n: number) => (calls++, n + 1));
  const f = flow("deep", () => {
    let ref = step(first());
    for (let i = 1; i < 10_000; i++) ref = step(ref);
    return ref;
  });
  const events: RunEvent[] = [];
  const record = await f.run({}, { clock: new FakeClock(), onEvent: (e) => events.push(e) });
  assert.equal(record.status, "failed");
  assert.equal(calls, 0);
  assert.equal(record.tasks.length, 10_001);
  assert.equal(record.tasks[0].status, "failed");
  const skipped = record.tasks.slice(1);
  assert.ok(skipped.every((t) => t.status === "skipped" && t.reason === 'upstream "first" failed'));
  assert.equal(record.tasks.at(-1)!.id, "step#10000");
  assert.equal(events.filter((e) => e.type === "task.skipped").length, 10_000);
});

// ---- retries ----

Deno.test("a failing task is retried with exponential backoff", async () => {
  const clock = new FakeClock(0);
  const attempts: [number, number][] = [];
  const flaky = task(
    { name: "flaky", retries: { attempts: 4, delay: "1s", backoff: 2 } },
    (ctx: TaskContext) => {
      attempts.push([ctx.attempt, clock.now()]);
      if (ctx.attempt < 4) throw new Error(`attempt ${ctx.attempt} failed`);
      return "ok";
    },
  );
  const events: RunEvent[] = [];
  const record = await flow("retry", () => flaky()).run({}, {
    clock,
    onEvent: (e) => events.push(e),
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, "ok");
  assert.deepEqual(clock.requested, [1000, 2000, 4000]);
  assert.deepEqual(attempts, [[1, 0], [2, 1000], [3, 3000], [4, 7000]]);
  assert.equal(byId(record, "flaky").attempts, 4);
  const retrying = events.filter((e) => e.type === "task.retrying");
  assert.deepEqual(
    retrying.map((e) => e.type === "task.retrying" && [e.attempt, e.delayMs, e.error]),
    [[1, 1000, "attempt 1 failed"], [2, 2000, "attempt 2 failed"], [3, 4000, "attempt 3 failed"]],
  );
});

Deno.test("retries: N means N extra attempts", async () => {
  let calls = 0;
  const always = task({ name: "always", retries: 2 }, () => {
    calls++;
    throw new Error("nope");
  });
  const clock = new FakeClock(0);
  const record = await flow("retries", () => {
    always();
  }).run({}, { clock });
  assert.equal(calls, 3);
  assert.equal(record.status, "failed");
  const t = byId(record, "always");
  assert.equal(t.attempts, 3);
  assert.equal(t.error, 'Task "always" failed after 3 attempts: nope');
  // The default delay is 1s, doubling.
  assert.deepEqual(clock.requested, [1000, 2000]);
});

Deno.test("retry delays are capped by maxDelay and spread by jitter", async () => {
  const clock = new FakeClock(0);
  const t = task(
    {
      name: "t",
      retries: { attempts: 5, delay: 100, backoff: 10, maxDelay: "5s", jitter: 0.5 },
    },
    () => {
      throw new Error("x");
    },
  );
  await flow("jitter", () => {
    t();
  }).run({}, { clock, random: () => 0 });
  // base 100, 1000, 5000 (capped), 5000; random 0 takes 50% off each.
  assert.deepEqual(clock.requested, [50, 500, 2500, 2500]);
});

Deno.test("retryOn limits which errors are retried", async () => {
  class RateLimited extends Error {
    override name = "RateLimited";
  }
  const calls: Record<string, number> = { limited: 0, broken: 0 };
  const make = (name: string, error: () => Error) =>
    task({ name, retries: { attempts: 3, delay: 10, retryOn: ["RateLimited"] } }, () => {
      calls[name]++;
      throw error();
    });
  const limited = make("limited", () => new RateLimited("slow down"));
  const broken = make("broken", () => new TypeError("bad input"));
  const record = await flow("retry-on", () => {
    limited();
    broken();
  }).run({}, { clock: new FakeClock() });
  assert.deepEqual(calls, { limited: 3, broken: 1 });
  assert.equal(byId(record, "broken").attempts, 1);
  assert.equal(byId(record, "limited").attempts, 3);
});

Deno.test("flow defaults give every task retries unless it sets its own", async () => {
  const calls: Record<string, number> = { a: 0, b: 0 };
  const fail = (name: string, retries?: number) =>
    task({ name, retries }, () => {
      calls[name]++;
      throw new Error("x");
    });
  const a = fail("a");
  const b = fail("b", 0);
  await flow({ name: "defaults", defaults: { retries: { attempts: 3, delay: 1 } } }, () => {
    a();
    b();
  }).run({}, { clock: new FakeClock() });
  assert.deepEqual(calls, { a: 3, b: 1 });
});

// ---- timeouts ----

Deno.test("a task that runs past its timeout fails with TaskTimeoutError and is aborted", async () => {
  const clock = new FakeClock(0);
  let reason: unknown;
  let abortedAt = -1;
  const slow = task({ name: "slow", timeout: "30s" }, async (ctx: TaskContext) => {
    ctx.signal.addEventListener("abort", () => {
      reason = ctx.signal.reason;
      abortedAt = clock.now();
    });
    await ctx.sleep(10 * 60_000);
    return "finished";
  });
  const record = await flow("timeout", () => {
    slow();
  }).run({}, { clock });
  assert.equal(record.status, "failed");
  assert.ok(reason instanceof TaskTimeoutError);
  assert.equal(reason.taskId, "slow");
  assert.equal(reason.timeoutMs, 30_000);
  assert.equal(abortedAt, 30_000);
  assert.equal(clock.now(), 30_000);
  const t = byId(record, "slow");
  assert.equal(t.status, "failed");
  assert.equal(t.error, 'Task "slow" failed after 1 attempt: Task "slow" timed out after 30s');
});

Deno.test("a task that finishes within its timeout succeeds", async () => {
  const clock = new FakeClock(0);
  const quick = task({ name: "quick", timeout: 1000 }, async (ctx: TaskContext) => {
    await ctx.sleep(999);
    return 1;
  });
  const record = await flow("in-time", () => quick()).run({}, { clock });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 1);
});

Deno.test("each attempt gets its own timeout", async () => {
  const clock = new FakeClock(0);
  const starts: number[] = [];
  const slow = task(
    { name: "slow", timeout: "1s", retries: { attempts: 3, delay: "100ms", backoff: 1 } },
    async (ctx: TaskContext) => {
      starts.push(clock.now());
      await ctx.sleep(ctx.attempt < 3 ? 5000 : 500);
      return ctx.attempt;
    },
  );
  const record = await flow("retry-timeout", () => slow()).run({}, { clock });
  assert.equal(record.result, 3);
  assert.deepEqual(starts, [0, 1100, 2200]);
  // timeout, sleep, retry delay, timeout, sleep, retry delay, timeout, sleep
  assert.deepEqual(clock.requested, [1000, 5000, 100, 1000, 5000, 100, 1000, 500]);
});

Deno.test("a result that arrives after the timeout is ignored", async () => {
  const clock = new FakeClock(0);
  let finished = false;
  const stubborn = task({ name: "stubborn", timeout: 100 }, async () => {
    await sleep(clock, 1000); // ignores the signal
    finished = true;
    return "late";
  });
  const after = task("after", (x: string) => x);
  const record = await flow("late", () => {
    after(stubborn());
  }).run({}, { clock });
  assert.equal(byId(record, "stubborn").status, "failed");
  assert.equal(byId(record, "after").status, "skipped");
  await sleep(clock, 2000);
  assert.equal(finished, true);
  assert.equal(byId(record, "stubborn").status, "failed");
});

// ---- cancellation ----

Deno.test("aborting the run's signal cancels the run", async () => {
  const clock = new FakeClock(0);
  const controller = new AbortController();
  let taskSignal: AbortSignal | undefined;
  let downstreamRan = false;
  const cancelled: string[] = [];
  const long = task("long", async (ctx: TaskContext) => {
    taskSignal = ctx.signal;
    await ctx.sleep(60_000);
    return 1;
  });
  const quick = task("quick", () => "done");
  const downstream = task("downstream", (x: number) => (downstreamRan = true, x));
  const f = flow({
    name: "cancel",
    hooks: { onFlowCancel: (r) => void cancelled.push(r.status) },
  }, () => {
    quick();
    downstream(long());
  });
  const events: RunEvent[] = [];
  const running = f.run({}, { clock, signal: controller.signal, onEvent: (e) => events.push(e) });
  await sleep(clock, 1000);
  controller.abort(new Error("user pressed Ctrl-C"));
  const record = await running;
  assert.equal(record.status, "cancelled");
  assert.match(record.error!, /user pressed Ctrl-C/);
  assert.equal(record.result, undefined);
  assert.ok(taskSignal?.aborted);
  assert.ok(taskSignal.reason instanceof RunCancelledError);
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status]), [
    ["quick", "succeeded"],
    ["long", "cancelled"],
    ["downstream", "cancelled"],
  ]);
  assert.equal(downstreamRan, false);
  assert.deepEqual(cancelled, ["cancelled"]);
  assert.deepEqual(
    events.filter((e) => e.type === "task.cancelled").map((e) => "taskId" in e && e.taskId),
    ["long", "downstream"],
  );
  const finished = events.at(-1)!;
  assert.ok(finished.type === "run.finished" && finished.status === "cancelled");
  // The clock was not left waiting for the long task.
  assert.equal(clock.now(), 1000);
});

Deno.test("a run whose signal is already aborted starts no task", async () => {
  let ran = 0;
  const t = task("t", () => ran++);
  const events: string[] = [];
  const record = await flow("pre-cancelled", () => {
    t();
  }).run({}, {
    clock: new FakeClock(),
    signal: AbortSignal.abort("stop"),
    onEvent: (e) => events.push(e.type),
  });
  assert.equal(record.status, "cancelled");
  assert.equal(ran, 0);
  assert.match(record.error!, /stop/);
  assert.deepEqual(events, ["run.started", "run.finished"]);
});

Deno.test("a task waiting for its retry is cancelled without another attempt", async () => {
  const clock = new FakeClock(0);
  const controller = new AbortController();
  let calls = 0;
  const flaky = task({ name: "flaky", retries: { attempts: 5, delay: "1m" } }, () => {
    calls++;
    throw new Error("x");
  });
  const running = flow("cancel-retry", () => {
    flaky();
  }).run({}, { clock, signal: controller.signal });
  await sleep(clock, 1000);
  controller.abort();
  const record = await running;
  assert.equal(record.status, "cancelled");
  assert.equal(calls, 1);
  assert.equal(byId(record, "flaky").status, "cancelled");
});

// ---- failure policy ----

Deno.test("a failure skips everything downstream and names the original failure", async () => {
  const clock = new FakeClock(0);
  const load = task("load", () => {
    throw new Error("database is down");
  });
  const transform = task("transform", (x: unknown) => x);
  const report = task("report", (x: unknown) => x);
  const other = task("other", async (ctx: TaskContext) => {
    await ctx.sleep(100);
    return "fine";
  });
  const f = flow("failing", () => {
    report(transform(load()));
    other();
  });
  const record = await f.run({}, { clock });
  assert.equal(record.status, "failed");
  assert.equal(record.error, 'Task "load" failed after 1 attempt: database is down');
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status, t.reason]), [
    ["load", "failed", undefined],
    ["transform", "skipped", 'upstream "load" failed'],
    ["report", "skipped", 'upstream "load" failed'],
    ["other", "succeeded", undefined],
  ]);
  assert.equal(byId(record, "report").attempts, 0);
  assert.equal(byId(record, "other").result, "fine");
});

Deno.test("a task called after its input already failed is skipped at once", async () => {
  const load = task("load", () => {
    throw new Error("down");
  });
  const after = task("after", (x: unknown) => x);
  const later = task("later", (x: unknown) => x);
  const f = flow("late-skip", async () => {
    const l = load();
    try {
      await l;
    } catch {
      // handled
    }
    const a = after(l);
    later(a);
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status, t.reason]), [
    ["load", "failed", undefined],
    ["after", "skipped", 'upstream "load" failed'],
    ["later", "skipped", 'upstream "load" failed'],
  ]);
});

Deno.test("continueOnError lets downstream tasks run and the run succeed", async () => {
  const optional = task({ name: "optional", continueOnError: true }, () => {
    throw new Error("no extras today");
  });
  let received: unknown = "unset";
  const use = task("use", (x: unknown) => {
    received = x;
    return "used";
  });
  const record = await flow("tolerant", () => use(optional())).run({}, {
    clock: new FakeClock(),
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, "used");
  assert.equal(received, null);
  assert.equal(byId(record, "optional").status, "failed");
  assert.match(byId(record, "optional").error!, /no extras today/);
});

Deno.test("awaiting a task that failed with continueOnError gives null", async () => {
  const optional = task({ name: "optional", continueOnError: true }, () => {
    throw new Error("x");
  });
  const f = flow("await-tolerant", async () => {
    const v = await optional();
    return v === null ? "fallback" : "value";
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, "fallback");
});

Deno.test("a finished run stops listening to the signal it was given", async () => {
  const controller = new AbortController();
  const signal = controller.signal;
  const listening = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, fn: EventListener, o?: unknown) => {
    listening.add(fn);
    add(type, fn, o as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: EventListener, o?: unknown) => {
    listening.delete(fn);
    remove(type, fn, o as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  const t = task("t", () => 1);
  const f = flow("many-runs", () => t());
  // One signal shared by many runs, as a server's shutdown signal is.
  for (let i = 0; i < 5; i++) {
    assert.equal((await f.run({}, { clock: new FakeClock(), signal })).status, "succeeded");
  }
  assert.equal(listening.size, 0);
});

Deno.test("a map's own limit and the global limit apply together", async () => {
  const clock = new FakeClock(0);
  const all = gauge();
  const items = gauge();
  const item = task("item", async (n: number, ctx: TaskContext) => {
    all.enter();
    items.enter();
    await ctx.sleep(100);
    items.leave();
    all.leave();
    return n;
  });
  const other = task("other", async (ctx: TaskContext) => {
    all.enter();
    await ctx.sleep(100);
    all.leave();
  });
  const f = flow({ name: "both-limits", concurrency: 3 }, (f) => {
    other();
    other();
    return f.map([1, 2, 3, 4, 5, 6], item, { concurrency: 2 });
  });
  const record = await f.run({}, { clock });
  assert.deepEqual(record.result, [1, 2, 3, 4, 5, 6]);
  assert.equal(all.max, 3);
  assert.equal(items.max, 2);
});

Deno.test("f.map() over a literal list of references waits for each", async () => {
  const a = task("a", () => 2);
  const b = task("b", async () => {
    await Promise.resolve();
    return 3;
  });
  const square = task("square", (n: number) => n * n);
  const events: RunEvent[] = [];
  const record = await flow("refs-list", (f) => f.map([a(), b(), 4], square)).run({}, {
    clock: new FakeClock(),
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(record.result, [4, 9, 16]);
  const needs = events.flatMap((e) => e.type === "task.created" ? [[e.taskId, e.needs]] : []);
  assert.deepEqual(needs, [
    ["a", []],
    ["b", []],
    ["square", []],
    ["square[0]", ["a"]],
    ["square[1]", ["b"]],
    ["square[2]", []],
  ]);
});

Deno.test("a flow body can await a map's results", async () => {
  const square = task("square", (n: number) => n * n);
  const total = task("total", (n: number) => `total ${n}`);
  const f = flow("await-map", async (f) => {
    const squares = await f.map([1, 2, 3], square);
    return total(squares.reduce((x, y) => x + y, 0));
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.equal(record.result, "total 14");
});

Deno.test("awaiting a map over its limit rejects with MapLimitError", async () => {
  const id = task("id", (n: number) => n);
  let caught: unknown;
  const f = flow("await-limit", async (f) => {
    try {
      await f.map([1, 2, 3], id, { maxItems: 2 });
    } catch (e) {
      caught = e;
    }
  });
  const record = await f.run({}, { clock: new FakeClock() });
  assert.ok(caught instanceof MapLimitError);
  assert.equal(record.status, "failed");
  assert.deepEqual(record.tasks.map((t) => t.id), ["id"]);
});

Deno.test("a call refused for its arguments never runs, even once the references it holds settle", async () => {
  const ran: string[] = [];
  const first = task("first", () => 1);
  const second = task("second", (..._a: unknown[]) => void ran.push("second"));
  const f = flow("refused", () => {
    const a = first();
    try {
      second(a, new Date(0));
    } catch (e) {
      assert.ok(e instanceof NotJsonError);
    }
    return a;
  });
  const record = await f.run();
  assert.equal(record.status, "succeeded");
  assert.deepEqual(ran, []);
  assert.deepEqual(record.tasks.map((t) => t.id), ["first"]);
});

import assert from "node:assert/strict";
import {
  FakeClock,
  flow,
  FlowValidationError,
  type Hooks,
  MemoryCache,
  type Middleware,
  OrchestraError,
  ParamsValidationError,
  type RunRecord,
  type RunRecordData,
  task,
  type TaskContext,
  type TaskRecord,
} from "../../mod.ts";

function byId(record: RunRecord, id: string): TaskRecord {
  const t = record.tasks.find((t) => t.id === id);
  assert.ok(t, `no task "${id}"`);
  return t;
}

// ---- defining tasks and flows ----

Deno.test("calling a task outside a flow body throws a clear error", () => {
  const load = task("load", () => 1);
  assert.throws(
    () => load(),
    (e) =>
      e instanceof OrchestraError &&
      e.message.startsWith('Task "load" was called outside a flow body') &&
      e.message.includes(".run()"),
  );
});

Deno.test("task() keeps its name and options on the task", () => {
  const load = task({ name: "load", retries: 2 }, (x: number) => x);
  assert.equal(load.name, "load");
  assert.deepEqual(load.options, { name: "load", retries: 2 });
  assert.equal(typeof load.fn, "function");
  assert.equal(load[Symbol.for("orchestra.task") as never], 1);
});

Deno.test("task() and flow() reject a missing name or function with a TypeError", () => {
  assert.throws(() => task(undefined as never, () => 1), TypeError);
  assert.throws(() => task({} as never, () => 1), /task\(\) needs a name/);
  assert.throws(() => task("t", "not a function" as never), /task\("t"\) needs a function/);
  assert.throws(() => flow(3 as never, () => 1), /flow\(\) needs a name/);
  assert.throws(() => flow("f", undefined as never), /flow\("f"\) needs a body function/);
});

Deno.test("a task is defined once and can be used by several flows", async () => {
  const double = task("double", (x: number) => x * 2);
  const a = flow("a", () => double(1));
  const b = flow("b", () => double(double(2)));
  assert.equal((await a.run({}, { clock: new FakeClock() })).result, 2);
  assert.equal((await b.run({}, { clock: new FakeClock() })).result, 8);
});

Deno.test("synchronous and asynchronous task functions both work", async () => {
  const sync = task("sync", (x: number) => x + 1);
  const asynchronous = task("async", async (x: number) => {
    await Promise.resolve();
    return x * 10;
  });
  const record = await flow("mixed", () => asynchronous(sync(1))).run({}, {
    clock: new FakeClock(),
  });
  assert.equal(record.result, 20);
});

Deno.test("tasks can take no arguments, several arguments, and more than three", async () => {
  const none = task("none", () => "n");
  const many = task(
    "many",
    (a: number, b: number, c: number, d: number, e: number) => [a, b, c, d, e].join(""),
  );
  const record = await flow("arity", () => ({ n: none(), m: many(1, 2, 3, 4, 5) })).run({}, {
    clock: new FakeClock(),
  });
  assert.deepEqual(record.result, { n: "n", m: "12345" });
});

Deno.test("a run record carries ISO times from the run's clock", async () => {
  const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
  const wait = task("wait", (ctx: TaskContext) => ctx.sleep(1500));
  const record = await flow("times", () => {
    wait();
  }).run({}, { clock });
  assert.equal(record.startedAt, "2026-05-01T12:00:00.000Z");
  assert.equal(record.finishedAt, "2026-05-01T12:00:01.500Z");
  assert.equal(byId(record, "wait").startedAt, "2026-05-01T12:00:00.000Z");
  assert.equal(byId(record, "wait").finishedAt, "2026-05-01T12:00:01.500Z");
});

Deno.test("run ids are time-ordered UUIDs unless given", async () => {
  const noop = task("noop", () => null);
  const f = flow("ids", () => {
    noop();
  });
  const first = await f.run({}, { clock: new FakeClock(1000) });
  const second = await f.run({}, { clock: new FakeClock(2000) });
  const uuid7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(first.runId, uuid7);
  assert.ok(first.runId < second.runId);
});

// ---- params and validation ----

Deno.test("params are validated before the run and defaults are filled in", async () => {
  let seen: unknown;
  const show = task("show", (p: unknown) => (seen = p));
  const f = flow({
    name: "report",
    params: {
      date: { type: "string", required: true },
      limit: { type: "integer", default: 10 },
    },
  }, (_f, params) => show({ ...params }));
  const record = await f.run({ date: "2026-01-01" }, { clock: new FakeClock() });
  assert.deepEqual(seen, { date: "2026-01-01", limit: 10 });
  assert.deepEqual(record.params, { date: "2026-01-01", limit: 10 });
});

Deno.test("invalid params reject the run with every problem and run no task", async () => {
  let ran = 0;
  const t = task("t", () => ran++);
  const f = flow({
    name: "report",
    params: { limit: "integer", mode: { type: "string", enum: ["full", "quick"] } },
  }, () => {
    t();
  });
  await assert.rejects(f.run({ limit: "ten", mode: "slow", limt: 3 } as never), (e) => {
    assert.ok(e instanceof ParamsValidationError);
    assert.ok(e instanceof FlowValidationError);
    assert.equal(e.flow, "report");
    assert.deepEqual(e.issues.map((i) => i.message), [
      'Unknown param "limt" (did you mean "limit"?)',
      'Param "limit" must be integer, got string "ten"',
      'Param "mode" must be one of "full", "quick", got "slow"',
    ]);
    assert.match(e.message, /^Invalid params for flow "report":\n/);
    return true;
  });
  assert.equal(ran, 0);
});

Deno.test("coerceParams converts command-line strings", async () => {
  const f = flow({ name: "cli", params: { n: "integer", dry: "boolean" } }, (_f, p) => ({ ...p }));
  const record = await f.run({ n: "3", dry: "yes" } as never, {
    clock: new FakeClock(),
    coerceParams: true,
  });
  assert.deepEqual(record.result, { n: 3, dry: true });
});

Deno.test("invalid flow options reject the run before the body runs", async () => {
  let bodyRan = false;
  const f = flow({ name: "bad", concurrency: 0, paramz: {} } as never, () => {
    bodyRan = true;
  });
  await assert.rejects(f.run(), (e) => {
    assert.ok(e instanceof FlowValidationError);
    assert.deepEqual(e.issues.map((i) => i.message), [
      'Flow "bad" has unknown option "paramz" (did you mean "params"?)',
      "concurrency must be a whole number ≥ 1, got 0",
    ]);
    return true;
  });
  assert.equal(bodyRan, false);
});

Deno.test("invalid task options reject the run before any task runs", async () => {
  let ran = 0;
  const good = task("good", () => ran++);
  const bad = task({ name: "bad", retries: -1, timeout: "soon", retires: 1 } as never, () => ran++);
  const f = flow("invalid", () => {
    good();
    bad();
  });
  await assert.rejects(f.run({}, { clock: new FakeClock() }), (e) => {
    assert.ok(e instanceof FlowValidationError);
    assert.equal(e.issues.length, 3);
    assert.ok(e.issues.every((i) => i.message.startsWith('Task "bad": ')));
    assert.match(e.message, /unknown task option "retires" \(did you mean "retries"\?\)/);
    return true;
  });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(ran, 0);
});

Deno.test("a task asking for an executor this build lacks is rejected", async () => {
  const w = task({ name: "w", executor: "process" }, () => 1);
  await assert.rejects(
    flow("exec", () => w()).run({}, { clock: new FakeClock() }),
    /asks for executor "process", which this build does not offer yet/,
  );
});

Deno.test("a task requesting more than the flow's permission ceiling is rejected", async () => {
  const fetcher = task({ name: "fetcher", permissions: { net: ["evil.com"] } }, () => 1);
  const f = flow({ name: "ceiling", permissions: { net: ["api.example.com"] } }, () => fetcher());
  await assert.rejects(f.run({}, { clock: new FakeClock() }), (e) => {
    assert.ok(e instanceof FlowValidationError);
    assert.match(e.issues[0].message, /requests net "evil\.com", beyond the flow's ceiling/);
    return true;
  });
});

// ---- hooks and middleware ----

Deno.test("hooks run in lifecycle order, the flow's before the run's", async () => {
  const clock = new FakeClock(0);
  const calls: string[] = [];
  const hooks = (who: string): Hooks => ({
    onFlowStart: (i) => void calls.push(`${who}:onFlowStart ${i.flow}`),
    beforeTask: (ctx) => void calls.push(`${who}:beforeTask ${ctx.taskId}#${ctx.attempt}`),
    afterTask: (ctx, r) => void calls.push(`${who}:afterTask ${ctx.taskId}=${r}`),
    onTaskRetry: (ctx, e, ms) =>
      void calls.push(`${who}:onTaskRetry ${ctx.taskId} ${(e as Error).message} ${ms}`),
    onTaskError: (ctx, e) =>
      void calls.push(`${who}:onTaskError ${ctx.taskId} ${(e as Error).message}`),
    onFlowSuccess: () => void calls.push(`${who}:onFlowSuccess`),
    onFlowFailure: (r) => void calls.push(`${who}:onFlowFailure ${r.status}`),
  });
  const flaky = task({ name: "flaky", retries: { attempts: 2, delay: 10 } }, (ctx: TaskContext) => {
    calls.push(`run flaky#${ctx.attempt}`);
    if (ctx.attempt === 1) throw new Error("first try");
    return 1;
  });
  const boom = task("boom", (_x: number) => {
    calls.push("run boom");
    throw new Error("broken");
  });
  const f = flow({ name: "hooked", hooks: hooks("flow") }, () => {
    boom(flaky());
  });
  const record = await f.run({}, { clock, hooks: hooks("run") });
  assert.equal(record.status, "failed");
  assert.deepEqual(calls, [
    "flow:onFlowStart hooked",
    "run:onFlowStart hooked",
    "flow:beforeTask flaky#1",
    "run:beforeTask flaky#1",
    "run flaky#1",
    "flow:onTaskRetry flaky first try 10",
    "run:onTaskRetry flaky first try 10",
    "flow:beforeTask flaky#2",
    "run:beforeTask flaky#2",
    "run flaky#2",
    "flow:afterTask flaky=1",
    "run:afterTask flaky=1",
    "flow:beforeTask boom#1",
    "run:beforeTask boom#1",
    "run boom",
    "flow:onTaskError boom broken",
    "run:onTaskError boom broken",
    "flow:onFlowFailure failed",
    "run:onFlowFailure failed",
  ]);
});

Deno.test("onFlowSuccess receives the finished record", async () => {
  let got: RunRecordData | undefined; // what hooks receive: the record as plain data
  const one = task("one", () => 1);
  const record = await flow("ok", () => one()).run({}, {
    clock: new FakeClock(),
    hooks: { onFlowSuccess: (r) => void (got = r) },
  });
  assert.equal(got?.status, "succeeded");
  assert.equal(got?.result, 1);
  assert.deepEqual(got, record);
});

Deno.test("a failing hook is logged and does not fail the run", async () => {
  const one = task("one", () => 1);
  const boom = () => {
    throw new Error("hook bug");
  };
  const record = await flow("hook-fail", () => one()).run({}, {
    clock: new FakeClock(),
    hooks: {
      onFlowStart: boom,
      beforeTask: boom,
      afterTask: async () => {
        await Promise.resolve();
        throw new Error("async hook bug");
      },
      onFlowSuccess: boom,
    },
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 1);
});

Deno.test("the run waits for asynchronous afterTask hooks before finishing", async () => {
  const clock = new FakeClock(0);
  let hookDone = false;
  const one = task("one", () => 1);
  const record = await flow("slow-hook", () => one()).run({}, {
    clock,
    hooks: {
      afterTask: async (ctx) => {
        await ctx.sleep(100);
        hookDone = true;
      },
    },
  });
  assert.equal(hookDone, true);
  assert.equal(record.status, "succeeded");
});

Deno.test("middleware wraps each attempt, the run's outside the flow's", async () => {
  const calls: string[] = [];
  const mw = (name: string): Middleware => async (ctx, next) => {
    calls.push(`${name}> ${ctx.taskId}`);
    const r = await next();
    calls.push(`${name}< ${r}`);
    return r;
  };
  const work = task("work", () => {
    calls.push("task");
    return "v";
  });
  const f = flow({ name: "mw", middleware: [mw("flow1"), mw("flow2")] }, () => work());
  const record = await f.run({}, { clock: new FakeClock(), middleware: [mw("run")] });
  assert.equal(record.result, "v");
  assert.deepEqual(calls, [
    "run> work",
    "flow1> work",
    "flow2> work",
    "task",
    "flow2< v",
    "flow1< v",
    "run< v",
  ]);
});

Deno.test("middleware can replace a result or turn it into a failure", async () => {
  const a = task("a", () => 1);
  const b = task("b", () => 2);
  const m: Middleware = async (ctx, next) => {
    const r = await next();
    if (ctx.taskId === "b") throw new Error(`refused ${r}`);
    return (r as number) * 100;
  };
  const record = await flow({ name: "mw2", middleware: [m] }, () => {
    a();
    b();
  }).run({}, { clock: new FakeClock() });
  assert.equal(byId(record, "a").result, 100);
  assert.equal(byId(record, "b").status, "failed");
  assert.match(byId(record, "b").error!, /refused 2/);
});

Deno.test("middleware runs once per attempt", async () => {
  let wrapped = 0;
  const flaky = task({ name: "flaky", retries: 2 }, (ctx: TaskContext) => {
    if (ctx.attempt < 3) throw new Error("x");
    return "ok";
  });
  const record = await flow({
    name: "mw3",
    middleware: [(_ctx, next) => (wrapped++, next())],
  }, () => flaky()).run({}, { clock: new FakeClock() });
  assert.equal(record.result, "ok");
  assert.equal(wrapped, 3);
});

// ---- the result cache ----

Deno.test("a cached task is not run again for the same inputs", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const fetchRows = task({ name: "fetchRows", cache: true }, (table: string) => {
    calls++;
    return [`${table}-row`];
  });
  const f = flow("cached", () => fetchRows("users"));
  const first = await f.run({}, { clock: new FakeClock(), cache });
  const second = await f.run({}, { clock: new FakeClock(), cache });
  assert.equal(calls, 1);
  assert.deepEqual(second.result, ["users-row"]);
  assert.equal(byId(first, "fetchRows").status, "succeeded");
  assert.equal(byId(first, "fetchRows").cacheKey, undefined);
  const t = byId(second, "fetchRows");
  assert.equal(t.status, "cached");
  // The key names the task; the arguments are hashed (they may hold secrets).
  assert.match(t.cacheKey!, /^fetchRows:[0-9a-f]{32}$/);
  assert.equal(t.attempts, 0);
  assert.deepEqual(t.result, ["users-row"]);
});

Deno.test("different inputs miss the cache", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const get = task({ name: "get", cache: true }, (o: { a: number; b: number }) => (calls++, o.a));
  const f = flow(
    { name: "c", params: { o: { type: "object", required: true } } },
    (_f, p) => get(p.o as { a: number; b: number }),
  );
  await f.run({ o: { a: 1, b: 2 } }, { clock: new FakeClock(), cache });
  // Key order does not matter; values do.
  const same = await f.run({ o: { b: 2, a: 1 } }, { clock: new FakeClock(), cache });
  assert.equal(byId(same, "get").status, "cached");
  await f.run({ o: { a: 1, b: 3 } }, { clock: new FakeClock(), cache });
  assert.equal(calls, 2);
});

Deno.test("a cached result expires after its TTL", async () => {
  const cache = new MemoryCache();
  const clock = new FakeClock(0);
  let calls = 0;
  const t = task({ name: "t", cache: { ttl: "10m" } }, () => ++calls);
  const f = flow("ttl", () => t());
  assert.equal((await f.run({}, { clock, cache })).result, 1);
  clock.advance(9 * 60_000);
  const within = await f.run({}, { clock, cache });
  assert.equal(within.result, 1);
  assert.equal(byId(within, "t").status, "cached");
  clock.advance(60_000);
  const after = await f.run({}, { clock, cache });
  assert.equal(after.result, 2);
  assert.equal(byId(after, "t").status, "succeeded");
});

Deno.test("a cache key function decides what counts as the same input", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const user = task(
    { name: "user", cache: { key: (args) => `user:${(args[0] as { id: number }).id}` } },
    (req: { id: number; traceId: string }) => (calls++, `name-${req.id}`),
  );
  const f = (traceId: string) => flow("key", () => user({ id: 7, traceId }));
  await f("a").run({}, { clock: new FakeClock(), cache });
  const second = await f("b").run({}, { clock: new FakeClock(), cache });
  assert.equal(calls, 1);
  // An explicit key is hashed too: it holds argument values.
  assert.match(byId(second, "user").cacheKey!, /^key:[0-9a-f]{32}$/);
  assert.equal(second.result, "name-7");
});

Deno.test("a throwing cache key function fails the task", async () => {
  const t = task({
    name: "t",
    cache: {
      key: () => {
        throw new Error("no key");
      },
    },
  }, () => 1);
  const record = await flow("bad-key", () => {
    t();
  }).run({}, { clock: new FakeClock(), cache: new MemoryCache() });
  assert.equal(record.status, "failed");
  assert.match(byId(record, "t").error!, /no key/);
});

Deno.test("a failed task is not cached", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const t = task({ name: "t", cache: true }, () => {
    if (++calls === 1) throw new Error("first");
    return calls;
  });
  const f = flow("no-cache-fail", () => t());
  assert.equal((await f.run({}, { clock: new FakeClock(), cache })).status, "failed");
  assert.equal((await f.run({}, { clock: new FakeClock(), cache })).result, 2);
});

Deno.test("tasks downstream of a cached task get its value", async () => {
  const cache = new MemoryCache();
  const base = task({ name: "base", cache: true }, () => 21);
  const double = task("double", (x: number) => x * 2);
  const f = flow("downstream", () => double(base()));
  await f.run({}, { clock: new FakeClock(), cache });
  const second = await f.run({}, { clock: new FakeClock(), cache });
  assert.equal(second.result, 42);
  assert.equal(byId(second, "base").status, "cached");
});

Deno.test("afterTask also runs when a result comes from the cache", async () => {
  const cache = new MemoryCache();
  const seen: string[] = [];
  const t = task({ name: "t", cache: true }, () => "v");
  const f = flow("cache-hook", () => t());
  const hooks: Hooks = { afterTask: (ctx, r) => void seen.push(`${ctx.taskId}=${r}`) };
  await f.run({}, { clock: new FakeClock(), cache, hooks });
  await f.run({}, { clock: new FakeClock(), cache, hooks });
  assert.deepEqual(seen, ["t=v", "t=v"]);
});

Deno.test("a task that calls a task fails with a clear error instead of joining the run", async () => {
  const inner = task("inner", () => 1);
  const outer = task("outer", async () => {
    await Promise.resolve();
    return inner();
  });
  const record = await flow("nested", () => outer()).run();
  assert.equal(record.status, "failed");
  assert.match(
    record.error!,
    /Task "inner" was called outside a flow body \(tasks cannot call tasks/,
  );
  assert.deepEqual(record.tasks.map((t) => t.id), ["outer"]);
});

Deno.test("run option concurrency must be a whole number ≥ 1", async () => {
  const one = task("one", () => 1);
  const f = flow("c", () => one());
  // Like every other invalid input, a rejection, not a throw: run() always returns a promise.
  await assert.rejects(f.run({}, { concurrency: 0 }), /Invalid run option concurrency 0/);
});

Deno.test("a cache that throws fails the task instead of hanging the run", async () => {
  const cached = task({ name: "cached", cache: true }, () => 1);
  const broken = {
    get(): undefined {
      throw new Error("cache down");
    },
    set() {},
    clear() {},
  };
  const record = await flow("c", () => cached()).run({}, { cache: broken });
  assert.equal(record.status, "failed");
  assert.match(record.tasks[0].error!, /cache down/);
});

/**
 * The conformance suite of the {@linkcode Store} port: every implementation registers it from
 * its test file and passes it, so the engine and the CLI can rely on one behaviour.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RunEvent } from "../core/events.ts";
import { RunOwnedError, type RunOwner } from "./ownership.ts";
import {
  type AppendEvent,
  type NewRun,
  RunNotFoundError,
  type RunRow,
  type Store,
  type TaskRow,
} from "./store.ts";

const T0 = Date.UTC(2026, 0, 1);
/** The time `s` seconds after the suite's epoch. */
const at = (s: number) => T0 + s * 1000;
/** Its ISO text. */
const iso = (s: number) => new Date(at(s)).toISOString();

// Event builders: `t` is in seconds after T0.
const ev = {
  runStarted: (runId: string, t: number, params: Record<string, unknown> = {}): AppendEvent => ({
    type: "run.started",
    runId,
    time: at(t),
    flow: "etl",
    params,
  }),
  runFinished: (
    runId: string,
    t: number,
    status: "succeeded" | "failed" | "cancelled",
    more: { error?: string; result?: unknown } = {},
  ): AppendEvent => ({ type: "run.finished", runId, time: at(t), flow: "etl", status, ...more }),
  created: (
    runId: string,
    taskId: string,
    t: number,
    o: { needs?: string[]; group?: string; kind?: "task" | "map" } = {},
  ): AppendEvent => ({
    type: "task.created",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    needs: o.needs ?? [],
    kind: o.kind ?? "task",
    ...(o.group === undefined ? {} : { group: o.group }),
  }),
  started: (runId: string, taskId: string, t: number, attempt = 1): AppendEvent => ({
    type: "task.started",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    attempt,
  }),
  retrying: (runId: string, taskId: string, t: number, attempt: number): AppendEvent => ({
    type: "task.retrying",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    attempt,
    delayMs: 100,
    error: "flaky",
  }),
  succeeded: (
    runId: string,
    taskId: string,
    t: number,
    result: unknown,
    attempt = 1,
  ): AppendEvent => ({
    type: "task.succeeded",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    attempt,
    durationMs: 5,
    result,
  }),
  cached: (
    runId: string,
    taskId: string,
    t: number,
    key: string,
    result: unknown,
  ): AppendEvent => ({
    type: "task.cached",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    key,
    result,
  }),
  failed: (runId: string, taskId: string, t: number, error: string, attempts = 1): AppendEvent => ({
    type: "task.failed",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    attempts,
    error,
    durationMs: 5,
  }),
  skipped: (runId: string, taskId: string, t: number, reason: string): AppendEvent => ({
    type: "task.skipped",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    reason,
  }),
  cancelled: (runId: string, taskId: string, t: number): AppendEvent => ({
    type: "task.cancelled",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
  }),
  log: (runId: string, taskId: string, t: number, message: string): AppendEvent => ({
    type: "task.log",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    level: "info",
    message,
    props: { n: 1 },
  }),
  expanded: (runId: string, taskId: string, t: number, items: number): AppendEvent => ({
    type: "map.expanded",
    runId,
    time: at(t),
    taskId,
    name: nameOf(taskId),
    items,
  }),
};

/** `m[0]` is an item of `m`, `load#2` a second call of `load`: both have the plain name. */
function nameOf(taskId: string): string {
  return taskId.replace(/\[\d+\]$|#\d+$/, "");
}

/** Creates a run; a running one is claimed first, as its owner would. */
async function newRun(
  store: Store,
  runId: string,
  t: number,
  more: Partial<NewRun> = {},
): Promise<void> {
  if ((more.status ?? "running") === "running") await store.claimRun(runId);
  await store.createRun({
    runId,
    flow: "etl",
    status: "running",
    params: { day: "2026-01-01" },
    startedAt: iso(t),
    ...more,
  });
}

/** A run's whole life: every event type, retries, a map with a cached and a failed item. */
function lifecycle(runId: string): AppendEvent[][] {
  return [
    [
      ev.runStarted(runId, 1, { day: "2026-01-01" }),
      ev.created(runId, "a", 1),
      ev.created(runId, "b", 1, { needs: ["a"] }),
      ev.created(runId, "m", 1, { kind: "map", needs: ["a"] }),
      ev.started(runId, "a", 2),
    ],
    [ev.retrying(runId, "a", 3, 1), ev.started(runId, "a", 4, 2)],
    [
      ev.succeeded(runId, "a", 5, { rows: [1, 2], ok: true }, 2),
      ev.expanded(runId, "m", 5, 2),
      ev.created(runId, "m[0]", 5, { group: "m" }),
      ev.created(runId, "m[1]", 5, { group: "m" }),
      ev.started(runId, "m[0]", 6),
      ev.cached(runId, "m[1]", 6, "m:[1]", 5),
    ],
    [
      ev.failed(runId, "m[0]", 7, "boom"),
      ev.failed(runId, "m", 7, 'Task "m[0]" failed after 1 attempt: boom'),
      ev.skipped(runId, "b", 7, 'upstream "m" failed'),
      ev.created(runId, "c", 7),
      ev.cancelled(runId, "c", 8),
      ev.log(runId, "a", 8, "done"),
      ev.runFinished(runId, 9, "failed", { error: "boom", result: null }),
    ],
  ];
}

function byId(tasks: TaskRow[]): Record<string, TaskRow> {
  return Object.fromEntries(tasks.map((t) => [t.taskId, t]));
}

/** The row without what changes on its own: updatedAt, and the owner (checked apart). */
function withoutUpdatedAt(
  row: RunRow | undefined,
): Omit<RunRow, "updatedAt" | "owner"> | undefined {
  if (!row) return row;
  const { updatedAt: _, owner: _o, ...rest } = row;
  return rest;
}

/** Undoes what a store may do to a result: what comes back must equal what went in. */
const RESULTS: [string, unknown][] = [
  ["nested", { a: [1, { b: [null, true, false, "x"], c: {} }], d: { e: { f: { g: [[[]]] } } } }],
  ["null", null],
  ["empty string", ""],
  ["zero", 0],
  ["numbers", [-1.5, 1e300, 2 ** 53 - 1, 0.1 + 0.2, -2e-308]],
  ["unicode", 'ü ✓ 🎉 \u0000 \n\t "quoted" \\ \ud800'],
  ["array of objects", [{ id: 1 }, { id: 2, tags: ["x"] }]],
  ["large", Array.from({ length: 2000 }, (_, i) => ({ i, s: "v".repeat(i % 50) }))],
];

/** What the suite passes to `make`: the store must take its clock from here. */
export interface StoreCaseOptions {
  /** The clock of `updatedAt`, in milliseconds since the epoch. */
  now: () => number;
}

/** The rest of what {@linkcode storeCases} may be given. */
export interface StoreSuiteOptions {
  /** Called with each case's store once it is closed (to remove its files, drop its schema). */
  cleanup?: (store: Store) => Promise<void>;
  /**
   * Opens another store on the state of `store` (the same dir, the same database): a second
   * owner, as another process would be. The cases about two owners run only when it is given;
   * each closes the store it opened.
   */
  peer?: (store: Store, options: StoreCaseOptions) => Promise<Store>;
}

/**
 * Registers the conformance cases (flat `Deno.test`s named `<name>: <behaviour>`) for a store.
 * Each case gets a fresh store from `make` (with the clock to use), closes it, then calls
 * `cleanup` with it.
 *
 * @example
 * ```ts ignore
 * import { storeCases } from "./conformance.ts";
 * import { MemoryStore } from "@orchestra/orchestra";
 * storeCases("MemoryStore", (options) => Promise.resolve(new MemoryStore(options)));
 * ```
 */
export function storeCases(
  name: string,
  make: (options: StoreCaseOptions) => Promise<Store>,
  suite: StoreSuiteOptions = {},
): void {
  const { cleanup, peer } = suite;
  const test = (title: string, fn: (store: Store, clock: { ms: number }) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const clock = { ms: Date.UTC(2026, 0, 1, 12) };
      const store = await make({ now: () => clock.ms });
      try {
        await fn(store, clock);
      } finally {
        await store.close();
        await cleanup?.(store);
      }
    });
  // Two owners of one state: `a` is the case's store, `b` another store on the same state.
  const owners = (title: string, fn: (a: Store, b: Store) => Promise<void>) => {
    if (peer === undefined) return;
    test(`two owners: ${title}`, async (a, clock) => {
      const b = await peer(a, { now: () => clock.ms });
      try {
        await fn(a, b);
      } finally {
        await b.close();
      }
    });
  };

  test("createRun() and getRun() round-trip a run; unknown ids are undefined", async (store) => {
    await newRun(store, "r1", 0, {
      params: { day: "2026-01-01", n: [1, { x: null }] },
      flowFile: "flows/etl.ts",
      flowHash: "sha256-abc",
      pid: 4242,
      host: "build-1",
    });
    const row = await store.getRun("r1");
    assert.ok(row);
    assert.ok(!Number.isNaN(Date.parse(row.updatedAt)), `updatedAt ${row.updatedAt}`);
    assert.deepEqual(withoutUpdatedAt(row), {
      runId: "r1",
      flow: "etl",
      status: "running",
      params: { day: "2026-01-01", n: [1, { x: null }] },
      startedAt: iso(0),
      flowFile: "flows/etl.ts",
      flowHash: "sha256-abc",
      pid: 4242,
      host: "build-1",
    });
    assert.equal(await store.getRun("nope"), undefined);
    assert.deepEqual(await store.getTasks("nope"), []);
    assert.deepEqual(await store.events("nope"), []);
  });

  test("createRun() rejects a run id that exists", async (store) => {
    await newRun(store, "r1", 0);
    await assert.rejects(() => newRun(store, "r1", 1), /already exists/);
    assert.equal((await store.getRun("r1"))?.startedAt, iso(0));
  });

  test("listRuns() returns runs newest first, by start time then creation", async (store) => {
    await newRun(store, "old", 0);
    await newRun(store, "new", 20);
    await newRun(store, "mid-1", 10);
    await newRun(store, "mid-2", 10);
    const ids = (await store.listRuns()).map((r) => r.runId);
    assert.deepEqual(ids, ["new", "mid-2", "mid-1", "old"]);
    assert.deepEqual((await store.listRuns({ limit: 2 })).map((r) => r.runId), ["new", "mid-2"]);
    assert.deepEqual(await store.listRuns({ limit: 0 }), []);
  });

  test("listRuns() filters by flow, status and start time", async (store) => {
    await newRun(store, "a", 0);
    await newRun(store, "b", 1, { flow: "report" });
    await newRun(store, "c", 2);
    await store.append([ev.runFinished("a", 3, "succeeded", { result: 1 })]);
    await store.append([ev.runFinished("b", 4, "failed", { error: "x" })]);
    const ids = async (f: Parameters<Store["listRuns"]>[0]) =>
      (await store.listRuns(f)).map((r) => r.runId);
    assert.deepEqual(await ids({ flow: "etl" }), ["c", "a"]);
    assert.deepEqual(await ids({ status: "running" }), ["c"]);
    assert.deepEqual(await ids({ status: "failed", flow: "report" }), ["b"]);
    assert.deepEqual(await ids({ status: "failed", flow: "etl" }), []);
    assert.deepEqual(await ids({ olderThan: iso(2) }), ["b", "a"]);
    assert.deepEqual(await ids({ flow: "etl", olderThan: iso(2), limit: 5 }), ["a"]);
    await assert.rejects(() => store.listRuns({ olderThan: "last week" }), RangeError);
  });

  test("append() materialises the rows of every event type, retries and map items", async (store) => {
    await newRun(store, "r", 0);
    const [b1, b2, b3, b4] = lifecycle("r");
    await store.append(b1);
    let t = byId(await store.getTasks("r"));
    const base = { runId: "r", kind: "task", needs: [] };
    assert.deepEqual(t.a, {
      ...base,
      taskId: "a",
      name: "a",
      status: "running",
      attempts: 1,
      startedAt: iso(2),
      seq: 2,
    });
    assert.deepEqual(t.b, {
      ...base,
      taskId: "b",
      name: "b",
      needs: ["a"],
      status: "pending",
      attempts: 0,
      seq: 3,
    });
    assert.deepEqual(t.m, {
      ...base,
      taskId: "m",
      name: "m",
      kind: "map",
      needs: ["a"],
      status: "pending",
      attempts: 0,
      seq: 4,
    });

    await store.append(b2);
    t = byId(await store.getTasks("r"));
    assert.equal(t.a.status, "running");
    assert.equal(t.a.attempts, 2, "a retry's start counts as a second attempt");
    assert.equal(t.a.startedAt, iso(2), "startedAt stays the first attempt's");

    await store.append(b3);
    t = byId(await store.getTasks("r"));
    assert.deepEqual(t.a, {
      ...base,
      taskId: "a",
      name: "a",
      status: "succeeded",
      attempts: 2,
      startedAt: iso(2),
      finishedAt: iso(5),
      result: { rows: [1, 2], ok: true },
      seq: 2,
    });
    assert.deepEqual(t.m, {
      ...base,
      taskId: "m",
      name: "m",
      kind: "map",
      needs: ["a"],
      status: "running",
      attempts: 1,
      startedAt: iso(5),
      items: 2,
      seq: 4,
    });
    assert.deepEqual(t["m[0]"], {
      ...base,
      taskId: "m[0]",
      name: "m",
      group: "m",
      status: "running",
      attempts: 1,
      startedAt: iso(6),
      seq: 10,
    });
    assert.deepEqual(t["m[1]"], {
      ...base,
      taskId: "m[1]",
      name: "m",
      group: "m",
      status: "cached",
      attempts: 0,
      startedAt: iso(6),
      finishedAt: iso(6),
      cacheKey: "m:[1]",
      result: 5,
      seq: 11,
    });

    await store.append(b4);
    const tasks = await store.getTasks("r");
    assert.deepEqual(tasks.map((x) => x.taskId), ["a", "b", "m", "m[0]", "m[1]", "c"]);
    t = byId(tasks);
    assert.deepEqual(t["m[0]"], {
      ...base,
      taskId: "m[0]",
      name: "m",
      group: "m",
      status: "failed",
      attempts: 1,
      startedAt: iso(6),
      finishedAt: iso(7),
      error: "boom",
      seq: 10,
    });
    assert.equal(t.m.status, "failed");
    assert.equal(t.m.items, 2);
    assert.equal(t.m.error, 'Task "m[0]" failed after 1 attempt: boom');
    assert.deepEqual(t.b, {
      ...base,
      taskId: "b",
      name: "b",
      needs: ["a"],
      status: "skipped",
      attempts: 0,
      finishedAt: iso(7),
      reason: 'upstream "m" failed',
      seq: 3,
    });
    assert.deepEqual(t.c, {
      ...base,
      taskId: "c",
      name: "c",
      status: "cancelled",
      attempts: 0,
      finishedAt: iso(8),
      seq: 17,
    });
    assert.equal(t.a.status, "succeeded", "a log line changes no row");
    assert.deepEqual(withoutUpdatedAt(await store.getRun("r")), {
      runId: "r",
      flow: "etl",
      status: "failed",
      params: { day: "2026-01-01" },
      startedAt: iso(0),
      finishedAt: iso(9),
      error: "boom",
      result: null,
    });
  });

  test("append() gives the same rows whether events come in one batch or one by one", async (store) => {
    const all = (id: string) => lifecycle(id).flat();
    await store.append(all("one"));
    for (const e of all("each")) await store.append([e]);
    const pairs = all("pairs");
    for (let i = 0; i < pairs.length; i += 2) await store.append(pairs.slice(i, i + 2));
    const rows = async (id: string) =>
      (await store.getTasks(id)).map((t) => ({ ...t, runId: "*" }));
    const run = async (id: string) => ({ ...withoutUpdatedAt(await store.getRun(id)), runId: "*" });
    assert.deepEqual(await rows("each"), await rows("one"));
    assert.deepEqual(await rows("pairs"), await rows("one"));
    assert.deepEqual(await run("each"), await run("one"));
    assert.deepEqual(await run("pairs"), await run("one"));
    assert.equal((await store.events("one")).length, all("x").length);
  });

  test("getTasks() reads the same rows while a run goes on, once reopened, and once finished", async (store) => {
    const batches = lifecycle("x");
    const rows = async (id: string) =>
      (await store.getTasks(id)).map((t) => ({ ...t, runId: "*" }));
    for (let k = 1; k < batches.length; k++) {
      // "a" gets the first k batches; "b" the same, then a reopen (which a store may use to
      // bring its rows up to date); "c" the first k batches and the end of the run.
      const [a, b, c] = ["a", "b", "c"].map((p) => `${p}${k}`);
      for (const batch of lifecycle(a).slice(0, k)) await store.append(batch);
      for (const batch of lifecycle(b).slice(0, k)) await store.append(batch);
      assert.equal(await store.reopenRun(b), true);
      for (const batch of lifecycle(c).slice(0, k)) await store.append(batch);
      await store.append([ev.runFinished(c, 20, "succeeded", { result: 1 })]);
      assert.deepEqual(await rows(b), await rows(a), `${k} batches, reopened`);
      assert.deepEqual(await rows(c), await rows(a), `${k} batches, finished`);
      // And on from there: the rest of the run gives the rows of a run appended at once.
      for (const batch of lifecycle(a).slice(k)) await store.append(batch);
      for (const batch of lifecycle(b).slice(k)) await store.append(batch);
    }
    await store.append(batches.flat());
    for (let k = 1; k < batches.length; k++) {
      assert.deepEqual(await rows(`a${k}`), await rows("x"), `${k} batches, then the rest`);
      assert.deepEqual(await rows(`b${k}`), await rows("x"), `${k} batches, reopened, the rest`);
    }
  });

  test("an append that fails changes nothing, also for a run that has events", async (store) => {
    const [first, second] = lifecycle("r");
    await store.append(first);
    const tasks = await store.getTasks("r");
    const events = await store.events("r");
    await assert.rejects(
      () => store.append([...second, ev.created("ghost", "a", 3)]),
      RunNotFoundError,
    );
    assert.deepEqual(await store.getTasks("r"), tasks);
    assert.deepEqual(await store.events("r"), events);
    await store.append(second);
    assert.deepEqual(
      (await store.events("r")).map((e) => e.seq),
      [...first, ...second].map((_, i) => i + 1),
    );
    assert.equal(byId(await store.getTasks("r")).a.attempts, 2);
  });

  test("results and params round-trip exactly as JSON values", async (store) => {
    const params = { list: [1, "two", null], nested: { deep: { deeper: [true] } }, s: "é" };
    await store.append([ev.runStarted("r", 0, params)]);
    const events: AppendEvent[] = [];
    RESULTS.forEach(([id], i) => {
      events.push(
        ev.created("r", id, 1),
        ev.started("r", id, 1),
        ev.succeeded("r", id, 2, RESULTS[i][1]),
      );
    });
    events.push(ev.created("r", "nothing", 1), ev.succeeded("r", "nothing", 2, undefined));
    events.push(ev.created("r", "cached", 1), ev.cached("r", "cached", 2, "k", RESULTS[0][1]));
    await store.append(events);
    const check = async (when: string) => {
      const t = byId(await store.getTasks("r"));
      for (const [id, value] of RESULTS) assert.deepEqual(t[id].result, value, `${id}, ${when}`);
      assert.equal("result" in t.nothing, false, "an undefined result is no result, not null");
      assert.deepEqual(t.cached.result, RESULTS[0][1]);
    };
    await check("while the run goes on");
    await store.append([ev.runFinished("r", 3, "succeeded", { result: RESULTS[0][1] })]);
    await check("once it has finished");
    const run = await store.getRun("r");
    assert.deepEqual(run?.params, params);
    assert.deepEqual(run?.result, RESULTS[0][1]);
  });

  test("rows are copies: changing one does not change the store", async (store) => {
    await store.append([
      ev.runStarted("r", 0, { p: [1] }),
      ev.created("r", "a", 1),
      ev.succeeded("r", "a", 2, { list: [1] }),
    ]);
    const [a] = await store.getTasks("r");
    (a.result as { list: number[] }).list.push(2);
    (await store.getRun("r"))!.params.p = "changed";
    assert.deepEqual((await store.getTasks("r"))[0].result, { list: [1] });
    assert.deepEqual((await store.getRun("r"))!.params, { p: [1] });
  });

  test("events() returns the journal in order without results, filtered by seq, task and type", async (store) => {
    await newRun(store, "r", 0);
    const batches = lifecycle("r");
    for (const b of batches) await store.append(b);
    const sent = batches.flat();
    const all = await store.events("r");
    assert.deepEqual(all.map((e) => e.seq), sent.map((_, i) => i + 1));
    const expected: RunEvent[] = sent.map((e) => {
      const { result: _, ...rest } = e;
      return rest as RunEvent;
    });
    assert.deepEqual(all.map((e) => e.event), expected);
    assert.deepEqual(
      (await store.events("r", { afterSeq: sent.length - 2 })).map((e) => e.seq),
      [sent.length - 1, sent.length],
    );
    const ofA = await store.events("r", { taskId: "a" });
    assert.deepEqual(ofA.map((e) => e.event.type), [
      "task.created",
      "task.started",
      "task.retrying",
      "task.started",
      "task.succeeded",
      "task.log",
    ]);
    assert.ok(ofA.every((e, i) => i === 0 || e.seq > ofA[i - 1].seq));
    const logs = await store.events("r", { types: ["task.log", "run.finished"] });
    assert.deepEqual(logs.map((e) => e.event.type), ["task.log", "run.finished"]);
    assert.deepEqual(logs[0].event, ev.log("r", "a", 8, "done"));
    const afterA = await store.events("r", { taskId: "a", afterSeq: ofA[2].seq, limit: 2 });
    assert.deepEqual(afterA.map((e) => e.seq), [ofA[3].seq, ofA[4].seq]);
    assert.deepEqual(await store.events("r", { types: [] }), []);
  });

  test("append() numbers each run's events on its own in one batch of many runs", async (store) => {
    await store.append([
      ev.runStarted("x", 0),
      ev.runStarted("y", 0),
      ev.created("x", "a", 1),
      ev.created("y", "a", 1),
      ev.created("y", "b", 1),
    ]);
    assert.deepEqual((await store.events("x")).map((e) => e.seq), [1, 2]);
    assert.deepEqual((await store.events("y")).map((e) => e.seq), [1, 2, 3]);
    assert.deepEqual((await store.getTasks("y")).map((t) => [t.taskId, t.seq]), [
      ["a", 2],
      ["b", 3],
    ]);
    await store.append([ev.created("x", "b", 2)]);
    assert.deepEqual((await store.events("x")).map((e) => e.seq), [1, 2, 3]);
  });

  test("append() of run.started creates the run; on a finished run it sets it running again", async (store) => {
    await store.append([ev.runStarted("r", 5, { n: 1 })]);
    const row = await store.getRun("r");
    assert.deepEqual(withoutUpdatedAt(row), {
      runId: "r",
      flow: "etl",
      status: "running",
      params: { n: 1 },
      startedAt: iso(5),
    });
    await store.append([ev.runFinished("r", 6, "failed", { error: "x", result: null })]);
    await store.append([ev.runStarted("r", 7, { n: 2 })]);
    assert.deepEqual(withoutUpdatedAt(await store.getRun("r")), {
      runId: "r",
      flow: "etl",
      status: "running",
      params: { n: 1 },
      startedAt: iso(5),
    });
  });

  test("append() for an unknown run rejects with RunNotFoundError and writes nothing", async (store) => {
    await newRun(store, "r", 0);
    await assert.rejects(
      () => store.append([ev.created("r", "a", 1), ev.created("ghost", "a", 1)]),
      (e) => e instanceof RunNotFoundError && e.runId === "ghost",
    );
    assert.deepEqual(await store.getTasks("r"), []);
    assert.deepEqual(await store.events("r"), []);
    assert.equal(await store.getRun("ghost"), undefined);
    await store.append([ev.created("r", "a", 1)]);
    assert.deepEqual((await store.events("r")).map((e) => e.seq), [1]);
  });

  test("append() rejects a malformed event with a TypeError and writes nothing", async (store) => {
    await newRun(store, "r", 0);
    const bad = { type: "task.created", runId: "r", taskId: "b" } as unknown as AppendEvent;
    await assert.rejects(() => store.append([ev.created("r", "a", 1), bad]), TypeError);
    assert.deepEqual(await store.events("r"), []);
    await store.append([]);
    assert.deepEqual(await store.events("r"), []);
  });

  test("task.created again (a resumed run) keeps the task's state, result and seq", async (store) => {
    await store.append([
      ev.runStarted("r", 0),
      ev.created("r", "a", 1),
      ev.created("r", "b", 1, { needs: ["a"] }),
      ev.started("r", "a", 2),
      ev.succeeded("r", "a", 3, [1, 2, 3]),
      ev.runFinished("r", 4, "cancelled", { error: "stopped", result: null }),
    ]);
    await store.append([
      ev.runStarted("r", 10),
      ev.created("r", "a", 11),
      ev.created("r", "b", 11, { needs: ["a"] }),
    ]);
    const t = byId(await store.getTasks("r"));
    assert.equal(t.a.status, "succeeded");
    assert.deepEqual(t.a.result, [1, 2, 3]);
    assert.equal(t.a.seq, 2, "the seq of its first event");
    assert.equal(t.b.seq, 3);
    assert.equal(t.b.status, "pending");
    // The engine then settles a restored call with its journaled result.
    await store.append([ev.succeeded("r", "a", 11, [1, 2, 3])]);
    const a = byId(await store.getTasks("r")).a;
    assert.equal(a.startedAt, iso(2));
    assert.equal(a.finishedAt, iso(11));
    // Started again (retry --from): its end and result are gone until it settles again.
    await store.append([ev.started("r", "a", 12, 2)]);
    const again = byId(await store.getTasks("r")).a;
    assert.deepEqual(
      [again.status, again.attempts, again.startedAt, "finishedAt" in again, "result" in again],
      ["running", 2, iso(2), false, false],
    );
  });

  test("a task event without its task.created still makes a row, in journal order", async (store) => {
    await store.append([ev.runStarted("r", 0), ev.created("r", "a", 1)]);
    await store.append([ev.started("r", "stray", 2), ev.created("r", "b", 2)]);
    const tasks = await store.getTasks("r");
    assert.deepEqual(tasks.map((t) => [t.taskId, t.seq]), [["a", 2], ["stray", 3], ["b", 4]]);
    const stray = tasks[1];
    assert.deepEqual(stray, {
      runId: "r",
      taskId: "stray",
      name: "stray",
      kind: "task",
      needs: [],
      status: "running",
      attempts: 1,
      startedAt: iso(2),
      seq: 3,
    });
  });

  test("reopenRun() sets a run running again and resets only the given tasks", async (store) => {
    await newRun(store, "r", 0, { pid: 1, host: "old" });
    for (const b of lifecycle("r")) await store.append(b);
    assert.equal(await store.requestCancel("r"), false, "a finished run cannot be cancelled");
    assert.equal(await store.reopenRun("ghost"), false);
    assert.ok((await store.claimRun("r")).lease, "a finished run is free to claim");
    assert.equal(
      await store.reopenRun("r", { resetTasks: ["b", "m", "m[0]", "nope"], pid: 2, host: "new" }),
      true,
    );
    const run = await store.getRun("r");
    assert.deepEqual(withoutUpdatedAt(run), {
      runId: "r",
      flow: "etl",
      status: "running",
      params: { day: "2026-01-01" },
      startedAt: iso(0),
      pid: 2,
      host: "new",
    });
    const t = byId(await store.getTasks("r"));
    assert.equal(t.a.status, "succeeded");
    assert.deepEqual(t.a.result, { rows: [1, 2], ok: true });
    assert.equal(t["m[1]"].status, "cached");
    for (const id of ["b", "m", "m[0]"]) {
      const { runId, taskId, name, kind, needs, group, seq } = t[id];
      const expected: TaskRow = {
        runId,
        taskId,
        name,
        kind,
        needs,
        status: "pending",
        attempts: 0,
        seq,
      };
      if (group !== undefined) expected.group = group;
      assert.deepEqual(t[id], expected, id);
    }
    assert.equal(await store.requestCancel("r"), true);
    await store.reopenRun("r");
    assert.equal(await store.isCancelRequested("r"), false, "reopening clears a cancel request");
  });

  test("requestCancel() flags a running run and isCancelRequested() reads the flag", async (store) => {
    await newRun(store, "r", 0);
    assert.equal(await store.isCancelRequested("r"), false);
    assert.equal(await store.requestCancel("r"), true);
    assert.equal(await store.isCancelRequested("r"), true);
    assert.equal((await store.getRun("r"))?.cancelRequested, true);
    assert.equal(await store.requestCancel("r"), true, "asking twice is fine");
    assert.equal(await store.requestCancel("ghost"), false);
    assert.equal(await store.isCancelRequested("ghost"), false);
    await newRun(store, "done", 0);
    await store.append([ev.runFinished("done", 1, "succeeded", { result: 1 })]);
    assert.equal(await store.requestCancel("done"), false);
    assert.equal(await store.isCancelRequested("done"), false);
  });

  test("pruneRuns() deletes only finished runs that finished before the time, with their tasks and events", async (store) => {
    for (const [id, end] of [["old-ok", 10], ["old-failed", 20], ["recent", 40]] as const) {
      await store.append([
        ev.runStarted(id, 0),
        ev.created(id, "a", 1),
        ev.succeeded(id, "a", 2, 1),
        ev.runFinished(id, end, id === "old-failed" ? "failed" : "succeeded", { result: 1 }),
      ]);
    }
    await store.append([ev.runStarted("running", 0), ev.created("running", "a", 1)]);
    assert.equal(await store.pruneRuns(iso(30)), 2);
    assert.deepEqual((await store.listRuns()).map((r) => r.runId).sort(), ["recent", "running"]);
    for (const id of ["old-ok", "old-failed"]) {
      assert.equal(await store.getRun(id), undefined);
      assert.deepEqual(await store.getTasks(id), []);
      assert.deepEqual(await store.events(id), []);
    }
    assert.equal((await store.getTasks("recent")).length, 1);
    assert.equal((await store.events("recent")).length, 4);
    assert.equal(await store.pruneRuns(iso(30)), 0);
    assert.equal(await store.pruneRuns(iso(1000)), 1, "a running run is never pruned");
    await assert.rejects(() => store.pruneRuns("30d"), RangeError);
    // A pruned id can be used again.
    await store.append([ev.runStarted("old-ok", 50)]);
    assert.deepEqual((await store.events("old-ok")).map((e) => e.seq), [1]);
  });

  test("the cache returns a value until it expires, overwrites, and clears", async (store) => {
    assert.equal(await store.cacheGet("k", 0), undefined);
    await store.cacheSet("k", { rows: [1, { x: null }] }, 1000);
    assert.deepEqual(await store.cacheGet("k", 0), { value: { rows: [1, { x: null }] } });
    assert.deepEqual(await store.cacheGet("k", 999), { value: { rows: [1, { x: null }] } });
    assert.equal(await store.cacheGet("k", 1000), undefined, "expired at expiresAt");
    await store.cacheSet("k", 2, 2000);
    assert.deepEqual(await store.cacheGet("k", 1500), { value: 2 });
    await store.cacheSet("u", undefined, 2000);
    assert.deepEqual(await store.cacheGet("u", 0), { value: undefined }, "undefined is a hit");
    await store.cacheSet("n", null, 2000);
    assert.deepEqual(await store.cacheGet("n", 0), { value: null });
    assert.equal(await store.cacheClear(), 3);
    assert.equal(await store.cacheGet("k", 0), undefined);
    assert.equal(await store.cacheClear(), 0);
  });

  test("claimRun() gives one lease per run until it is released; runOwner() names its holder", async (store) => {
    const first = await store.claimRun("r", { pid: 4242, host: "build-1", since: iso(0) });
    assert.ok(first.lease, "a new run is free");
    assert.deepEqual(first.lease.owner, { pid: 4242, host: "build-1", since: iso(0) });
    assert.deepEqual(await store.runOwner("r"), { pid: 4242, host: "build-1", since: iso(0) });
    const second = await store.claimRun("r");
    assert.equal(second.lease, undefined, "held: no second lease");
    assert.deepEqual(second.heldBy, { pid: 4242, host: "build-1", since: iso(0) });
    assert.ok((await store.claimRun("other")).lease, "leases are per run");
    await first.lease.release();
    await first.lease.release(); // twice is harmless
    assert.equal(await store.runOwner("r"), undefined);
    const again = await store.claimRun("r");
    assert.ok(again.lease, "released: free to claim");
    assert.equal(again.lease.owner.pid, Deno.pid, "the owner defaults to this process");
  });

  test("a running run nobody holds reads as interrupted, in getRun() and listRuns()", async (store) => {
    await newRun(store, "held", 0);
    await store.createRun({
      runId: "orphan",
      flow: "etl",
      status: "running",
      params: {},
      startedAt: iso(1),
    });
    await newRun(store, "done", 2, { status: "failed", finishedAt: iso(3), error: "x" });
    const held = await store.getRun("held");
    assert.equal(held?.status, "running");
    assert.equal(held?.owner?.pid, Deno.pid, "a running run names its owner");
    const orphan = await store.getRun("orphan");
    assert.equal(orphan?.status, "interrupted");
    assert.equal(orphan?.owner, undefined);
    assert.equal((await store.getRun("done"))?.owner, undefined, "a finished run has no owner");
    const ids = async (filter: Parameters<Store["listRuns"]>[0]) =>
      (await store.listRuns(filter)).map((r) => `${r.runId}:${r.status}`);
    assert.deepEqual(await ids({}), ["done:failed", "orphan:interrupted", "held:running"]);
    assert.deepEqual(await ids({ status: "running" }), ["held:running"]);
    assert.deepEqual(await ids({ status: "interrupted" }), ["orphan:interrupted"]);
    assert.deepEqual(await ids({ status: "interrupted", limit: 0 }), []);
    // Claiming it (a resume) makes it running again; its run.finished ends the claim.
    assert.ok((await store.claimRun("orphan")).lease);
    assert.equal((await store.getRun("orphan"))?.status, "running");
    await store.append([ev.runFinished("orphan", 4, "cancelled", { error: "stopped" })]);
    assert.equal(await store.runOwner("orphan"), undefined, "run.finished releases the claim");
    assert.equal((await store.getRun("orphan"))?.status, "cancelled");
  });

  test("append() of run.started claims the run for the store; run.finished releases it", async (store) => {
    await store.append([ev.runStarted("r", 1)]);
    assert.equal((await store.runOwner("r"))?.pid, Deno.pid);
    assert.equal((await store.getRun("r"))?.status, "running");
    await store.append([ev.runStarted("r", 2)]); // the same owner again: fine
    await store.append([ev.runFinished("r", 3, "succeeded", { result: 1 })]);
    assert.equal(await store.runOwner("r"), undefined);
  });

  test("createRun() records retryOf; listRuns() filters by id prefix and by retryOf", async (store) => {
    await newRun(store, "01aa", 0, { status: "failed", finishedAt: iso(1) });
    await newRun(store, "01ab", 2, { status: "succeeded", finishedAt: iso(3), retryOf: "01aa" });
    await newRun(store, "02cc", 4, { status: "succeeded", finishedAt: iso(5), retryOf: "01aa" });
    assert.equal((await store.getRun("01ab"))?.retryOf, "01aa");
    assert.equal((await store.getRun("01aa"))?.retryOf, undefined);
    const ids = async (filter: Parameters<Store["listRuns"]>[0]) =>
      (await store.listRuns(filter)).map((r) => r.runId);
    assert.deepEqual(await ids({ idPrefix: "01a" }), ["01ab", "01aa"]);
    assert.deepEqual(await ids({ idPrefix: "01aa" }), ["01aa"]);
    assert.deepEqual(await ids({ idPrefix: "9" }), []);
    assert.deepEqual(await ids({ idPrefix: "%" }), [], "no pattern characters");
    assert.deepEqual(await ids({ retryOf: "01aa" }), ["02cc", "01ab"]);
    assert.deepEqual(await ids({ retryOf: "01aa", idPrefix: "01" }), ["01ab"]);
  });

  test("recordProcess() keeps a run's process groups until forgotten or the run is pruned", async (store) => {
    await newRun(store, "r", 0);
    const p = (pgid: number, t: number, host = "h1") => ({
      runId: "r",
      taskId: `t${pgid}`,
      host,
      pgid,
      identity: `boot:${pgid}`,
      startedAt: iso(t),
    });
    assert.deepEqual(await store.processes("r"), []);
    await store.recordProcess(p(200, 2));
    await store.recordProcess(p(100, 1));
    await store.recordProcess(p(100, 3, "h2"));
    assert.deepEqual(await store.processes("r"), [p(100, 1), p(200, 2), p(100, 3, "h2")]);
    await store.forgetProcess({ runId: "r", host: "h1", pgid: 100 });
    await store.forgetProcess({ runId: "r", host: "h1", pgid: 999 }); // unknown: nothing
    assert.deepEqual(await store.processes("r"), [p(200, 2), p(100, 3, "h2")]);
    assert.deepEqual(await store.processes("nope"), []);
    await store.append([ev.runFinished("r", 4, "failed", { error: "x" })]);
    assert.equal(await store.pruneRuns(iso(10)), 1);
    assert.deepEqual(await store.processes("r"), []);
  });

  test("state entries round-trip by scope and key, list by key, and delete", async (store) => {
    assert.equal(await store.stateGet("schedule", "a", 0), undefined);
    await store.statePut("schedule", "b", { lastTick: "2026-01-01T00:00:00.000Z", paused: true });
    await store.statePut("schedule", "a", [1, null, "x"]);
    await store.statePut("delivery", "a", "other scope");
    assert.deepEqual(await store.stateGet("schedule", "a", 0), { key: "a", value: [1, null, "x"] });
    assert.deepEqual((await store.stateList("schedule", 0)).map((e) => e.key), ["a", "b"]);
    assert.deepEqual((await store.stateList("schedule", 0))[1].value, {
      lastTick: "2026-01-01T00:00:00.000Z",
      paused: true,
    });
    await store.statePut("schedule", "a", 2);
    assert.deepEqual(await store.stateGet("schedule", "a", 0), { key: "a", value: 2 }, "replaced");
    assert.equal(await store.stateDelete("schedule", "a"), true);
    assert.equal(await store.stateDelete("schedule", "a"), false);
    assert.equal(await store.stateGet("schedule", "a", 0), undefined);
    assert.deepEqual(await store.stateGet("delivery", "a", 0), { key: "a", value: "other scope" });
    assert.deepEqual(await store.stateList("none", 0), []);
  });

  test("state entries expire at expiresAt, and statePutNew() writes only a new key", async (store) => {
    await store.statePut("delivery", "k", { runId: "r1" }, { expiresAt: 1000 });
    assert.deepEqual(await store.stateGet("delivery", "k", 999), {
      key: "k",
      value: { runId: "r1" },
      expiresAt: 1000,
    });
    assert.equal(await store.stateGet("delivery", "k", 1000), undefined, "expired at expiresAt");
    assert.deepEqual(await store.stateList("delivery", 1000), []);
    // Not expired: the entry that is there comes back and nothing is written.
    assert.deepEqual(
      await store.statePutNew("delivery", "k", { runId: "r2" }, { expiresAt: 3000, now: 500 }),
      { key: "k", value: { runId: "r1" }, expiresAt: 1000 },
    );
    // Expired: replaced.
    assert.equal(
      await store.statePutNew("delivery", "k", { runId: "r2" }, { expiresAt: 3000, now: 1000 }),
      undefined,
    );
    assert.deepEqual((await store.stateGet("delivery", "k", 1000))?.value, { runId: "r2" });
    assert.equal(await store.statePutNew("delivery", "n", 1, { now: 0 }), undefined);
    assert.deepEqual(await store.statePutNew("delivery", "n", 2, { now: 0 }), {
      key: "n",
      value: 1,
    });
    // Of many puts of one key at once, exactly one writes.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.statePutNew("delivery", "race", i, { now: 0 })),
    );
    assert.equal(results.filter((r) => r === undefined).length, 1);
  });

  test("events() keeps fields a store does not know of (argsHash, masked and sealed results)", async (store) => {
    // Newer engines add optional fields; the journal must give them back as they were.
    const more = (e: AppendEvent, fields: Record<string, unknown>): AppendEvent =>
      Object.assign({}, e, fields);
    const created = more(ev.created("r", "a", 1), { argsHash: "sha256-9f2c" });
    const succeeded = more(ev.succeeded("r", "a", 3, "***"), {
      masked: true,
      sealed: "enc:v1:c2VhbGVk",
    });
    const cached = more(ev.cached("r", "b", 4, "k", { token: "***" }), {
      masked: true,
      sealed: "enc:v1:b3RoZXI=",
    });
    const odd = more(ev.log("r", "a", 5, "x"), { attempt: 2, tags: ["a", { b: null }] });
    await store.append([ev.runStarted("r", 0), created, ev.started("r", "a", 2), succeeded]);
    await store.append([cached, odd]);
    const without = (e: AppendEvent) => {
      const { result: _, ...rest } = e;
      return rest;
    };
    assert.deepEqual(
      (await store.events("r")).map((e) => e.event),
      [ev.runStarted("r", 0), created, ev.started("r", "a", 2), succeeded, cached, odd].map(
        without,
      ),
    );
    const t = byId(await store.getTasks("r"));
    assert.equal(t.a.status, "succeeded");
    assert.equal(t.a.result, "***", "the row holds the result as journaled");
    assert.deepEqual(t.b.result, { token: "***" });
    const [last] = await store.events("r", { taskId: "a", types: ["task.succeeded"] });
    assert.equal((last.event as unknown as { sealed: string }).sealed, "enc:v1:c2VhbGVk");
  });

  const someone: RunOwner = { pid: 4242, host: "build-1", since: iso(0) };

  owners(
    "a run one holds is held for the other, which names its owner; released, the other may take it",
    async (a, b) => {
      const claim = await a.claimRun("r", someone);
      assert.ok(claim.lease);
      await a.createRun({
        runId: "r",
        flow: "etl",
        status: "running",
        params: {},
        startedAt: iso(0),
      });
      const refused = await b.claimRun("r");
      assert.equal(refused.lease, undefined);
      assert.deepEqual(refused.heldBy, someone);
      assert.deepEqual(await b.runOwner("r"), someone);
      const row = await b.getRun("r");
      assert.equal(row?.status, "running");
      assert.deepEqual(row?.owner, someone);
      await claim.lease.release();
      assert.equal(await b.runOwner("r"), undefined);
      assert.equal((await b.getRun("r"))?.status, "interrupted");
      const taken = await b.claimRun("r");
      assert.ok(taken.lease, "released: the other may claim it");
      assert.equal((await a.claimRun("r")).heldBy?.pid, Deno.pid);
      assert.equal((await a.getRun("r"))?.status, "running");
      assert.deepEqual(await a.listRuns({ status: "running" }).then((r) => r.map((x) => x.runId)), [
        "r",
      ]);
    },
  );

  owners(
    "run.started of a run the other holds is refused with RunOwnedError and writes nothing",
    async (a, b) => {
      await a.append([ev.runStarted("r", 0), ev.created("r", "a", 1)]);
      await assert.rejects(
        () => b.append([ev.runStarted("r", 5), ev.created("r", "b", 5)]),
        (e) => e instanceof RunOwnedError && e.runId === "r" && e.owner.pid === Deno.pid,
      );
      assert.deepEqual((await b.events("r")).map((e) => e.seq), [1, 2]);
      assert.deepEqual((await b.getTasks("r")).map((t) => t.taskId), ["a"]);
      // Once its owner finished it, the other may start it again.
      await a.append([ev.runFinished("r", 6, "failed", { error: "x" })]);
      await b.append([ev.runStarted("r", 7)]);
      assert.equal((await a.getRun("r"))?.status, "running");
      assert.ok((await a.claimRun("r")).heldBy, "now the other's");
    },
  );

  owners(
    "closing a store ends its leases: its runs read as interrupted and the other may take them",
    async (a, b) => {
      await b.append([ev.runStarted("r", 0), ev.created("r", "a", 1)]);
      assert.ok((await b.claimRun("s")).lease);
      assert.equal((await a.getRun("r"))?.status, "running");
      await b.close();
      assert.equal((await a.getRun("r"))?.status, "interrupted");
      assert.equal(await a.runOwner("s"), undefined);
      assert.deepEqual(
        (await a.listRuns({ status: "interrupted" })).map((r) => r.runId),
        ["r"],
      );
      assert.ok((await a.claimRun("r")).lease);
      assert.ok((await a.claimRun("s")).lease);
      await a.append([ev.runStarted("r", 2), ev.started("r", "a", 2)]);
      assert.deepEqual((await a.events("r")).map((e) => e.seq), [1, 2, 3, 4]);
    },
  );

  test(
    "updatedAt moves when the run changes, and at least once a second while events arrive",
    async (store, clock) => {
      const t0 = clock.ms;
      const updated = async () => (await store.getRun("r"))!.updatedAt;
      await newRun(store, "r", 0);
      assert.equal(await updated(), new Date(t0).toISOString());
      clock.ms += 10;
      await store.append([ev.created("r", "a", 1)]);
      assert.equal(await updated(), new Date(t0).toISOString(), "not on every append");
      clock.ms += 1000;
      await store.append([ev.started("r", "a", 2)]);
      assert.equal(await updated(), new Date(t0 + 1010).toISOString(), "a heartbeat");
      clock.ms += 10;
      await store.append([ev.runFinished("r", 3, "succeeded", { result: 1 })]);
      assert.equal(await updated(), new Date(t0 + 1020).toISOString(), "the run finished");
      clock.ms += 10;
      await store.append([ev.log("r", "a", 4, "late")]);
      assert.equal(await updated(), new Date(t0 + 1030).toISOString(), "an event after the end");
      clock.ms += 10;
      await store.reopenRun("r");
      assert.equal(await updated(), new Date(t0 + 1040).toISOString(), "reopened");
      clock.ms += 10;
      await store.requestCancel("r");
      assert.equal(await updated(), new Date(t0 + 1050).toISOString(), "cancel requested");
      clock.ms += 10;
      await store.append([ev.created("r", "b", 5)]);
      assert.equal(await updated(), new Date(t0 + 1050).toISOString(), "within the heartbeat");
      await store.append([ev.runStarted("new", 0)]);
      assert.equal((await store.getRun("new"))!.updatedAt, new Date(t0 + 1060).toISOString());
    },
  );
}

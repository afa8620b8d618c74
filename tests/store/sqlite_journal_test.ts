import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ROWS_LAG, TASKS_LAG } from "../../src/store/_sqlite_journal.ts";
import { BLOCK_TASKS } from "../../src/store/_task_blocks.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { migrate, MIGRATIONS } from "../../src/store/sqlite_migrations.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import type { AppendEvent, Store } from "../../src/store/store.ts";
import { started, taskEvents, withDir } from "./_events.ts";

// The SQLite store's journal rows and task blocks (`_sqlite_journal.ts`): every path that
// brings the task rows up to date, or reads them past it, must give what the memory store
// (which updates its rows with every event) gives.

/** What a store holds of a run, with the run id and update time left out: to compare stores. */
async function contents(store: Store, runId: string) {
  const run = await store.getRun(runId);
  // The owner is a lease of the store object that reads: it differs between stores.
  const { updatedAt: _, owner: _o, ...rest } = run ?? { updatedAt: "" };
  return {
    run: { ...rest, runId: "*" },
    tasks: (await store.getTasks(runId)).map((t) => ({ ...t, runId: "*" })),
    events: (await store.events(runId)).map(({ seq, event }) => ({
      seq,
      event: { ...event, runId: "*" },
    })),
  };
}

/** A run of `n` tasks in batches of `per`: created, started, succeeded, with a log line. */
function manyTasks(runId: string, n: number, per: number, from = 0): AppendEvent[][] {
  const batches: AppendEvent[][] = [];
  for (let i = from; i < from + n; i += per) {
    const batch: AppendEvent[] = [];
    for (let j = i; j < Math.min(from + n, i + per); j++) batch.push(...taskEvents(runId, j));
    batches.push(batch);
  }
  return batches;
}

Deno.test("a second store on the file reads a running run's tasks from the journal, and both agree as they append", async () => {
  await withDir(async (dir) => {
    const a = await SqliteStore.open(dir);
    const b = await SqliteStore.open(dir);
    const memory = new MemoryStore();
    const both = async (store: SqliteStore, batch: AppendEvent[]) => {
      await store.append(batch);
      await memory.append(batch);
    };
    try {
      await both(a, [started("r")]);
      for (const batch of manyTasks("r", 30, 7)) await both(a, batch);
      assert.deepEqual(await contents(b, "r"), await contents(memory, "r"));
      for (const batch of manyTasks("r", 10, 3, 30)) await both(b, batch);
      await both(a, taskEvents("r", 40));
      for (const store of [a, b]) {
        assert.deepEqual(await contents(store, "r"), await contents(memory, "r"));
      }
      await both(a, [{
        type: "run.finished",
        runId: "r",
        time: Date.UTC(2026, 0, 2),
        flow: "f",
        status: "succeeded",
        result: 41,
      }]);
      for (const store of [a, b]) {
        assert.deepEqual(await contents(store, "r"), await contents(memory, "r"));
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test(`a running run's task rows are written once ${TASKS_LAG} events have gathered`, async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { durability: "normal" });
    const memory = new MemoryStore();
    try {
      await store.append([started("r")]);
      await memory.append([started("r")]);
      const n = Math.ceil(TASKS_LAG / 3) + 5000;
      for (const batch of manyTasks("r", n, 5000)) {
        await store.append(batch);
        await memory.append(batch);
      }
      const db = new DatabaseSync(`${dir}/state.db`);
      try {
        const row = db.prepare("SELECT tasks_seq FROM runs WHERE run_id = 'r'").get() as {
          tasks_seq: number;
        };
        assert.ok(row.tasks_seq > 0 && row.tasks_seq < 1 + 3 * n, `tasks_seq ${row.tasks_seq}`);
      } finally {
        db.close();
      }
      assert.deepEqual(await store.getTasks("r"), await memory.getTasks("r"));
    } finally {
      await store.close();
    }
  });
});

Deno.test(`a run that finishes with ${ROWS_LAG} journal rows or more has its task rows written; a shorter one reads its journal`, async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { durability: "normal" });
    const memory = new MemoryStore();
    const db = new DatabaseSync(`${dir}/state.db`);
    const blocks = (runId: string) =>
      (db.prepare("SELECT count(*) AS n FROM task_blocks WHERE run_id = ?").get(runId) as {
        n: number;
      }).n;
    const finished = (runId: string): AppendEvent => ({
      type: "run.finished",
      runId,
      time: Date.UTC(2026, 0, 2),
      flow: "f",
      status: "succeeded",
    });
    try {
      // "long": one row per task, as a chain journals; "short": a few rows of many tasks.
      for (const [runId, per] of [["long", 1], ["short", 500]] as const) {
        for (const s of [store, memory]) {
          await s.append([started(runId)]);
          for (const batch of manyTasks(runId, ROWS_LAG, per)) await s.append(batch);
        }
        assert.equal(blocks(runId), 0, `${runId}: nothing but the journal while running`);
        for (const s of [store, memory]) await s.append([finished(runId)]);
        assert.deepEqual(await contents(store, runId), await contents(memory, runId));
      }
      assert.ok(blocks("long") > 0, "the long run's rows were written when it finished");
      assert.equal(blocks("short"), 0, "the short run is read from its journal");
      // A second connection that did not see the long run start counts its rows.
      await store.close();
      const other = await SqliteStore.open(dir, { durability: "normal" });
      try {
        for (const s of [other, memory]) {
          await s.append([started("late")]);
          for (const batch of manyTasks("late", ROWS_LAG, 1)) await s.append(batch);
        }
        await other.close();
        const again = await SqliteStore.open(dir, { durability: "normal" });
        try {
          for (const s of [again, memory]) await s.append([finished("late")]);
          assert.ok(blocks("late") > 0, "counted from the database by a new connection");
          assert.deepEqual(await contents(again, "late"), await contents(memory, "late"));
        } finally {
          await again.close();
        }
      } finally {
        await other.close();
      }
    } finally {
      db.close();
      await store.close();
    }
  });
});

Deno.test("tasks in many blocks: a run reopened elsewhere resets some, runs them again, and reads as the memory store", async () => {
  await withDir(async (dir) => {
    const memory = new MemoryStore();
    const n = 2 * BLOCK_TASKS + 100;
    const finished = (t: number): AppendEvent => ({
      type: "run.finished",
      runId: "r",
      time: Date.UTC(2026, 0, 3) + t,
      flow: "f",
      status: "failed",
      error: "x",
      result: null,
    });
    const first = await SqliteStore.open(dir);
    for (const batch of [[started("r")], ...manyTasks("r", n, 700), [finished(0)]]) {
      await first.append(batch);
      await memory.append(batch);
    }
    await first.close();
    const again = await SqliteStore.open(dir);
    try {
      const reset = ["t0", `t${BLOCK_TASKS + 5}`, `t${n - 1}`, "ghost"];
      for (const store of [again, memory]) {
        assert.equal(await store.reopenRun("r", { resetTasks: reset }), true);
      }
      assert.deepEqual(await contents(again, "r"), await contents(memory, "r"));
      const rerun = [
        started("r"),
        ...reset.slice(0, 3).flatMap((id) => {
          const i = Number(id.slice(1));
          return taskEvents("r", i).map((e) => ({ ...e, time: e.time + 1000 }));
        }),
        ...taskEvents("r", n),
        finished(1),
      ];
      for (const e of rerun) {
        await again.append([e]);
        await memory.append([e]);
        if (e.type === "task.started") {
          assert.deepEqual(await contents(again, "r"), await contents(memory, "r"));
        }
      }
      assert.deepEqual(await contents(again, "r"), await contents(memory, "r"));
    } finally {
      await again.close();
    }
  });
});

/**
 * Checks a database just migrated: the current schema version, every run reading as in
 * `memory`, and its run "going" (of `manyTasks`, 12 tasks so far) taking more events.
 */
async function checkMigrated(store: SqliteStore, runs: string[], memory: MemoryStore) {
  assert.equal(store.pragmas().userVersion, MIGRATIONS.length);
  // Nobody runs "going" any more: it reads as interrupted until someone claims it.
  assert.equal((await store.getRun("going"))?.status, "interrupted");
  assert.ok((await store.claimRun("going")).lease);
  for (const runId of runs) {
    assert.deepEqual(await contents(store, runId), await contents(memory, runId), runId);
  }
  const more = [...manyTasks("going", 3, 3, 12)[0], {
    type: "run.finished",
    runId: "going",
    time: Date.UTC(2026, 0, 2),
    flow: "f",
    status: "succeeded",
    result: 15,
  } as AppendEvent];
  await store.append(more);
  await memory.append(more);
  assert.deepEqual(await contents(store, "going"), await contents(memory, "going"));
}

Deno.test("a version 1 database migrates forward: its runs, tasks and events read the same and its runs go on", async () => {
  await withDir(async (dir) => {
    const memory = new MemoryStore();
    const runs = ["done", "going"];
    for (const runId of runs) {
      await memory.append([started(runId)]);
      for (const batch of manyTasks(runId, 12, 5)) await memory.append(batch);
      await memory.append([{
        type: "task.log",
        runId,
        time: Date.UTC(2026, 0, 1),
        taskId: "t1",
        name: "t",
        level: "info",
        message: "hi",
      }]);
    }
    await memory.append([{
      type: "run.finished",
      runId: "done",
      time: Date.UTC(2026, 0, 2),
      flow: "f",
      status: "succeeded",
      result: { ok: true },
    }]);
    // The rows version 1 wrote: every task row up to date, events with their data as JSON.
    const db = new DatabaseSync(`${dir}/state.db`);
    try {
      migrate(db, "state.db", MIGRATIONS.slice(0, 1));
      for (const runId of runs) {
        const r = (await memory.getRun(runId))!;
        db.prepare(
          `INSERT INTO runs (run_id, flow, status, params, started_at, finished_at, result,
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          runId,
          r.flow,
          r.status,
          JSON.stringify(r.params),
          r.startedAt,
          r.finishedAt ?? null,
          r.result === undefined ? null : JSON.stringify(r.result),
          r.updatedAt,
        );
        for (const t of await memory.getTasks(runId)) {
          db.prepare(
            `INSERT INTO tasks (run_id, task_id, seq, name, kind, needs, grp, status, attempts,
               started_at, finished_at, result, error, reason, cache_key, items)
             VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)`,
          ).run(
            runId,
            t.taskId,
            t.seq,
            t.name,
            t.kind,
            JSON.stringify(t.needs),
            t.status,
            t.attempts,
            t.startedAt ?? null,
            t.finishedAt ?? null,
            t.result === undefined ? null : JSON.stringify(t.result),
          );
        }
        for (const { seq, event } of await memory.events(runId)) {
          const { runId: _, type, time, ...rest } = event as unknown as Record<string, unknown>;
          const { taskId, ...data } = rest;
          db.prepare(
            "INSERT INTO events (run_id, seq, type, task_id, time, data) VALUES (?, ?, ?, ?, ?, ?)",
          ).run(
            runId,
            seq,
            type as string,
            (taskId as string) ?? null,
            time as number,
            JSON.stringify(data),
          );
        }
      }
    } finally {
      db.close();
    }
    const store = await SqliteStore.open(dir);
    try {
      await checkMigrated(store, runs, memory);
    } finally {
      await store.close();
    }
  });
});

Deno.test("a version 2 database migrates forward: its journal rows and task blocks (format 1) read the same and its runs go on", async () => {
  await withDir(async (dir) => {
    const memory = new MemoryStore();
    const runs = ["done", "going"];
    for (const runId of runs) {
      await memory.append([started(runId)]);
      for (const batch of manyTasks(runId, 12, 5)) await memory.append(batch);
    }
    await memory.append([{
      type: "run.finished",
      runId: "done",
      time: Date.UTC(2026, 0, 2),
      flow: "f",
      status: "succeeded",
      result: { ok: true },
    }]);
    // The rows version 2 wrote: events as objects without runId, one journal row per event
    // here; "done" has its tasks in a block of row objects, "going" none yet.
    const db = new DatabaseSync(`${dir}/state.db`);
    try {
      migrate(db, "state.db", MIGRATIONS.slice(0, 2));
      for (const runId of runs) {
        const r = (await memory.getRun(runId))!;
        const events = await memory.events(runId);
        const done = runId === "done";
        db.prepare(
          `INSERT INTO runs (run_id, flow, status, params, started_at, finished_at, result,
             updated_at, tasks_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          runId,
          r.flow,
          r.status,
          JSON.stringify(r.params),
          r.startedAt,
          r.finishedAt ?? null,
          r.result === undefined ? null : JSON.stringify(r.result),
          r.updatedAt,
          done ? events.length : 0,
        );
        // The memory store drops results from events(); the journal held them.
        const tasks = await memory.getTasks(runId);
        const results = new Map(tasks.map((t) => [t.taskId, t.result]));
        for (const { seq, event } of events) {
          const { runId: _, ...rest } = event as unknown as Record<string, unknown>;
          if (rest.type === "task.succeeded") rest.result = results.get(rest.taskId as string);
          if (rest.type === "run.finished") rest.result = r.result;
          db.prepare("INSERT INTO journal (run_id, seq, last, events) VALUES (?, ?, ?, ?)")
            .run(runId, seq, seq, JSON.stringify([rest]));
        }
        if (done) {
          db.prepare("INSERT INTO task_blocks (run_id, seq, tasks) VALUES (?, ?, ?)").run(
            runId,
            tasks[0].seq,
            JSON.stringify(tasks.map(({ runId: _, ...t }) => t)),
          );
        }
      }
    } finally {
      db.close();
    }
    const store = await SqliteStore.open(dir);
    try {
      await checkMigrated(store, runs, memory);
      // A reopened run with a reset task: its format 1 block is rewritten in format 2.
      for (const s of [store, memory]) await s.reopenRun("done", { resetTasks: ["t3"] });
      assert.deepEqual(await contents(store, "done"), await contents(memory, "done"));
    } finally {
      await store.close();
    }
  });
});

Deno.test("events of any shape survive the compact journal: unknown types, other fields, odd names and times", async () => {
  await withDir(async (dir) => {
    const sqlite = await SqliteStore.open(dir);
    const memory = new MemoryStore();
    const t = Date.UTC(2026, 0, 1);
    const base = { runId: "r", time: t };
    const events = [
      { ...base, type: "run.started", flow: "f", params: { a: [1, null] } },
      { ...base, type: "task.created", taskId: "load[2]", name: "load", needs: [], kind: "task" },
      { ...base, type: "task.created", taskId: "x#2", name: "y", needs: ["load[2]"], kind: "map" },
      { ...base, type: "task.created", taskId: "g#3", name: "g#3", needs: [], kind: "task" },
      {
        ...base,
        type: "task.created",
        taskId: "m[0]",
        name: "m",
        needs: [],
        kind: "task",
        group: "m",
      },
      { ...base, time: t + 0.5, type: "task.started", taskId: "x#2", name: "y", attempt: 1 },
      {
        ...base,
        time: t - 7,
        type: "task.started",
        taskId: "g#3",
        name: "g#3",
        attempt: 1,
        extra: 1,
      },
      {
        ...base,
        type: "task.retrying",
        taskId: "g#3",
        name: "g#3",
        attempt: 1,
        delayMs: 5,
        error: "e",
      },
      { ...base, type: "task.log", taskId: "g#3", name: "g#3", level: "info", message: "m" },
      {
        ...base,
        type: "task.log",
        taskId: "g#3",
        name: "g#3",
        level: "info",
        message: "m",
        props: { p: 1 },
      },
      { ...base, type: "map.expanded", taskId: "x#2", name: "y", items: 0 },
      { ...base, type: "task.cached", taskId: "load[2]", name: "load", key: "k", result: null },
      {
        ...base,
        type: "task.succeeded",
        taskId: "x#2",
        name: "y",
        attempt: 1,
        durationMs: 0,
        result: [],
      },
      {
        ...base,
        type: "task.failed",
        taskId: "g#3",
        name: "g#3",
        attempts: 2,
        error: "no",
        durationMs: 3,
      },
      { ...base, type: "task.skipped", taskId: "m[0]", name: "m", reason: "r" },
      { ...base, type: "custom.thing", taskId: "m[0]", name: "m", what: { deep: true } },
      { ...base, type: "task.cancelled", taskId: "m[0]", name: "m" },
      { ...base, type: "run.finished", flow: "f", status: "failed", error: "bad" },
    ] as unknown as AppendEvent[];
    try {
      for (const s of [sqlite, memory]) {
        await s.append(events.slice(0, 9));
        await s.append(events.slice(9));
      }
      assert.deepEqual(await contents(sqlite, "r"), await contents(memory, "r"));
    } finally {
      await sqlite.close();
    }
  });
});

Deno.test("large results are split across journal rows and task blocks, and read back whole", async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { durability: "normal" });
    const memory = new MemoryStore();
    const both = async (batch: AppendEvent[]) => {
      await store.append(batch);
      await memory.append(batch);
    };
    try {
      const big = (i: number) => ({ i, text: `${i}`.padEnd(300_000, "x") });
      const time = Date.UTC(2026, 0, 1);
      const ids = Array.from({ length: 40 }, (_, i) => `t${i}`);
      await both([
        started("r"),
        ...ids.flatMap((taskId) =>
          [
            { type: "task.created", runId: "r", time, taskId, name: "t", needs: [], kind: "task" },
            { type: "task.failed", runId: "r", time, taskId, name: "t", attempts: 1, error: "no" },
          ] as AppendEvent[]
        ),
      ]);
      await both([{ type: "run.finished", runId: "r", time, flow: "f", status: "failed" }]);
      assert.equal(await store.reopenRun("r", { resetTasks: ids }), true);
      assert.equal(await memory.reopenRun("r", { resetTasks: ids }), true);
      // One batch of 40 × 300 kB: more than one journal row, and the blocks grow past the limit.
      await both([
        started("r"),
        ...ids.map((taskId, i) => ({
          type: "task.succeeded",
          runId: "r",
          time,
          taskId,
          name: "t",
          attempt: 1,
          durationMs: 1,
          result: big(i),
        } as AppendEvent)),
      ]);
      assert.deepEqual(await contents(store, "r"), await contents(memory, "r"));
      await both([{ type: "run.finished", runId: "r", time, flow: "f", status: "succeeded" }]);
      assert.deepEqual(await contents(store, "r"), await contents(memory, "r"));
      // A reopen that resets a task writes the blocks: the results make them grow past the limit.
      const reopen = async (runId: string) => {
        for (const s of [store, memory]) {
          assert.equal(await s.reopenRun(runId, { resetTasks: ["t0"] }), true);
        }
        assert.deepEqual(await contents(store, runId), await contents(memory, runId));
      };
      await reopen("r");
      // New tasks with large results, written at once: several blocks.
      await both([
        started("s"),
        ...ids.flatMap((taskId, i) =>
          [
            { type: "task.created", runId: "s", time, taskId, name: "t", needs: [], kind: "task" },
            { type: "task.cached", runId: "s", time, taskId, name: "t", key: "k", result: big(i) },
          ] as AppendEvent[]
        ),
        { type: "run.finished", runId: "s", time, flow: "f", status: "failed" },
      ]);
      assert.deepEqual(await contents(store, "s"), await contents(memory, "s"));
      await reopen("s");
      const db = new DatabaseSync(`${dir}/state.db`);
      try {
        const count = (table: string, runId: string) =>
          (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId) as {
            n: number;
          }).n;
        assert.ok(count("journal", "r") > 4, "the big batch took several rows");
        assert.ok(count("task_blocks", "r") > 1, "the grown block was split");
        assert.ok(count("task_blocks", "s") > 1, "the new tasks took several blocks");
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });
});

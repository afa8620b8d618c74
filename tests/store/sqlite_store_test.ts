import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { OrchestraError } from "../../src/core/errors.ts";
import { storeCases } from "../../src/store/conformance.ts";
import { migrate, MIGRATIONS, schemaVersion } from "../../src/store/sqlite_migrations.ts";
import { SCHEMA_VERSION, SqliteStore } from "../../src/store/sqlite_store.ts";
import { StoreVersionError } from "../../src/store/store.ts";
import { started, taskEvents, withDir } from "./_events.ts";

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

async function removeStore(store: unknown): Promise<void> {
  await Deno.remove(dirOf((store as SqliteStore).path), { recursive: true });
}

storeCases(
  "SqliteStore",
  async (options) =>
    SqliteStore.open(await Deno.makeTempDir({ prefix: "orchestra-store-" }), options),
  {
    cleanup: removeStore,
    // Another process's store: the same state dir, its own lock files.
    peer: (store, options) => SqliteStore.open(dirOf((store as SqliteStore).path), options),
  },
);

storeCases(
  "SqliteStore (durability normal)",
  async (options) =>
    SqliteStore.open(await Deno.makeTempDir({ prefix: "orchestra-store-" }), {
      ...options,
      durability: "normal",
    }),
  { cleanup: removeStore },
);

Deno.test("SqliteStore.open() creates the state dir and state.db, in WAL, at the latest schema", async () => {
  await withDir(async (root) => {
    const dir = `${root}/nested/.orchestra`;
    const store = await SqliteStore.open(dir);
    try {
      assert.equal(store.path, `${dir}/state.db`);
      assert.ok((await Deno.stat(store.path)).isFile);
      assert.ok((await Deno.stat(`${store.path}-lock`)).isFile, "the writer lock file");
      const p = store.pragmas();
      assert.equal(p.journalMode, "wal");
      assert.equal(p.foreignKeys, true);
      assert.equal(p.busyTimeoutMs, 5000);
      assert.equal(p.userVersion, MIGRATIONS.length);
      assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore applies the durability setting (read back from SQLite)", async () => {
  await withDir(async (dir) => {
    const full = await SqliteStore.open(dir);
    assert.equal(full.durability, "full");
    assert.equal(full.pragmas().synchronous, "full");
    const normal = await SqliteStore.open(dir, { durability: "normal", busyTimeoutMs: 1234 });
    assert.equal(normal.pragmas().synchronous, "normal");
    assert.equal(normal.pragmas().busyTimeoutMs, 1234);
    // The setting is per connection: the first one keeps its own.
    assert.equal(full.pragmas().synchronous, "full");
    await full.close();
    await normal.close();
    await assert.rejects(
      () => SqliteStore.open(dir, { durability: "off" as "full" }),
      TypeError,
    );
  });
});

Deno.test("SqliteStore keeps runs, tasks, events and cache across close and reopen", async () => {
  await withDir(async (dir) => {
    const a = await SqliteStore.open(dir);
    await a.append([started("r"), ...taskEvents("r", 0)]);
    await a.cacheSet("k", [1], Date.UTC(2100, 0, 1));
    await a.close();
    await a.close(); // closing twice is harmless
    await assert.rejects(() => a.getRun("r"), /closed/);
    const b = await SqliteStore.open(dir);
    try {
      assert.equal(b.pragmas().userVersion, MIGRATIONS.length);
      assert.equal((await b.getTasks("r"))[0].status, "succeeded");
      assert.deepEqual((await b.getTasks("r"))[0].result, { i: 0 });
      assert.equal((await b.events("r")).length, 4);
      assert.deepEqual(await b.cacheGet("k", 0), { value: [1] });
    } finally {
      await b.close();
    }
  });
});

Deno.test("SqliteStore refuses a database written by a newer Orchestra", async () => {
  await withDir(async (dir) => {
    (await SqliteStore.open(dir)).close();
    const db = new DatabaseSync(`${dir}/state.db`);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    await assert.rejects(
      () => SqliteStore.open(dir),
      (e) =>
        e instanceof StoreVersionError && e.found === MIGRATIONS.length + 1 &&
        e.supported === MIGRATIONS.length && /upgrade Orchestra/.test(e.message),
    );
  });
});

Deno.test("migrate() applies only the missing migrations, in order, and keeps the data", async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir);
    await store.append([started("r")]);
    await store.close();
    const db = new DatabaseSync(`${dir}/state.db`);
    try {
      const next = [
        ...MIGRATIONS,
        { description: "add a note", sql: "ALTER TABLE runs ADD COLUMN note TEXT" },
        {
          description: "fill it",
          sql: "UPDATE runs SET note = 'v' || (SELECT count(*) FROM runs)",
        },
      ];
      migrate(db, "state.db", next);
      assert.equal(schemaVersion(db), MIGRATIONS.length + 2);
      assert.deepEqual({ ...db.prepare("SELECT run_id, note FROM runs").get() }, {
        run_id: "r",
        note: "v1",
      });
      migrate(db, "state.db", next); // nothing left to do: not applied twice
      assert.equal(schemaVersion(db), MIGRATIONS.length + 2);
      assert.throws(() => migrate(db, "state.db", MIGRATIONS), StoreVersionError);
      // A failing migration leaves the version and the data as they were.
      assert.throws(() =>
        migrate(db, "state.db", [...next, { description: "bad", sql: "ALTER TABLE nope ADD x" }])
      );
      assert.equal(schemaVersion(db), MIGRATIONS.length + 2);
    } finally {
      db.close();
    }
  });
});

Deno.test("two SqliteStores on one file append concurrently to one run without losing events", async () => {
  await withDir(async (dir) => {
    const a = await SqliteStore.open(dir);
    const b = await SqliteStore.open(dir);
    try {
      await a.append([started("shared")]);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        writes.push(a.append(taskEvents("shared", 2 * i)));
        writes.push(b.append(taskEvents("shared", 2 * i + 1)));
      }
      await Promise.all(writes);
      const events = await b.events("shared");
      assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
      assert.equal(events.length, 1 + 200 * 3);
      const tasks = await a.getTasks("shared");
      assert.equal(tasks.length, 200);
      assert.ok(tasks.every((t) => t.status === "succeeded"));
      assert.ok(tasks.every((t, i) => i === 0 || t.seq > tasks[i - 1].seq));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("a write waits out another connection's lock instead of failing", async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { busyTimeoutMs: 10 });
    const other = new DatabaseSync(`${dir}/state.db`);
    try {
      other.exec("BEGIN IMMEDIATE");
      let done = false;
      const write = store.append([started("r")]).then(() => (done = true));
      const read = await store.getRun("r"); // readers are not blocked by a writer in WAL
      assert.equal(read, undefined);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(done, false, "the append waits while the lock is held");
      other.exec("COMMIT");
      await write;
      assert.equal((await store.getRun("r"))?.status, "running");
    } finally {
      other.close();
      await store.close();
    }
  });
});

Deno.test("writes that wait for a lock keep their order", async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { busyTimeoutMs: 5 });
    const other = new DatabaseSync(`${dir}/state.db`);
    try {
      await store.append([started("r")]);
      other.exec("BEGIN IMMEDIATE");
      const writes = [0, 1, 2, 3].map((i) => store.append(taskEvents("r", i)));
      setTimeout(() => other.exec("COMMIT"), 60);
      await Promise.all(writes);
      const created = await store.events("r", { types: ["task.created"] });
      assert.deepEqual(created.map((e) => "taskId" in e.event && e.event.taskId), [
        "t0",
        "t1",
        "t2",
        "t3",
      ]);
    } finally {
      other.close();
      await store.close();
    }
  });
});

Deno.test("a write locked out for longer than lockWaitMs fails with a clear error", async () => {
  await withDir(async (dir) => {
    const store = await SqliteStore.open(dir, { busyTimeoutMs: 5, lockWaitMs: 80 });
    const other = new DatabaseSync(`${dir}/state.db`);
    try {
      other.exec("BEGIN IMMEDIATE");
      await assert.rejects(
        () => store.append([started("r")]),
        (e) => e instanceof OrchestraError && /stayed locked for \d+ ms/.test(e.message),
      );
      other.exec("ROLLBACK");
      await store.append([started("r")]);
      assert.equal((await store.events("r")).length, 1);
    } finally {
      other.close();
      await store.close();
    }
  });
});

Deno.test("two processes append 200 batches each to one database: no lock errors, every row present", async () => {
  await withDir(async (dir) => {
    const setup = await SqliteStore.open(dir);
    await setup.append([started("shared")]);
    await setup.close();
    const worker = new URL("./_append_worker.ts", import.meta.url).pathname;
    const BATCHES = 200;
    const children = ["p1", "p2"].map((name) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", worker, dir, name, String(BATCHES), "2"],
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    const outputs = await Promise.all(children);
    for (const out of outputs) {
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.doesNotMatch(stderr, /locked/);
    }
    const store = await SqliteStore.open(dir);
    try {
      for (const name of ["p1", "p2"]) {
        const run = await store.getRun(`run-${name}`);
        assert.equal(run?.status, "succeeded");
        assert.equal(run?.result, name);
        const tasks = await store.getTasks(`run-${name}`);
        assert.equal(tasks.length, BATCHES);
        tasks.forEach((t, i) => {
          assert.equal(t.taskId, `t${i}`);
          assert.equal(t.status, "succeeded");
          assert.deepEqual(t.result, { name, i });
        });
        const events = await store.events(`run-${name}`);
        assert.equal(events.length, 2 + 3 * BATCHES);
        assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
        for (let i = 0; i < BATCHES; i++) {
          assert.deepEqual(await store.cacheGet(`${name}:${i}`, Date.now()), { value: i });
        }
      }
      const shared = await store.events("shared");
      assert.equal(shared.length, 1 + 2 * BATCHES);
      assert.deepEqual(shared.map((e) => e.seq), shared.map((_, i) => i + 1));
      // Taking turns, not one process after the other (SQLite's busy handler alone lets a
      // process that writes continuously starve the other).
      const writers = shared.slice(1).map((e) => "taskId" in e.event && e.event.taskId);
      const turns = writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length;
      assert.ok(turns >= 10, `the processes took turns only ${turns} times`);
      for (const name of ["p1", "p2"]) {
        const mine = shared.filter((e) => "taskId" in e.event && e.event.taskId === name);
        assert.deepEqual(
          mine.map((e) => e.event.type === "task.log" && e.event.message),
          Array.from({ length: BATCHES }, (_, i) => `${name} ${i}`),
          "each process's events are in its own order",
        );
      }
    } finally {
      await store.close();
    }
  });
});

Deno.test("SqliteStore.getRun() of a run another process is finishing reads running or its end, never interrupted", async () => {
  await withDir(async (dir) => {
    // The owner commits a run's end and then lets go of its lease: a reader that read the row
    // before the commit and probed the lease after it must not call the run interrupted.
    const COUNT = 300;
    const reader = await SqliteStore.open(dir, { durability: "normal" });
    const worker = new URL("./_finish_worker.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", worker, dir, String(COUNT)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let exited = false;
    const output = child.output().then((o) => (exited = true, o));
    const seen = new Map<string, number>();
    try {
      let i = 0;
      while (!exited) {
        // The newest run the child made, and the one after it (not there yet, or just made).
        const rows = await Promise.all([reader.getRun(`r${i}`), reader.getRun(`r${i + 1}`)]);
        for (const r of rows) if (r) seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        if (rows[1]) i++;
        // Reads that find no running run do no I/O: let the child's exit be noticed.
        await new Promise((r) => setTimeout(r, 0));
      }
      const out = await output;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(seen.get("interrupted"), undefined, JSON.stringify([...seen]));
      assert.ok(seen.get("succeeded"));
    } finally {
      await reader.close();
    }
  });
});

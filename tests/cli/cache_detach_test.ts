// The persistent result cache, `cache clear`, the durability setting and `run --detach`.
import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { cli, withState } from "./_io.ts";

const runs = async (log: string) => (await Deno.readTextFile(log)).trim().split("\n").length;

Deno.test("a cached result survives the process: the second run is cached, clear runs it again", async () => {
  await withState(async (dir) => {
    const log = `${dir}/work.log`;
    const args = ["run", "tests/fixtures/cached_flow.ts", "-p", `log=${log}`, "--json"];
    const first = await cli([...args, "--state-dir", dir]);
    assert.equal(first.code, 0, first.err);
    const task1 = JSON.parse(first.out).tasks.find((t: { id: string }) => t.id === "work");
    assert.equal(task1.status, "succeeded");
    assert.deepEqual(task1.result, { rows: 3 });

    // A second invocation: a new store connection, so the hit comes from state.db.
    const second = await cli([...args, "--state-dir", dir]);
    assert.equal(second.code, 0, second.err);
    const doc = JSON.parse(second.out);
    const task2 = doc.tasks.find((t: { id: string }) => t.id === "work");
    assert.equal(task2.status, "cached");
    assert.match(task2.cacheKey, /^work:[0-9a-f]{32}$/, "the argument (a path) is hashed");
    assert.deepEqual(doc.result, { rows: 3 });
    assert.equal(await runs(log), 1, "the task ran once");

    const cleared = await cli(["cache", "clear", "--state-dir", dir]);
    assert.equal(cleared.code, 0, cleared.err);
    assert.equal(cleared.out, "Cleared 1 cache entry (task results and authorization decisions)\n");

    const third = await cli([...args, "--state-dir", dir]);
    assert.equal(third.code, 0, third.err);
    assert.equal(
      JSON.parse(third.out).tasks.find((t: { id: string }) => t.id === "work").status,
      "succeeded",
    );
    assert.equal(await runs(log), 2, "it ran again after the clear");

    const none = await cli(["cache", "clear", "--json", "--state-dir", dir]);
    assert.deepEqual(JSON.parse(none.out), { cleared: 1 });
    const empty = await cli(["cache", "clear", "--state-dir", dir]);
    assert.equal(empty.out, "Cleared 0 cache entries (task results and authorization decisions)\n");
  });
});

Deno.test("cache without clear, or with another word, is a usage error", async () => {
  const missing = await cli(["cache"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing subcommand: orchestra cache clear/);
  const other = await cli(["cache", "purge"]);
  assert.equal(other.code, 2);
  assert.match(other.err, /unknown subcommand "purge"/);
  const help = await cli(["cache", "--help"]);
  assert.match(help.out, /^Usage: orchestra cache clear/);
});

Deno.test("--durability normal is accepted; a bad value is exit 2", async () => {
  await withState(async (dir) => {
    const log = `${dir}/work.log`;
    const ok = await cli([
      "run",
      "tests/fixtures/cached_flow.ts",
      "-p",
      `log=${log}`,
      "-q",
      "--durability",
      "normal",
      "--state-dir",
      dir,
    ]);
    assert.equal(ok.code, 0, ok.err);
    const bad = await cli(["run", "tests/fixtures/cached_flow.ts", "--durability", "fast"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--durability must be one of full, normal, got "fast"/);
    const store = await SqliteStore.open(dir, { durability: "normal" });
    try {
      assert.equal(store.durability, "normal");
      assert.equal((await store.listRuns({})).length, 1);
    } finally {
      await store.close();
    }
  });
});

Deno.test({
  name: "run --detach returns at once with the run id while the run goes on in the background",
  // The background process outlives the command by design.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withState(async (dir) => {
      const invalid = await cli(["run", "tests/fixtures/invalid_flow.ts", "--detach"]);
      assert.equal(invalid.code, 2, "validated before detaching");

      const t0 = performance.now();
      const started = await cli([
        "run",
        "tests/fixtures/sleep_flow.ts",
        "--detach",
        "--json",
        "--state-dir",
        dir,
      ]);
      const took = performance.now() - t0;
      assert.equal(started.code, 0, started.err);
      // Validated first (the flow loads in its isolate), then at once: the run takes longer.
      assert.ok(took < 5_000, `returned after ${Math.round(took)} ms`);
      const { runId } = JSON.parse(started.out);
      assert.match(runId, /\S/);

      const seen: string[] = [];
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const s = await cli(["status", runId, "--json", "--state-dir", dir]);
        if (s.code === 0) {
          const status = JSON.parse(s.out).status as string;
          if (seen.at(-1) !== status) seen.push(status);
          if (status !== "running") break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen, ["running", "succeeded"]);
    });
  },
});

// The PostgreSQL store through the CLI: store migrate, run/runs/status/logs/cache with --store,
// resume of a killed run, store copy from a SQLite state dir, and the errors.
import assert from "node:assert/strict";
import { PG_SCHEMA_VERSION } from "../../src/store/postgres_migrations.ts";
import { PostgresStore } from "../../src/store/postgres_store.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { waitFor } from "../durability/_processes.ts";
import { orchestra, orchestraOutput } from "../durability/_spawn.ts";
import { pgTest, withClient, withFreshSchema } from "../_helpers/postgres.ts";
import { cli, withState } from "./_io.ts";

const lines = async (path: string) =>
  (await Deno.readTextFile(path).catch(() => "")).split("\n").filter((l) => l !== "");

function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

/** Asserts the output holds no password and no stack trace. */
function clean(url: string, ...texts: string[]) {
  for (const text of texts) {
    assert.equal(text.includes(passwordOf(url)), false, `a password in: ${text}`);
    assert.doesNotMatch(text, /^\s+at /m, "a stack trace");
  }
}

pgTest(
  "store migrate applies the schema to an empty database, then nothing; --json says so",
  async (url) => {
    await withFreshSchema(url, async (store, schema) => {
      const first = await cli(["store", "migrate", "--store", store]);
      assert.equal(first.code, 0, first.err);
      assert.match(first.out, /^PostgreSQL \d+\.\d+, database "orchestra" as "orchestra"/);
      assert.match(first.out, /postgres:\/\/orchestra:\*\*\*@127\.0\.0\.1:\d+\/orchestra\?schema=/);
      assert.match(first.out, /\nApplied migration 1: runs, journal, task snapshots, cache\n/);
      assert.match(
        first.out,
        new RegExp(`Schema "${schema}" is now at version ${PG_SCHEMA_VERSION} \\(was 0\\)\\.\n$`),
      );
      const again = await cli(["store", "migrate", "--store", store]);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /is up to date at version \d+; nothing to apply\.\n$/);
      const json = await cli(["store", "migrate", "--json", "--store", store]);
      const doc = JSON.parse(json.out);
      assert.deepEqual(
        { ...doc, store: undefined, server: undefined, tls: undefined },
        {
          store: undefined,
          server: undefined,
          tls: undefined,
          schema,
          from: PG_SCHEMA_VERSION,
          to: PG_SCHEMA_VERSION,
          applied: [],
        },
      );
      assert.equal(typeof doc.tls, "boolean");
      clean(url, first.out, first.err, again.out, json.out);
    });
  },
);

Deno.test("store migrate and store copy say what they need", async () => {
  const migrate = await cli(["store", "migrate"]);
  assert.equal(migrate.code, 2);
  assert.match(migrate.err, /^error: store migrate needs a PostgreSQL store: --store postgres:/);
  const copy = await cli(["store", "copy", "--to", "postgres://ada@db/app"]);
  assert.equal(copy.code, 2);
  assert.match(copy.err, /store copy needs --from DIR/);
  const to = await cli(["store", "copy", "--from", "x", "--to", "mysql://ada:s3cret@db/app"]);
  assert.match(to.err, /--to must be a PostgreSQL URL .*got "mysql:\/\/ada:\*\*\*@db\/app"/);
  const none = await cli(["store", "vacuum"]);
  assert.match(none.err, /unknown subcommand "vacuum"; the subcommands are migrate, copy/);
  await withState(async (dir) => {
    const empty = await cli(["store", "copy", "--from", dir, "--to", "postgres://ada@db/app"]);
    assert.equal(empty.code, 2);
    assert.match(empty.err, /^error: there is no state store in .* \(no state\.db\)/);
  });
});

pgTest(
  "run --store records a flow in PostgreSQL: runs, status, logs and cache clear read it there",
  async (url) => {
    await withFreshSchema(url, async (store) => {
      const run = await cli(["run", "examples/dynamic.ts", "--json", "-q", "--store", store]);
      assert.equal(run.code, 0, run.err);
      const record = JSON.parse(run.out);
      assert.equal(record.status, "succeeded");
      await withState(async (dir) => {
        // Nothing went to the state dir's SQLite file: the store is the only record.
        const sqlite = await cli(["runs", "--json", "--state-dir", dir]);
        assert.deepEqual(JSON.parse(sqlite.out).runs, []);
      });
      const runs = JSON.parse((await cli(["runs", "--json", "--store", store])).out).runs;
      assert.deepEqual(runs.map((r: { runId: string }) => r.runId), [record.runId]);
      const status = JSON.parse(
        (await cli(["status", record.runId.slice(0, 13), "--json", "--store", store])).out,
      );
      assert.equal(status.status, "succeeded");
      assert.deepEqual(
        status.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
        record.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
      );
      const logs = await cli(["logs", record.runId, "reorder#2", "--store", store]);
      assert.match(logs.out, /\[reorder#2\] Ordered 12 × gizmo/);
    });
    await withFreshSchema(url, async (store) => {
      const log = `${await Deno.makeTempDir()}/cached.log`;
      const args = ["run", "tests/fixtures/cached_flow.ts", "-p", `log=${log}`, "-q"];
      for (let i = 0; i < 2; i++) assert.equal((await cli([...args, "--store", store])).code, 0);
      assert.deepEqual(await lines(log), ["ran"], "the second run was a cache hit in PostgreSQL");
      const cleared = await cli(["cache", "clear", "--json", "--store", store]);
      assert.deepEqual(JSON.parse(cleared.out), { cleared: 1 });
      assert.equal((await cli([...args, "--store", store])).code, 0);
      assert.deepEqual(await lines(log), ["ran", "ran"]);
      await Deno.remove(log.slice(0, log.lastIndexOf("/")), { recursive: true });
    });
  },
);

pgTest(
  "resume on PostgreSQL continues a run whose process was killed once its lease lapsed, without redoing what succeeded",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      // A short lease, so the killed run reads as interrupted soon after its last heartbeat.
      const store = `${schemaUrl}&lease_timeout=1`;
      const dir = await Deno.makeTempDir();
      try {
        const flow = "tests/fixtures/crash_flow.ts";
        const reference = await orchestraOutput([
          "run",
          flow,
          "-p",
          `log=${dir}/reference.log`,
          "--json",
          "-q",
          "--store",
          store,
        ]);
        assert.equal(reference.code, 0, reference.err);
        const expected = JSON.parse(reference.out);

        const log = `${dir}/killed.log`;
        const child = orchestra(["run", flow, "-p", `log=${log}`, "-q", "--store", store], false);
        // Killed once a few tasks have run: the fan-out has started after "a".
        while ((await lines(log)).length < 3) await new Promise((r) => setTimeout(r, 5));
        child.kill("SIGKILL");
        await child.status;

        const runs = JSON.parse((await cli(["runs", "--json", "--store", store])).out).runs;
        const killed = runs.find((r: { runId: string }) => r.runId !== expected.runId);
        const status = async () =>
          JSON.parse((await cli(["status", killed.runId, "--json", "--store", store])).out);
        // Running until its lease lapses (nobody can tell a dead owner from a slow one sooner).
        await waitFor(
          "the killed run's lease to lapse",
          async () => (await status()).status === "interrupted",
        );
        const atKill = await status();
        assert.equal(atKill.owner, null);
        const succeeded = atKill.tasks.filter((t: { status: string }) => t.status === "succeeded")
          .map((t: { id: string }) => t.id);
        assert.ok(succeeded.includes("step"), `the first task succeeded before the kill`);
        const ranBefore = await lines(log);

        const resumed = await orchestraOutput([
          "resume",
          killed.runId,
          "--json",
          "-q",
          "--store",
          store,
        ]);
        assert.equal(resumed.code, 0, resumed.err);
        const doc = JSON.parse(resumed.out);
        assert.equal(doc.runId, killed.runId);
        assert.deepEqual(doc.result, expected.result);
        const again = (await lines(log)).slice(ranBefore.length);
        assert.deepEqual(again.filter((id) => succeeded.includes(id)), [], "nothing ran twice");
        const final = JSON.parse(
          (await cli(["status", killed.runId, "--json", "--store", store])).out,
        );
        assert.equal(final.status, "succeeded");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);

pgTest(
  "store copy moves a SQLite history to PostgreSQL; runs and status show the same; copying again is safe",
  async (url) => {
    await withFreshSchema(url, async (store) => {
      await withState(async (dir) => {
        const sqlite = ["--state-dir", dir];
        const pg = ["--store", store];
        const log = `${dir}/cached.log`;
        const listed = async (args: string[]) => (await cli(["runs", "--json", ...args])).out;
        assert.equal(
          (await cli(["run", "examples/params.ts", "-p", "region=eu", "-q", ...sqlite])).code,
          0,
        );
        assert.equal(
          (await cli(["run", "tests/fixtures/failing_flow.ts", "-q", ...sqlite])).code,
          1,
        );
        assert.equal(
          (await cli(["run", "tests/fixtures/cached_flow.ts", "-p", `log=${log}`, "-q", ...sqlite]))
            .code,
          0,
        );
        // A retry (a run linked to the one it retries) and a run whose process died.
        const [failedRun] = JSON.parse(await listed([...sqlite, "--status", "failed"])).runs;
        assert.equal((await cli(["retry", failedRun.runId, "-q", ...sqlite])).code, 1);
        const local = await SqliteStore.open(dir);
        await local.createRun({
          ...(await local.getRun(failedRun.runId))!,
          runId: "stale",
          status: "running",
          finishedAt: undefined,
          error: undefined,
        });
        await local.close();
        const copy = await cli(["store", "copy", "--from", dir, "--to", store]);
        assert.equal(copy.code, 0, copy.err);
        assert.match(
          copy.out,
          /^Copied 5 runs and 1 cached result from .* to postgres:\/\/orchestra:\*\*\*@127\.0\.0\.1:\d+\/orchestra\?schema=\w+\n$/,
        );
        clean(url, copy.out, copy.err);

        assert.equal(await listed(pg), await listed(sqlite));
        const copied = JSON.parse(await listed(pg)).runs;
        assert.ok(
          copied.some((r: { retryOf?: string }) => r.retryOf === failedRun.runId),
          "the retry is still linked to its original",
        );
        assert.equal(
          copied.find((r: { runId: string }) => r.runId === "stale").status,
          "interrupted",
        );
        const ids = JSON.parse(await listed(sqlite)).runs.map((r: { runId: string }) => r.runId);
        for (const id of ids) {
          const a = await cli(["status", id, "--json", ...sqlite]);
          const b = await cli(["status", id, "--json", ...pg]);
          assert.equal(b.out, a.out, `status of ${id}`);
          assert.equal(
            (await cli(["logs", id, ...pg])).out,
            (await cli(["logs", id, ...sqlite])).out,
            `logs of ${id}`,
          );
        }
        // The cached result came along: a run on PostgreSQL hits it.
        assert.equal(
          (await cli(["run", "tests/fixtures/cached_flow.ts", "-p", `log=${log}`, "-q", ...pg]))
            .code,
          0,
        );
        assert.deepEqual(await lines(log), ["ran"]);

        const again = await cli(["store", "copy", "--from", dir, "--json", ...pg]);
        assert.equal(again.code, 0, again.err);
        const doc = JSON.parse(again.out);
        assert.deepEqual(doc.runs, { copied: 0, updated: 0, unchanged: 5, conflicts: [] });
        assert.deepEqual(doc.cache, { copied: 0, unchanged: 1 });

        // A run that went on in the state dir is copied again; a new one is copied.
        const failed = failedRun.runId;
        assert.equal(
          (await cli(["run", "examples/params.ts", "-p", "region=us", "-q", ...sqlite])).code,
          0,
        );
        await withClient(url, (sql) =>
          sql.unsafe(
            `UPDATE "${new URL(store).searchParams.get("schema")}".runs SET status = 'running'
           WHERE run_id = $1`,
            [failed],
          ));
        const third = await cli(["store", "copy", "--from", dir, "--json", ...pg]);
        assert.equal(third.code, 0, third.err);
        assert.deepEqual(JSON.parse(third.out).runs, {
          copied: 1,
          updated: 1,
          unchanged: 4,
          conflicts: [],
        });
        assert.equal(
          (await cli(["status", failed, "--json", ...pg])).out,
          (await cli(["status", failed, "--json", ...sqlite])).out,
        );
      });
    });
  },
);

pgTest(
  "store copy leaves alone, and reports, a run that went on in PostgreSQL since it was copied",
  async (url) => {
    await withFreshSchema(url, async (store) => {
      await withState(async (dir) => {
        assert.equal(
          (await cli(["run", "examples/params.ts", "-p", "region=eu", "-q", "--state-dir", dir]))
            .code,
          0,
        );
        assert.equal((await cli(["store", "copy", "--from", dir, "--to", store])).code, 0);
        const [run] = JSON.parse((await cli(["runs", "--json", "--store", store])).out).runs;
        // Its journal in PostgreSQL grows past the SQLite one (as a resume there would).
        const pg = await PostgresStore.open(store);
        try {
          await pg.append([{
            type: "task.log",
            runId: run.runId,
            time: Date.now(),
            taskId: "format",
            name: "format",
            level: "info",
            message: "later, in PostgreSQL",
          }]);
        } finally {
          await pg.close();
        }
        const copy = await cli(["store", "copy", "--from", dir, "--to", store]);
        assert.equal(copy.code, 1);
        assert.match(
          copy.err,
          new RegExp(
            `^error: run ${run.runId} went on in postgres://orchestra:\\*\\*\\*@.* since it was copied; it was left as it is there`,
          ),
        );
        clean(url, copy.out, copy.err);
      });
    });
  },
);

pgTest(
  "a PostgreSQL store that cannot be used is one line and exit 2: password, database, newer schema",
  async (url) => {
    const wrong = new URL(url);
    wrong.password = "not-it";
    const missing = new URL(url);
    missing.pathname = "/no_such_db";
    for (
      const [args, pattern] of [
        [["runs", "--store", wrong.href], /password authentication failed for user "orchestra"/],
        [["status", "x", "--store", missing.href], /the database "no_such_db" does not exist/],
        [["run", "examples/params.ts", "-p", "region=eu", "--store", wrong.href], /password/],
      ] as const
    ) {
      const r = await cli([...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(
        r.err,
        /^error: Cannot use the PostgreSQL store "postgres:\/\/orchestra:\*\*\*@/,
      );
      assert.match(r.err, pattern);
      assert.equal(r.err.split("\n").length, 2, `one line: ${r.err}`);
      clean(url, r.out, r.err);
      assert.equal(r.err.includes("not-it"), false);
    }
    await withFreshSchema(url, async (store, schema) => {
      assert.equal((await cli(["store", "migrate", "--store", store])).code, 0);
      await withClient(
        url,
        (sql) =>
          sql.unsafe(
            `INSERT INTO "${schema}".schema_version (version, description) VALUES (99, 'x')`,
          ),
      );
      const r = await cli(["runs", "--store", store]);
      assert.equal(r.code, 2);
      assert.match(
        r.err,
        new RegExp(
          `^error: Cannot use the PostgreSQL store ".*": its schema "${schema}" is version 99, ` +
            `but this Orchestra supports up to version ${PG_SCHEMA_VERSION}; upgrade Orchestra`,
        ),
      );
      clean(url, r.err);
    });
  },
);

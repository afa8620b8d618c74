// Who owns a run: a lease the OS releases when its holder dies, never a PID probe. Real
// processes: `orchestra run` killed with SIGKILL, then two `orchestra resume`s at once.
import assert from "node:assert/strict";
import { PostgresStore } from "../../src/store/postgres_store.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { cli, withState } from "../cli/_io.ts";
import { pgTest, withFreshSchema } from "../_helpers/postgres.ts";
import { spawnOrchestra, text, waitFor } from "./_processes.ts";
import { listRuns } from "./_spawn.ts";

const GATED = "tests/fixtures/durability/gate_flow.ts";

/**
 * `orchestra run` of the gated flow, SIGKILLed once its task runs: an interrupted run (in the
 * state dir, or in the store of `where`: `["--store", url]`, once its lease lapsed).
 */
async function interruptedRun(dir: string, where = ["--state-dir", dir]): Promise<string> {
  const args = ["-p", `log=${dir}/log`, "-p", `gate=${dir}/gate`, ...where];
  const run = spawnOrchestra(["run", GATED, "-q", ...args]);
  await waitFor("the task to start", async () => (await text(`${dir}/log`)).includes("hold"));
  run.child.kill("SIGKILL");
  await run.done;
  const runs = async () => JSON.parse((await cli(["runs", "--json", ...where])).out).runs;
  await waitFor(
    "the run to read as interrupted",
    async () => (await runs())[0]?.status === "interrupted",
  );
  return (await runs())[0].runId;
}

Deno.test({
  name: "a SIGKILLed run is interrupted at once in runs, runs --status and status",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withState(async (dir) => {
      const runId = await interruptedRun(dir);
      // No waiting for the dead process to be reaped: its lease ended with it.
      const [listed] = await listRuns(dir);
      assert.equal(listed.status, "interrupted");
      const table = await cli(["runs", "--state-dir", dir]);
      assert.match(table.out, new RegExp(`${runId}\\s+gated\\s+interrupted`));
      assert.match(
        table.out,
        /interrupted: the process running it is gone; "orchestra resume RUN"/,
      );
      const only = async (status: string) =>
        JSON.parse((await cli(["runs", "--json", "--status", status, "--state-dir", dir])).out)
          .runs.map((r: { runId: string }) => r.runId);
      assert.deepEqual(await only("interrupted"), [runId]);
      assert.deepEqual(await only("running"), []);
      const status = await cli(["status", runId, "--state-dir", dir]);
      assert.match(status.out, /: interrupted, started/);
      assert.match(status.out, /Interrupted: the process running it is gone; "orchestra resume/);
      assert.doesNotMatch(status.out, /Running now/, "its task is not running any more");
      const json = JSON.parse((await cli(["status", runId, "--json", "--state-dir", dir])).out);
      assert.equal(json.status, "interrupted");
      assert.equal(json.owner, null);
    });
  },
});

/** Two `orchestra resume`s of an interrupted run at once, in the store of `where`. */
async function twoResumes(dir: string, where: string[]): Promise<void> {
  const runId = await interruptedRun(dir, where);
  const args = ["resume", runId, "--json", "-q", ...where];
  const a = spawnOrchestra(args);
  const b = spawnOrchestra(args);
  // The loser stops at once; the winner holds the task until the gate opens. (Bounded: if
  // both proceed, the gate opens after 20 s and the assertions below fail.)
  let bound: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    a.done.then(() => a),
    b.done.then(() => b),
    new Promise<undefined>((r) => {
      bound = setTimeout(async () => {
        await Deno.writeTextFile(`${dir}/gate`, "");
        r(undefined);
      }, 20_000);
    }),
  ]);
  clearTimeout(bound);
  if (first === undefined) {
    await Promise.all([a.done, b.done]);
    assert.fail("both resumes proceeded (neither exited while the task held)");
  }
  const winner = first === a ? b : a;
  const lost = await first.done;
  assert.equal(lost.code, 2, first.err());
  assert.match(
    first.err(),
    new RegExp(
      `error: run ${runId} is already being run by process ${winner.child.pid} on host ` +
        `"${Deno.hostname()}" since \\d{4}-\\d\\d-\\d\\dT`,
    ),
  );
  const running = JSON.parse((await cli(["status", runId, "--json", ...where])).out);
  assert.equal(running.status, "running");
  assert.equal(running.owner.pid, winner.child.pid);
  await Deno.writeTextFile(`${dir}/gate`, "");
  const won = await winner.done;
  assert.equal(won.code, 0, winner.err());
  assert.equal(JSON.parse(winner.out()).status, "succeeded");
  // The first run's attempt and the winner's: the loser ran nothing.
  assert.deepEqual((await text(`${dir}/log`)).trim().split("\n"), ["hold", "hold"]);
}

Deno.test({
  name: "two resumes started at once: exactly one proceeds, the other exits 2 naming the owner",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withState((dir) => twoResumes(dir, ["--state-dir", dir]));
  },
});

pgTest(
  "PostgreSQL: two resumes of a run whose killed owner's lease lapsed: exactly one proceeds, the other exits 2 naming the owner",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      // A short lease, so that the killed run reads as interrupted soon.
      await withState((dir) => twoResumes(dir, ["--store", `${schemaUrl}&lease_timeout=1`]));
    });
  },
);

Deno.test("a run recorded as running by a live PID (reused, or a zombie) is resumable when nobody holds it", async () => {
  await withState(async (dir) => {
    await Deno.writeTextFile(`${dir}/gate`, "");
    const first = await cli([
      "run",
      GATED,
      "-q",
      "-p",
      `log=${dir}/log`,
      "-p",
      `gate=${dir}/gate`,
      "--state-dir",
      dir,
    ]);
    assert.equal(first.code, 0, first.err);
    // The row as a killed run on this host leaves it, but with the pid of a live process
    // (PID 1 is always alive): what a reused PID or an unreaped zombie looks like.
    const store = await SqliteStore.open(dir);
    const [row] = await store.listRuns();
    await store.createRun({
      ...row,
      runId: "stale",
      status: "running",
      finishedAt: undefined,
      result: undefined,
      pid: 1,
      host: Deno.hostname(),
    });
    await store.close();
    const status = JSON.parse((await cli(["status", "stale", "--json", "--state-dir", dir])).out);
    assert.equal(status.status, "interrupted");
    const resumed = await cli(["resume", "stale", "--json", "-q", "--state-dir", dir]);
    assert.equal(resumed.code, 0, resumed.err);
    assert.equal(JSON.parse(resumed.out).status, "succeeded");
  });
});

Deno.test({
  name: "cancel of an interrupted run marks it (and its running task) cancelled, exit 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withState(async (dir) => {
      const runId = await interruptedRun(dir);
      const cancel = await cli(["cancel", runId, "--state-dir", dir]);
      assert.equal(cancel.code, 0, cancel.err);
      assert.match(
        cancel.out,
        new RegExp(
          `run ${runId} was interrupted \\(the process running it is gone\\); marked it cancelled`,
        ),
      );
      const status = JSON.parse((await cli(["status", runId, "--json", "--state-dir", dir])).out);
      assert.equal(status.status, "cancelled");
      assert.match(status.error, /cancelled with orchestra cancel after the process running it/);
      assert.deepEqual(status.tasks.map((t: { status: string }) => t.status), ["cancelled"]);
      const again = await cli(["cancel", runId, "--state-dir", dir]);
      assert.equal(again.code, 2);
      assert.match(again.err, /is not running \(it cancelled\)/);
      // A cancelled run can still be resumed.
      await Deno.writeTextFile(`${dir}/gate`, "");
      const resumed = await cli(["resume", runId, "-q", "--state-dir", dir]);
      assert.equal(resumed.code, 0, resumed.err);
    });
  },
});

pgTest(
  "PostgreSQL: a paused run whose lease lapsed and was taken over by a resume stops once continued: its task cancelled, exit 1 naming the new owner, nothing more written",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      await withState(async (dir) => {
        const store = `${schemaUrl}&lease_timeout=1`;
        const where = ["--store", store];
        const args = ["-p", `log=${dir}/log`, "-p", `gate=${dir}/gate`, "-q", ...where];
        const first = spawnOrchestra(["run", GATED, ...args]);
        const holds = async () => (await text(`${dir}/log`)).split("\n").length - 1;
        let opened: ReturnType<typeof setTimeout> | undefined;
        try {
          await waitFor("the task to start", async () => (await holds()) === 1);
          Deno.kill(first.child.pid, "SIGSTOP"); // paused past its lease: presumed dead
          const runs = async () => JSON.parse((await cli(["runs", "--json", ...where])).out).runs;
          await waitFor(
            "the paused run to read as interrupted",
            async () => (await runs())[0]?.status === "interrupted",
          );
          const runId = (await runs())[0].runId;
          const second = spawnOrchestra(["resume", runId, "--json", "-q", ...where]);
          await waitFor("the resumed task to start", async () => (await holds()) === 2);
          Deno.kill(first.child.pid, "SIGCONT");
          // Bounded: should the first run on, the gate opens after 20 s and this fails.
          opened = setTimeout(() => Deno.writeTextFile(`${dir}/gate`, ""), 20_000);
          const stopped = await first.done;
          assert.equal(await text(`${dir}/gate`), "", "it stopped before its task could end");
          assert.equal(stopped.code, 1, first.err());
          assert.match(
            first.err(),
            new RegExp(
              `this process lost the lease of run ${runId} to process ${second.child.pid} on ` +
                `host "${Deno.hostname()}"`,
            ),
          );
          await Deno.writeTextFile(`${dir}/gate`, "");
          const resumed = await second.done;
          assert.equal(resumed.code, 0, second.err());
          assert.equal(JSON.parse(second.out()).status, "succeeded");
          const status = JSON.parse((await cli(["status", runId, "--json", ...where])).out);
          assert.deepEqual(status.tasks.map((t: { status: string }) => t.status), ["succeeded"]);
          const pg = await PostgresStore.open(schemaUrl);
          try {
            const types = (await pg.events(runId)).map((e) => e.event.type);
            assert.equal(types.includes("task.cancelled"), false, `the first wrote on: ${types}`);
          } finally {
            await pg.close();
          }
        } finally {
          clearTimeout(opened);
          try {
            Deno.kill(first.child.pid, "SIGCONT");
          } catch {
            // ended
          }
          await Deno.writeTextFile(`${dir}/gate`, "");
          await first.done;
        }
      });
    });
  },
);

// Runs that never end: a run that fails before its first task is recorded as failed with its
// error; --detach checks what it can before it forks, and the detached process's own errors
// reach the run's log.
import assert from "node:assert/strict";
import { cli, withState } from "../cli/_io.ts";
import { waitFor } from "./_processes.ts";
import { listRuns } from "./_spawn.ts";

Deno.test("a FlowValidationError after the run was recorded: the run is recorded failed with it (exit 2)", async () => {
  await withState(async (dir) => {
    const r = await cli(["run", "tests/fixtures/late_invalid_flow.ts", "--state-dir", dir]);
    assert.equal(r.code, 2);
    assert.match(r.err, /found invalid at run time/);
    const [run] = await listRuns(dir);
    assert.equal(run.status, "failed", "not left running");
    const status = JSON.parse((await cli(["status", run.runId, "--json", "--state-dir", dir])).out);
    assert.match(
      status.error,
      /Flow "late_invalid" is invalid \(1 problem\):\n {2}- found invalid at run time/,
    );
  });
});

Deno.test("run --detach with an unreadable secrets file fails before it forks: exit 2, no run id", async () => {
  await withState(async (dir) => {
    const r = await cli([
      "run",
      "tests/fixtures/marker_flow.ts",
      "-p",
      `path=${dir}/marker`,
      "--detach",
      "--secrets-file",
      `${dir}/missing.env`,
      "--state-dir",
      dir,
    ]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "", "no run id printed");
    assert.match(r.err, /error: cannot read the secrets file: .*missing\.env/);
    assert.deepEqual(await listRuns(dir), []);
  });
});

Deno.test({
  name:
    "a detached run that fails to start is recorded failed, and logs RUN shows its process's error",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withState(async (dir) => {
      Deno.env.set("ORCHESTRA_TEST_LOADS", `${dir}/loads`);
      try {
        const r = await cli([
          "run",
          "tests/fixtures/second_load_flow.ts",
          // Its top-level code counts its loads in a file: only the host may run it.
          "--no-sandbox",
          "--detach",
          "--state-dir",
          dir,
        ]);
        assert.equal(r.code, 0, r.err);
        const runId = r.out.trim();
        await waitFor("the detached run to be recorded", async () => {
          const runs = await listRuns(dir);
          return runs.length === 1 && runs[0].status !== "running";
        });
        const [run] = await listRuns(dir);
        assert.equal(run.runId, runId);
        assert.equal(run.status, "failed");
        const logs = await cli(["logs", runId, "--state-dir", dir]);
        assert.equal(logs.code, 0, logs.err);
        assert.match(logs.out, /\[process\] error: .*this module refuses to load a second time/);
        assert.match(logs.out, /\[run\] run failed: the detached run could not start/);
      } finally {
        Deno.env.delete("ORCHESTRA_TEST_LOADS");
      }
    });
  },
});

// No process outlives its run. The step ignores SIGTERM (`trap '' TERM; sleep 1000`), so only
// the SIGKILL after the grace period stops it: under Ctrl-C, `orchestra cancel`, a timeout,
// the CLI's own SIGKILL (the supervisor), and SIGKILL of the CLI and its supervisor (resume
// stops the leftover group before the step runs again). Real processes, bounded waits.
import assert from "node:assert/strict";
import { cli, withState } from "../cli/_io.ts";
import {
  childrenWith,
  groupAlive,
  groupGone,
  spawnOrchestra,
  stepGroup,
  text,
  waitFor,
} from "./_processes.ts";
import { listRuns } from "./_spawn.ts";

const STUBBORN = "tests/fixtures/durability/stubborn.yaml";

function params(dir: string): string[] {
  return ["-p", `pidfile=${dir}/pid`, "-p", `gate=${dir}/gate`, "-p", `check=${dir}/check`];
}

/** Runs `fn` with a state dir, then makes sure no step group of the test is left behind. */
async function withStubborn(fn: (dir: string, groups: number[]) => Promise<void>): Promise<void> {
  const groups: number[] = [];
  try {
    await withState((dir) => fn(dir, groups));
  } finally {
    for (const g of groups) {
      try {
        Deno.kill(-g, "SIGKILL"); // a failed test must not leave its sleep behind
      } catch {
        // gone, as it should be
      }
    }
  }
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...opts,
  name: "Ctrl-C: the CLI exits only once the step's process group is gone",
  async fn() {
    await withStubborn(async (dir, groups) => {
      const run = spawnOrchestra(["run", STUBBORN, ...params(dir), "--state-dir", dir]);
      const pgid = await stepGroup(`${dir}/pid`);
      groups.push(pgid);
      run.child.kill("SIGINT");
      const { code } = await run.done;
      assert.equal(code, 130, run.err());
      assert.equal(groupAlive(pgid), false, "no process of the step outlived the CLI");
      assert.equal((await listRuns(dir))[0].status, "cancelled");
    });
  },
});

Deno.test({
  ...opts,
  name: "orchestra cancel: the run is recorded as ended only once the step's group is gone",
  async fn() {
    await withStubborn(async (dir, groups) => {
      const run = spawnOrchestra(["run", STUBBORN, ...params(dir), "--state-dir", dir]);
      const pgid = await stepGroup(`${dir}/pid`);
      groups.push(pgid);
      const [row] = await listRuns(dir);
      assert.equal((await cli(["cancel", row.runId, "--state-dir", dir])).code, 0);
      // Whenever the store says the run ended, the group is already gone.
      await waitFor("the run to be recorded as ended", async () => {
        const status = (await listRuns(dir))[0].status;
        if (status === "running") return false;
        assert.equal(groupAlive(pgid), false, `recorded ${status} while the step still ran`);
        return true;
      });
      const { code } = await run.done;
      assert.equal(code, 1, run.err());
      assert.equal((await listRuns(dir))[0].status, "cancelled");
    });
  },
});

Deno.test({
  ...opts,
  name: "a timeout: the step's group is killed after the grace, before the CLI exits",
  async fn() {
    await withStubborn(async (dir, groups) => {
      const run = spawnOrchestra([
        "run",
        "tests/fixtures/durability/stubborn_timeout.yaml",
        ...params(dir),
        "--state-dir",
        dir,
      ]);
      groups.push(await stepGroup(`${dir}/pid`));
      const { code } = await run.done;
      assert.equal(code, 1, run.err());
      assert.match(run.err(), /timed out after 1s/);
      assert.equal(groupAlive(groups[0]), false);
    });
  },
});

Deno.test({
  ...opts,
  name: "SIGKILL of the CLI: its supervisor sees the pipe close and kills the step's group",
  async fn() {
    await withStubborn(async (dir, groups) => {
      const run = spawnOrchestra(["run", STUBBORN, ...params(dir), "--state-dir", dir]);
      const pgid = await stepGroup(`${dir}/pid`);
      groups.push(pgid);
      run.child.kill("SIGKILL");
      await run.done;
      // SIGTERM at once (ignored), SIGKILL after the 5 s grace.
      await groupGone(pgid, 12_000);
    });
  },
});

Deno.test({
  ...opts,
  name:
    "SIGKILL of the CLI and its supervisor: resume stops the recorded group before the step runs again",
  async fn() {
    await withStubborn(async (dir, groups) => {
      const run = spawnOrchestra(["run", STUBBORN, ...params(dir), "--state-dir", dir]);
      const pgid = await stepGroup(`${dir}/pid`);
      groups.push(pgid);
      const supervisors = childrenWith(run.child.pid, "orchestra-supervisor");
      assert.equal(supervisors.length, 1, "one supervisor per orchestrator");
      for (const pid of supervisors) Deno.kill(pid, "SIGKILL");
      run.child.kill("SIGKILL");
      await run.done;
      assert.ok(groupAlive(pgid), "nobody was left to stop the step");
      const [row] = await listRuns(dir);
      assert.equal(row.status, "interrupted");
      // The step, when it runs again, notes whether the old group is still alive.
      await Deno.writeTextFile(`${dir}/gate`, "");
      const resumed = await cli(["resume", row.runId, "--json", "-q", "--state-dir", dir]);
      assert.equal(resumed.code, 0, resumed.err);
      assert.equal(await text(`${dir}/check`), "dead\n", "the old copy was gone first");
      assert.equal(groupAlive(pgid), false);
    });
  },
});

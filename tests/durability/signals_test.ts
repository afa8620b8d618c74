// SIGINT, SIGTERM and SIGHUP alike: the run is cancelled (hooks run, recorded cancelled), the
// CLI exits 128 + the signal's number, and the run can be resumed. A second signal exits at
// once, still killing the run's process groups. Real processes throughout.
import assert from "node:assert/strict";
import { cli, withState } from "../cli/_io.ts";
import { groupGone, spawnOrchestra, stepGroup, text, waitFor } from "./_processes.ts";
import { listRuns } from "./_spawn.ts";

const GATED = "tests/fixtures/durability/gate_flow.ts";
const STUBBORN = "tests/fixtures/durability/stubborn.yaml";

for (
  const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const
) {
  Deno.test({
    name: `${signal} cancels the run: hooks run, recorded cancelled, exit ${code}, resumable`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await withState(async (dir) => {
        const params = [
          "-p",
          `log=${dir}/log`,
          "-p",
          `gate=${dir}/gate`,
          "-p",
          `hooks=${dir}/hooks`,
        ];
        const run = spawnOrchestra(["run", GATED, "--json", ...params, "--state-dir", dir]);
        await waitFor("the task to start", async () => (await text(`${dir}/log`)) !== "");
        run.child.kill(signal);
        const { code: exit, signal: killedBy } = await run.done;
        assert.equal(killedBy, null, `the CLI handled ${signal} instead of dying of it`);
        assert.equal(exit, code, run.err());
        const doc = JSON.parse(run.out());
        assert.equal(doc.status, "cancelled");
        const name = signal === "SIGINT" ? "Ctrl-C" : signal;
        assert.match(doc.error, new RegExp(`interrupted with ${name}`));
        assert.match(run.err(), new RegExp(`Cancelling \\(${name}\\)`));
        assert.equal(await text(`${dir}/hooks`), "cancelled\n", "the cancel hook ran");
        const [row] = await listRuns(dir);
        assert.equal(row.status, "cancelled");
        await Deno.writeTextFile(`${dir}/gate`, "");
        const resumed = await cli(["resume", row.runId, "--json", "-q", "--state-dir", dir]);
        assert.equal(resumed.code, 0, resumed.err);
        assert.equal(JSON.parse(resumed.out).result, "opened");
      });
    },
  });
}

Deno.test({
  name: "a second signal exits at once, and the run's process groups are killed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withState(async (dir) => {
      const run = spawnOrchestra([
        "run",
        STUBBORN,
        "-p",
        `pidfile=${dir}/pid`,
        "-p",
        `gate=${dir}/gate`,
        "-p",
        `check=${dir}/check`,
        "--state-dir",
        dir,
      ]);
      const pgid = await stepGroup(`${dir}/pid`);
      run.child.kill("SIGTERM");
      await waitFor("the first signal to be handled", () => /Cancelling/.test(run.err()));
      // The step ignores SIGTERM: without a second signal the CLI would wait out the grace.
      run.child.kill("SIGTERM");
      const { code } = await run.done;
      assert.equal(code, 143, run.err());
      // It sent SIGKILL to the group before exiting; only the kernel's cleanup is left.
      await groupGone(pgid, 2000);
      // It left without recording an end: the run is interrupted, so it can be resumed.
      const [row] = await listRuns(dir);
      assert.equal(row.status, "interrupted");
    });
  },
});

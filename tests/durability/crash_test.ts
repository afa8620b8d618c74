// The crash test: `orchestra run` killed with SIGKILL at random points, then `orchestra resume`.
// Every resumed run succeeds with the result of an uninterrupted run, and no task that had
// succeeded before the kill runs again.
import assert from "node:assert/strict";
import { cli, lines, listRuns, orchestra, orchestraOutput, seeded } from "./_spawn.ts";

const FLOW = "tests/fixtures/crash_flow.ts";
const SEED = Number(Deno.env.get("ORCHESTRA_CRASH_SEED") ?? 20261123);
/** Iterations killed in the middle of a run (after it was recorded, before it finished). */
const CRASHES = 20;
const MAX_ITERATIONS = 45;

interface TaskStatus {
  id: string;
  status: string;
}
interface StatusDoc {
  runId: string;
  status: string;
  result: unknown;
  tasks: TaskStatus[];
}

async function status(dir: string, runId: string): Promise<StatusDoc> {
  const r = await cli(["status", runId, "--json", "--state-dir", dir]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

Deno.test({
  name: "a run killed with SIGKILL at random points resumes to the same result, " +
    "without running again a task that had succeeded",
  // The children are awaited; the in-process CLI opens and closes the store.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "orchestra-crash-" });
    try {
      // The reference: an uninterrupted run, and how long a run takes (process start included).
      const spawned = Date.now();
      const reference = await orchestraOutput([
        "run",
        FLOW,
        "-p",
        `log=${dir}/reference.log`,
        "--json",
        "-q",
        "--state-dir",
        dir,
      ]);
      assert.equal(reference.code, 0, reference.err);
      const expected = JSON.parse(reference.out);
      assert.equal(expected.status, "succeeded");
      const taskIds: string[] = expected.tasks.map((t: { id: string }) => t.id);
      assert.deepEqual((await lines(`${dir}/reference.log`)).sort(), [...taskIds].sort());
      // The flow's own duration; each kill lands at a random point from a little before the
      // first task starts (as seen in the executions log) to a little after the run ends.
      const flowMs = Date.parse(expected.finishedAt) - Date.parse(expected.startedAt);
      const from = -Math.ceil(flowMs * 0.1);
      const to = Math.ceil(flowMs * 1.05);
      // How long after the spawn the first task starts, as last seen (for kills before it).
      let startsAfter = Math.max(0, Date.parse(expected.startedAt) - spawned);

      const random = seeded(SEED);
      let iterations = 0, crashes = 0, beforeRecorded = 0, afterFinished = 0, rerunTasks = 0;
      let resumes = 0;
      while (crashes < CRASHES && iterations < MAX_ITERATIONS) {
        const i = iterations++;
        const log = `${dir}/executions-${i}.log`;
        const delay = Math.floor(from + random() * (to - from));
        const known = (await listRuns(dir)).length;
        const child = orchestra(
          ["run", FLOW, "-p", `log=${log}`, "-q", "--state-dir", dir],
          false,
        );
        const spawnedAt = Date.now();
        const kill = () => {
          try {
            child.kill("SIGKILL");
          } catch {
            // it finished first
          }
        };
        let exited = false;
        const exit = child.status.then(() => exited = true);
        if (delay < 0) {
          await new Promise((r) => setTimeout(r, Math.max(0, startsAfter + delay)));
        } else {
          // Wait for the first task to write the executions log, then the delay.
          while (!exited && (await lines(log)).length === 0) {
            await new Promise((r) => setTimeout(r, 2));
          }
          startsAfter = Date.now() - spawnedAt;
          await new Promise((r) => setTimeout(r, delay));
        }
        kill();
        await exit;
        const where =
          `iteration ${i} (seed ${SEED}, kill ${delay} ms after the first task started)`;

        const runs = await listRuns(dir);
        if (runs.length === known) {
          beforeRecorded++; // killed before the run was even created: nothing to resume
          continue;
        }
        assert.equal(runs.length, known + 1, where);
        const runId = runs[0].runId;
        const atKill = await status(dir, runId);
        const succeeded = new Set(
          atKill.tasks.filter((t) => t.status === "succeeded").map((t) => t.id),
        );
        const ranBefore = await lines(log);
        // Every task recorded as succeeded did run (its result is not invented).
        for (const id of succeeded) assert.ok(ranBefore.includes(id), `${where}: ${id} never ran`);

        if (atKill.status === "succeeded") {
          afterFinished++;
        } else {
          crashes++;
          // Its owner is gone (its lease went with it): interrupted, and resumable at once,
          // zombie or not.
          assert.equal(atKill.status, "interrupted", `${where}: a killed run is interrupted`);
          resumes++;
          const resumed = await orchestraOutput([
            "resume",
            runId,
            "--json",
            "-q",
            "--state-dir",
            dir,
          ]);
          assert.equal(resumed.code, 0, `${where}: resume failed: ${resumed.err}`);
          const doc = JSON.parse(resumed.out);
          assert.equal(doc.runId, runId, where);
          assert.deepEqual(doc.result, expected.result, where);
        }

        const ranAfter = await lines(log);
        assert.deepEqual(ranAfter.slice(0, ranBefore.length), ranBefore, where);
        const again = ranAfter.slice(ranBefore.length);
        rerunTasks += again.filter((id) => ranBefore.includes(id)).length;
        const repeated = again.filter((id) => succeeded.has(id));
        assert.deepEqual(repeated, [], `${where}: tasks that had succeeded ran again`);
        // Every task ran, and each at most once after its last interrupted attempt.
        assert.deepEqual([...new Set(ranAfter)].sort(), [...taskIds].sort(), where);

        const final = await status(dir, runId);
        assert.equal(final.status, "succeeded", where);
        assert.deepEqual(final.result, expected.result, where);
        assert.deepEqual(
          final.tasks.filter((t) => t.status !== "succeeded").map((t) => t.id),
          [],
          `${where}: every task completes`,
        );
      }
      console.log(
        `crash test: ${iterations} iterations (seed ${SEED}, kills from ${from} to ${to} ms of a ${flowMs} ms run): ` +
          `${crashes} killed mid-run and resumed (${resumes} resumes), ` +
          `${beforeRecorded} killed before the run was recorded, ` +
          `${afterFinished} finished before the kill; ` +
          `${rerunTasks} interrupted task executions ran again`,
      );
      assert.ok(
        crashes >= CRASHES,
        `only ${crashes} of ${iterations} kills landed mid-run; expected ${CRASHES}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

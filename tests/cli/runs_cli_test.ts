// Recorded runs through the CLI: runs, status, logs, cancel, resume and retry.
import assert from "node:assert/strict";
import { cli, ROOT, withState } from "./_io.ts";

const lines = async (path: string) => (await Deno.readTextFile(path)).trim().split("\n");

Deno.test("every run is recorded: runs lists them newest first, status shows the tasks", async () => {
  await withState(async (dir) => {
    assert.equal(
      (await cli(["run", "examples/params.ts", "-p", "region=eu", "-q", "--state-dir", dir])).code,
      0,
    );
    assert.equal(
      (await cli(["run", "tests/fixtures/failing_flow.ts", "-q", "--state-dir", dir])).code,
      1,
    );
    const runs = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    assert.deepEqual(runs.map((r: { flow: string; status: string }) => [r.flow, r.status]), [
      ["failing", "failed"],
      ["top_customers", "succeeded"],
    ]);
    const failed = JSON.parse(
      (await cli(["runs", "--json", "--status", "failed", "--state-dir", dir])).out,
    );
    assert.equal(failed.runs.length, 1);
    const status = JSON.parse(
      (await cli(["status", runs[0].runId, "--json", "--state-dir", dir])).out,
    );
    assert.equal(status.status, "failed");
    assert.deepEqual(
      status.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
      [["extract", "failed"], ["transform", "skipped"], ["load", "skipped"], [
        "audit",
        "succeeded",
      ]],
    );
    const byPrefix = await cli(["status", runs[0].runId.slice(0, 13), "--state-dir", dir]);
    assert.match(byPrefix.out, /Error: Task "extract" failed after 2 attempts: source unreachable/);
    const missing = await cli(["status", "nope", "--state-dir", dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no run "nope"/);
  });
});

Deno.test("logs prints what a run's tasks logged, for one task too", async () => {
  await withState(async (dir) => {
    await cli(["run", "examples/dynamic.ts", "-q", "--state-dir", dir]);
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    const all = await cli(["logs", run.runId, "--state-dir", dir]);
    assert.match(all.out, /\[reorder\] Ordered 16 × widget/);
    assert.match(all.out, /\[reorder#2\] Ordered 12 × gizmo/);
    const one = await cli(["logs", run.runId, "reorder#2", "--state-dir", dir]);
    assert.doesNotMatch(one.out, /widget/);
    assert.match(one.out, /gizmo/);
  });
});

Deno.test("resume restores succeeded tasks and runs the rest; retry --from runs a task and its downstream", async () => {
  await withState(async (dir) => {
    const log = `${dir}/executions.log`;
    const marker = `${dir}/marker`;
    const args = ["-p", `log=${log}`, "-p", `marker=${marker}`, "--state-dir", dir];
    const first = await cli(["run", "tests/fixtures/resume_flow.ts", "-q", ...args]);
    assert.equal(first.code, 1);
    assert.deepEqual(await lines(log), ["first", "second"]);
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;

    await Deno.writeTextFile(marker, "");
    const resumed = await cli(["resume", run.runId, "--json", "-q", "--state-dir", dir]);
    assert.equal(resumed.code, 0, resumed.err);
    const doc = JSON.parse(resumed.out);
    assert.equal(doc.runId, run.runId, "the same run continues");
    assert.equal(doc.result, 42);
    assert.deepEqual(
      await lines(log),
      ["first", "second", "second", "third"],
      "first did not run again",
    );
    const status = JSON.parse((await cli(["status", run.runId, "--json", "--state-dir", dir])).out);
    assert.equal(status.status, "succeeded");

    const again = await cli(["resume", run.runId, "--state-dir", dir]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already succeeded/);

    const retried = await cli([
      "retry",
      run.runId,
      "--from",
      "second",
      "--json",
      "-q",
      "--state-dir",
      dir,
    ]);
    assert.equal(retried.code, 0, retried.err);
    assert.deepEqual(await lines(log), ["first", "second", "second", "third", "second", "third"]);
  });
});

Deno.test("resume refuses a flow file that changed since the run began, unless --force", async () => {
  await withState(async (dir) => {
    const flowFile = `${dir}/flow.ts`;
    await Deno.writeTextFile(
      flowFile,
      `import { flow, task } from "${ROOT}/mod.ts";\nconst boom = task("boom", () => { throw new Error("no"); });\nexport default flow("changing", () => boom());\n`,
    );
    assert.equal((await cli(["run", flowFile, "-q", "--state-dir", dir])).code, 1);
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    await Deno.writeTextFile(flowFile, (await Deno.readTextFile(flowFile)) + "// changed\n");
    const refused = await cli(["resume", run.runId, "--state-dir", dir]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /flow\.ts changed since run .* began; .* pass --force/);
    const forced = await cli(["resume", run.runId, "--force", "-q", "--state-dir", dir]);
    assert.equal(forced.code, 1, "it ran (and the task failed again)");
  });
});

Deno.test("cancel from another process stops a running run within a second", async () => {
  await withState(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--unstable-worker-options",
        `${ROOT}/main.ts`,
        "run",
        "tests/fixtures/slow_flow.ts",
        "--json",
        "-q",
        "--state-dir",
        dir,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let runId: string | undefined;
    for (let i = 0; i < 100 && !runId; i++) {
      await new Promise((r) => setTimeout(r, 100));
      // The child may still be creating its state dir: a read that fails is tried again.
      const listed = await cli(["runs", "--json", "--status", "running", "--state-dir", dir]);
      if (listed.code !== 0) continue;
      runId = JSON.parse(listed.out).runs[0]?.runId;
    }
    assert.ok(runId, "the run is recorded as running");
    const started = Date.now();
    const cancel = await cli(["cancel", runId!, "--state-dir", dir]);
    assert.equal(cancel.code, 0, cancel.err);
    const out = await child.output();
    assert.ok(Date.now() - started < 5000);
    assert.equal(JSON.parse(new TextDecoder().decode(out.stdout)).status, "cancelled");
    const status = JSON.parse((await cli(["status", runId!, "--json", "--state-dir", dir])).out);
    assert.equal(status.status, "cancelled");
  });
});

Deno.test("runs prune removes finished runs older than a duration", async () => {
  await withState(async (dir) => {
    await cli(["run", "examples/params.ts", "-p", "region=eu", "-q", "--state-dir", dir]);
    const none = await cli(["runs", "prune", "--older-than", "30d", "--state-dir", dir]);
    assert.match(none.out, /removed 0 finished runs/);
    await new Promise((r) => setTimeout(r, 20));
    const all = await cli(["runs", "prune", "--older-than", "1ms", "--state-dir", dir]);
    assert.match(all.out, /removed 1 finished run older than 1ms/);
    assert.equal(
      JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs.length,
      0,
    );
  });
});

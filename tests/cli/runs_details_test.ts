// The small ones of recorded runs: ambiguous run-id prefixes, a map group's row after a
// resume, logs --json, and a closed stdout (logs | head).
import assert from "node:assert/strict";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { cli, ROOT, withState } from "./_io.ts";

Deno.test("a run-id prefix that matches several runs is an error listing them, for every command", async () => {
  await withState(async (dir) => {
    const store = await SqliteStore.open(dir);
    for (const runId of ["abc-1", "abc-2", "abd-3"]) {
      await store.createRun({
        runId,
        flow: "etl",
        status: "failed",
        params: {},
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        flowFile: `${ROOT}/tests/fixtures/resume_flow.ts`,
      });
    }
    await store.close();
    for (const command of ["status", "logs", "cancel", "resume", "retry"]) {
      const r = await cli([command, "ab", "--state-dir", dir]);
      assert.equal(r.code, 2, `${command}: ${r.err}`);
      assert.match(r.err, /error: "ab" is the start of 3 run ids; give more of the id:/, command);
      for (const id of ["abc-1", "abc-2", "abd-3"]) assert.match(r.err, new RegExp(`  ${id}  etl`));
    }
    const one = await cli(["status", "abd", "--json", "--state-dir", dir]);
    assert.equal(one.code, 0, one.err);
    assert.equal(JSON.parse(one.out).runId, "abd-3", "a prefix of one run finds it");
  });
});

Deno.test("after a resume that restores every item of a map, the group's row is not left running", async () => {
  await withState(async (dir) => {
    const hold = `${dir}/hold`;
    const args = ["-p", `log=${dir}/log`, "-p", `gate=${dir}/gate`, "-p", `hold=${hold}`];
    await Deno.writeTextFile(`${dir}/gate`, "");
    const first = await cli([
      "run",
      "tests/fixtures/squares_flow.ts",
      "-q",
      ...args,
      "--state-dir",
      dir,
    ]);
    assert.equal(first.code, 1, "total waits for its hold file");
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    await Deno.writeTextFile(hold, "");
    const resumed = await cli(["resume", run.runId, "-q", "--state-dir", dir]);
    assert.equal(resumed.code, 0, resumed.err);
    const status = JSON.parse((await cli(["status", run.runId, "--json", "--state-dir", dir])).out);
    assert.equal(status.status, "succeeded");
    assert.deepEqual(status.running, []);
    assert.deepEqual(
      status.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
      [
        ["square", "succeeded"],
        ["square[0]", "succeeded"],
        ["square[1]", "succeeded"],
        ["square[2]", "succeeded"],
        ["total", "succeeded"],
      ],
    );
  });
});

Deno.test("logs --json prints one JSON object per line: time, level, task, message, props", async () => {
  await withState(async (dir) => {
    await cli(["run", "examples/dynamic.ts", "-q", "--state-dir", dir]);
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    const r = await cli(["logs", run.runId, "--json", "--state-dir", dir]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2);
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), ["time", "level", "task", "message", "props"]);
      assert.ok(!Number.isNaN(Date.parse(l.time)));
    }
    const reorder = lines.find((l) => l.task === "reorder#2");
    assert.match(reorder.message, /Ordered 12 × gizmo/);
    assert.equal(reorder.level, "info");
  });
});

Deno.test("logs | head: a closed stdout ends the command quietly with exit 0", async () => {
  await withState(async (dir) => {
    // 200 logged lines of 1 KiB: more than a pipe holds, so writing meets the closed end.
    const flow = `${dir}/chatty.yaml`;
    await Deno.writeTextFile(
      flow,
      "name: chatty\ntasks:\n  talk:\n    run: |\n" +
        "      i=0; while [ $i -lt 200 ]; do printf '%01024d\\n' $i; i=$((i + 1)); done\n",
    );
    assert.equal((await cli(["run", flow, "-q", "--state-dir", dir])).code, 0);
    const [run] = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/main.ts`, "logs", run.runId, "--state-dir", dir],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read(); // like head: the first lines, then close
    assert.ok(value && value.length > 0);
    await reader.cancel();
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assert.equal(stderr, "", "no message");
    assert.equal(status.code, 0);
  });
});

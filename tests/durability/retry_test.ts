// retry makes a new run linked to the one it retries; --from a map item runs the item, its
// group and what depends on the group again; --param overrides params; the Orchestrator API
// does the same.
import assert from "node:assert/strict";
import { Orchestrator } from "../../src/orchestrator/orchestrator.ts";
import squares from "../fixtures/squares_flow.ts";
import { cli, withState } from "../cli/_io.ts";
import { text } from "./_processes.ts";

interface Status {
  runId: string;
  status: string;
  result: unknown;
  retryOf: string | null;
  retriedAs: string[];
  tasks: { id: string; status: string }[];
}

async function status(dir: string, runId: string): Promise<Status> {
  const r = await cli(["status", runId, "--json", "--state-dir", dir]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

const statuses = (s: Status) => s.tasks.map((t) => `${t.id}:${t.status}`);

/** A failed run of the squares flow: its item square[1] (n = 2) waits for the gate. */
async function failedRun(dir: string): Promise<string> {
  const args = ["-p", `log=${dir}/log`, "-p", `gate=${dir}/gate`, "--state-dir", dir];
  const first = await cli(["run", "tests/fixtures/squares_flow.ts", "-q", ...args]);
  assert.equal(first.code, 1);
  const runs = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
  return runs[0].runId;
}

Deno.test("retry --from a map item: a new linked run re-runs the item, its group and dependents only", async () => {
  await withState(async (dir) => {
    const original = await failedRun(dir);
    const before = await status(dir, original);
    await Deno.writeTextFile(`${dir}/gate`, "");
    const r = await cli([
      "retry",
      original,
      "--from",
      "square[1]",
      "--json",
      "-q",
      "--state-dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.notEqual(doc.runId, original, "a new run");
    assert.equal(doc.result, 1 + 4 + 9, "the total matches its items");
    assert.deepEqual(
      (await text(`${dir}/log`)).trim().split("\n"),
      ["square 1", "square 2", "square 3", "square 2", "total"],
      "only the item and the total ran again",
    );
    // The original and its failure stay in the history, linked both ways.
    const after = await status(dir, original);
    assert.equal(after.status, "failed");
    assert.deepEqual(statuses(after), statuses(before));
    assert.deepEqual(after.retriedAs, [doc.runId]);
    const retry = await status(dir, doc.runId);
    assert.equal(retry.retryOf, original);
    assert.deepEqual(statuses(retry), [
      "square[0]:succeeded",
      "square[2]:succeeded",
      "square:succeeded",
      "square[1]:succeeded",
      "total:succeeded",
    ]);
    const table = await cli(["runs", "--state-dir", dir]);
    assert.match(table.out, /RETRY OF/);
    assert.match(table.out, new RegExp(`${doc.runId}\\s+squares\\s+succeeded.*${original}`));
    const text_ = await cli(["status", original, "--state-dir", dir]);
    assert.match(text_.out, new RegExp(`Retried as: ${doc.runId}`));
    assert.match(
      (await cli(["status", doc.runId, "--state-dir", dir])).out,
      new RegExp(`Retry of: ${original}`),
    );
  });
});

Deno.test("retry --from a group re-runs all its items; --param overrides the original's params", async () => {
  await withState(async (dir) => {
    const original = await failedRun(dir);
    await Deno.writeTextFile(`${dir}/gate`, "");
    const r = await cli([
      "retry",
      original,
      "--from",
      "square",
      "--param",
      "factor=2",
      "--json",
      "-q",
      "--state-dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.params.factor, 2);
    assert.equal(doc.result, 4 + 16 + 36);
    const bad = await cli(["retry", original, "--param", "factr=2", "--state-dir", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Unknown param "factr" \(did you mean "factor"\?\)/);
    const none = await cli(["retry", original, "--from", "nope", "--state-dir", dir]);
    assert.equal(none.code, 2);
    assert.match(none.err, /has no task "nope"; its tasks: square, square\[0\]/);
  });
});

Deno.test("retry without --from runs again, as a new run, what did not succeed", async () => {
  await withState(async (dir) => {
    const original = await failedRun(dir);
    await Deno.writeTextFile(`${dir}/gate`, "");
    const r = await cli(["retry", original, "--json", "-q", "--state-dir", dir]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).result, 14);
    assert.deepEqual(
      (await text(`${dir}/log`)).trim().split("\n").slice(3),
      ["square 2", "total"],
    );
    assert.equal((await status(dir, original)).status, "failed");
  });
});

Deno.test("Orchestrator.retry(runId, { from, params }) makes a new linked run", async () => {
  await withState(async (dir) => {
    const orchestrator = new Orchestrator({ stateDir: dir, flows: [squares] });
    await orchestrator.start();
    try {
      const params = { log: `${dir}/log`, gate: `${dir}/gate` };
      const first = await orchestrator.invoke(squares, params);
      assert.equal((await orchestrator.wait(first)).status, "failed");
      await Deno.writeTextFile(`${dir}/gate`, "");
      const retryId = await orchestrator.retry(first, { from: "square[1]" });
      const record = await orchestrator.wait(retryId);
      assert.equal(record.status, "succeeded");
      assert.equal(record.result, 14);
      assert.equal((await orchestrator.status(retryId))?.retryOf, first);
      assert.equal((await orchestrator.status(first))?.status, "failed", "the original stays");
      const doubled = await orchestrator.retry(first, { from: "square", params: { factor: 2 } });
      assert.equal((await orchestrator.wait(doubled)).result, 56);
      await assert.rejects(orchestrator.retry("nope"), { name: "RunNotFoundError" });
      await assert.rejects(orchestrator.retry(first, { from: "x" }), /has no such task/);
      await assert.rejects(
        orchestrator.retry(first, { params: { factor: "two" } }),
        { name: "ParamsValidationError" },
      );
      const listed = await orchestrator.list({ retryOf: first });
      assert.deepEqual(listed.map((r) => r.runId).sort(), [retryId, doubled].sort());
    } finally {
      await orchestrator.stop();
    }
  });
});

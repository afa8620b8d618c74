// A run: step's stdout is its result: more than maxOutput fails the step, naming the limit and
// the setting that raises it, and never comes back cut short.
import assert from "node:assert/strict";
import { cli, withState } from "../cli/_io.ts";

const FLOW = "tests/fixtures/durability/big_output.yaml";
const MiB = 1024 * 1024;

async function print(dir: string, bytes: number, ...more: string[]) {
  const r = await cli([
    "run",
    FLOW,
    "-p",
    `bytes=${bytes}`,
    "--json",
    "-q",
    "--state-dir",
    dir,
    ...more,
  ]);
  return { code: r.code, err: r.err, doc: r.out ? JSON.parse(r.out) : undefined };
}

Deno.test("17 MiB on stdout fails the step at the default limit, naming it and how to raise it", async () => {
  await withState(async (dir) => {
    const r = await print(dir, 17 * MiB);
    assert.equal(r.code, 1);
    assert.equal(r.doc.status, "failed");
    const [task] = r.doc.tasks;
    assert.equal(task.status, "failed");
    assert.equal(task.result, undefined, "no truncated result");
    assert.match(
      task.error,
      /printed more than 16 MiB on stdout, the maxOutput limit.*maxOutput in orchestra\.yaml, ORCHESTRA_MAX_OUTPUT or --max-output/,
    );
  });
});

Deno.test("--max-output raises the limit and the whole output is kept; the limit itself is allowed", async () => {
  await withState(async (dir) => {
    const big = await print(dir, 17 * MiB, "--max-output", "32MiB");
    assert.equal(big.code, 0, big.err);
    assert.equal(big.doc.tasks[0].result.length, 17 * MiB);
    const exact = await print(dir, MiB, "--max-output", "1MiB");
    assert.equal(exact.code, 0, exact.err);
    assert.equal(exact.doc.tasks[0].result.length, MiB);
    const over = await print(dir, MiB + 1, "--max-output", "1MiB");
    assert.equal(over.code, 1);
    assert.match(over.doc.tasks[0].error, /more than 1 MiB on stdout/);
  });
});

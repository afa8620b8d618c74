// validate, describe and --dry-run refuse what run refuses before its first task, each problem
// with file:line:col.
import assert from "node:assert/strict";
import { cli } from "./_io.ts";

const FLOW = "tests/fixtures/inner_worker_flow.ts";

for (const args of [["validate", FLOW], ["describe", FLOW], ["run", FLOW, "--dry-run"]]) {
  Deno.test(`${args.join(" ")} refuses a worker task defined in a function and a default outside its enum`, async () => {
    const r = await cli(args);
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.err,
      /inner_worker_flow\.ts:6:10: Task "inner" cannot run in a worker: it is not defined at the top level of a module/,
    );
    assert.match(
      r.err,
      /inner_worker_flow\.ts:11:16: Param "mode": default "medium" is not one of its enum values "fast", "slow"/,
    );
    assert.equal(r.err.match(/cannot run in a worker/g)?.length, 1, "once per task");
  });
}

Deno.test("run refuses them the same way, before it records anything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli(["run", FLOW, "--state-dir", dir]);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot run in a worker/);
    const runs = JSON.parse((await cli(["runs", "--json", "--state-dir", dir])).out).runs;
    assert.deepEqual(runs, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-p NAME=VALUE for a flow that declares no param NAME is an error (exit 2)", async () => {
  const none = await cli(["run", "tests/fixtures/late_invalid_flow.ts", "-p", "x=1", "--dry-run"]);
  assert.equal(none.code, 2);
  assert.match(none.err, /Unknown param "x": flow "late_invalid" declares no params/);
  const typo = await cli([
    "run",
    "examples/params.ts",
    "-p",
    "region=eu",
    "-p",
    "limt=3",
    "--dry-run",
  ]);
  assert.equal(typo.code, 2);
  assert.match(typo.err, /Unknown param "limt" \(did you mean "limit"\?\)/);
  assert.match(typo.err, /this flow takes: region, limit, minSpend, verbose/);
  const yaml = await cli(["validate", "tests/fixtures/durability/stubborn.yaml", "-p", "pidfle=x"]);
  assert.equal(yaml.code, 2);
  assert.match(yaml.err, /Unknown param "pidfle" \(did you mean "pidfile"\?\)/);
});

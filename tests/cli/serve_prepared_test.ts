/** A serve runner's prepared flows: loaded once per file content, planned per run. */

import assert from "node:assert/strict";
import type { Prepared } from "../../src/cli/commands/common.ts";
import { PreparedFlows } from "../../src/cli/commands/serve_prepared.ts";
import { fakeIo, withState } from "./_io.ts";

const FLOW = (greeting: string) => `
name: hello
params:
  who: { type: string, default: world }
tasks:
  greet:
    run: echo ${greeting} \${{ params.who }}
`;

function ok(p: Prepared | { ok: false; error: string }): Prepared {
  if ("ok" in p) throw new Error(`not prepared: ${p.error}`);
  return p;
}

Deno.test("serve runner: a flow file is loaded once per content, planned again for each run", async () => {
  await withState(async (dir) => {
    const file = `${dir}/hello.yaml`;
    await Deno.writeTextFile(file, FLOW("hello"));
    const io = fakeIo({ cwd: dir });
    const flows = new PreparedFlows(
      { values: { "state-dir": `${dir}/state` }, positionals: [] },
      io,
    );
    const first = ok(await flows.prepare(file, "hello", { who: "a" }));
    const second = ok(await flows.prepare(file, "hello", { who: "b" }));
    // The same loaded flow, each run with its own params and its own plan.
    assert.strictEqual(second.def, first.def);
    assert.notStrictEqual(second.graph, first.graph);
    assert.deepEqual([first.params.who, second.params.who], ["a", "b"]);
    assert.ok(first.flowHash);
    assert.equal(second.flowHash, first.flowHash);

    // A param problem is still found per run, with every problem listed.
    const bad = await flows.prepare(file, "hello", { who: 3, nope: true });
    assert.ok("ok" in bad, "not prepared");
    assert.equal(bad.status, 422);

    // The file changed: loaded again, without being told.
    await Deno.writeTextFile(file, FLOW("bonjour"));
    const third = ok(await flows.prepare(file, "hello", {}));
    assert.notStrictEqual(third.def, first.def);
    assert.notEqual(third.flowHash, first.flowHash);

    // Told to forget it (the server saw it change): loaded again.
    flows.forget(file);
    const fourth = ok(await flows.prepare(file, "hello", {}));
    assert.notStrictEqual(fourth.def, third.def);

    // Gone: a problem that says so.
    await Deno.remove(file);
    const gone = await flows.prepare(file, "hello", {});
    assert.ok("ok" in gone, "not prepared");
    assert.equal(gone.status, 409);
    assert.match(gone.error, /still there/);
  });
});

import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "./_io.ts";

Deno.test("a task's output line with braces is logged as it is, not as a template", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/flow.yaml`,
      `tasks:\n  json:\n    run: |\n      echo '{"region": "eu", "n": {x}}'\n`,
    );
    const io = fakeIo({ cwd: dir });
    const code = await main(["run", "flow.yaml", "--state-dir", `${dir}/.state`], io);
    assert.equal(code, 0, io.err);
    assert.match(io.err, /\[json\] \{"region": "eu", "n": \{x\}\}/);
    assert.doesNotMatch(io.err, /\[json\] undefined/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

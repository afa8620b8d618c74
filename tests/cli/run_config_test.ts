// `run` takes its settings from orchestra.yaml, ORCHESTRA_* variables and flags, in that order.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "./_io.ts";

async function peak(args: string[], env: Record<string, string>, cwd = ROOT): Promise<number> {
  const io = fakeIo({ cwd });
  io.env = (name) => env[name] ?? (name === "NO_COLOR" ? "1" : undefined);
  const code = await main([
    "run",
    `${ROOT}/tests/fixtures/concurrency_flow.ts`,
    "--json",
    "-q",
    ...args,
  ], io);
  assert.equal(code, 0, io.err);
  return JSON.parse(io.out).result;
}

Deno.test("run: concurrency from orchestra.yaml, then ORCHESTRA_CONCURRENCY, then --concurrency", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await peak([], {}, dir), 6, "unlimited by default");
    await Deno.writeTextFile(`${dir}/orchestra.yaml`, "concurrency: 2\n");
    assert.equal(await peak([], {}, dir), 2);
    assert.equal(await peak([], { ORCHESTRA_CONCURRENCY: "3" }, dir), 3);
    assert.equal(await peak(["--concurrency", "1"], { ORCHESTRA_CONCURRENCY: "3" }, dir), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run: a bad setting anywhere is exit 2 naming where it came from", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/orchestra.yaml`, "concurency: 2\n");
    const io = fakeIo({ cwd: dir });
    assert.equal(await main(["run", `${ROOT}/examples/params.ts`, "-p", "region=eu"], io), 2);
    assert.match(io.err, /orchestra\.yaml:1:1/);
    assert.match(io.err, /did you mean "concurrency"/);
    const env = fakeIo();
    env.env = (name) => (name === "ORCHESTRA_LOG_LEVEL" ? "loud" : undefined);
    assert.equal(await main(["run", "examples/params.ts", "-p", "region=eu"], env), 2);
    assert.match(env.err, /ORCHESTRA_LOG_LEVEL/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// End to end through the real entry point, as `deno task orchestra` runs it.
import assert from "node:assert/strict";
import { ROOT } from "./_io.ts";

const FLAGS = ["run", "-A", "--no-prompt", "--unstable-worker-options", `${ROOT}/main.ts`];

async function orchestra(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, ...args],
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("main.ts runs the ETL example: one JSON document on stdout, the view on stderr", async () => {
  const dir = await Deno.makeTempDir();
  const { code, stdout, stderr } = await orchestra([
    "run",
    "examples/etl.ts",
    "--param",
    `out=${dir}/report.json`,
    "--json",
  ]);
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.equal(doc.status, "succeeded");
  const fetchRates = doc.tasks.find((t: { id: string }) => t.id === "fetch_rates");
  assert.equal(fetchRates.attempts, 2, "the flaky source is retried once");
  const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  assert.deepEqual(doc.result.report, report);
  assert.match(stderr, /fetch_rates/);
  assert.match(stderr, /503/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("relative paths resolve against INIT_CWD (the directory deno task was run from)", async () => {
  const { code, stdout, stderr } = await orchestra(
    ["run", "params.ts", "-p", "region=apac", "--json", "--quiet"],
    { cwd: ROOT, env: { INIT_CWD: `${ROOT}/examples` } }, // as deno task runs it
  );
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout).result, ["1. Vehement"]);
});

Deno.test("an INIT_CWD inherited from an outer deno task or npm script does not move the command", async () => {
  const { code, stdout, stderr } = await orchestra(
    ["run", "params.ts", "-p", "region=apac", "--json", "--quiet"],
    { cwd: `${ROOT}/examples`, env: { INIT_CWD: "/" } },
  );
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout).result, ["1. Vehement"]);
});

Deno.test("SIGINT cancels a real run: exit 130 and a cancelled record", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, "run", "tests/fixtures/slow_flow.ts", "--json"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  while (!/waiting/.test(err)) {
    const { value, done } = await reader.read();
    if (done) break;
    err += value;
  }
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});
  assert.equal(status.code, 130);
  const doc = JSON.parse(await stdout);
  assert.equal(doc.status, "cancelled");
});

Deno.test("exit code 1 for a failed run, 2 for invalid input", async () => {
  const failed = await orchestra(["run", "tests/fixtures/failing_flow.ts", "-q"]);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  assert.match(failed.stderr, /failed/);
  const invalid = await orchestra(["validate", "tests/fixtures/invalid_flow.ts"]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /invalid_flow\.ts:\d+:\d+/);
});

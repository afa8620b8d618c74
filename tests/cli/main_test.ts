import assert from "node:assert/strict";
import { main, VERSION } from "../../src/cli/main.ts";
import { fakeIo } from "./_io.ts";

Deno.test("--version prints the version", async () => {
  const io = fakeIo();
  assert.equal(await main(["--version"], io), 0);
  assert.match(io.out, new RegExp(`^orchestra ${VERSION.replaceAll(".", "\\.")} \\(deno `));
});

Deno.test("--help lists every command; no command is a usage error", async () => {
  const io = fakeIo();
  assert.equal(await main(["--help"], io), 0);
  for (const c of ["run", "validate", "describe", "graph"]) {
    assert.match(io.out, new RegExp(`  ${c} `));
  }
  const bare = fakeIo();
  assert.equal(await main([], bare), 2);
  assert.match(bare.err, /Usage:/);
});

Deno.test("every command has --help", async () => {
  for (const c of ["run", "validate", "describe", "graph"]) {
    const io = fakeIo();
    assert.equal(await main([c, "--help"], io), 0);
    assert.match(io.out, new RegExp(`^Usage: orchestra ${c} FILE`));
    const viaHelp = fakeIo();
    assert.equal(await main(["help", c], viaHelp), 0);
    assert.equal(viaHelp.out, io.out);
  }
});

Deno.test("an unknown command or option suggests the right one (exit 2)", async () => {
  const io = fakeIo();
  assert.equal(await main(["rnu", "x.ts"], io), 2);
  assert.match(io.err, /unknown command "rnu" \(did you mean "run"\?\)/);
  const opt = fakeIo();
  assert.equal(await main(["run", "examples/params.ts", "--concurency", "2"], opt), 2);
  assert.match(opt.err, /unknown option --concurency \(did you mean "--concurrency"\?\)/);
});

Deno.test("run: a missing file or a bad option value is exit 2 with the reason", async () => {
  const missing = fakeIo();
  assert.equal(await main(["run", "nope.ts"], missing), 2);
  assert.match(missing.err, /Cannot load "nope.ts": no such file/);
  const noFile = fakeIo();
  assert.equal(await main(["run"], noFile), 2);
  assert.match(noFile.err, /missing FILE/);
  const conc = fakeIo();
  assert.equal(await main(["run", "examples/params.ts", "-c", "0"], conc), 2);
  assert.match(conc.err, /--concurrency must be a whole number ≥ 1, got "0"/);
  const param = fakeIo();
  assert.equal(await main(["run", "examples/params.ts", "--param", "region"], param), 2);
  assert.match(param.err, /--param needs NAME=VALUE/);
});

Deno.test("run: params are converted from strings and checked against their schema", async () => {
  const bad = fakeIo();
  assert.equal(
    await main(["run", "examples/params.ts", "--param", "region=mars", "-p", "limit=two"], bad),
    2,
  );
  assert.match(bad.err, /Param "region" must be one of "eu", "us", "apac", got "mars"/);
  assert.match(bad.err, /Param "limit": "two" is not an integer/);
  assert.equal(bad.out, "");

  const missing = fakeIo();
  assert.equal(await main(["run", "examples/params.ts"], missing), 2);
  assert.match(missing.err, /Missing required param "region"/);

  const typo = fakeIo();
  assert.equal(
    await main(["run", "examples/params.ts", "-p", "region=eu", "-p", "limt=1"], typo),
    2,
  );
  assert.match(typo.err, /Unknown param "limt" \(did you mean "limit"\?\)/);
});

Deno.test("run --json prints exactly the run record on stdout", async () => {
  const io = fakeIo();
  const code = await main(
    [
      "run",
      "examples/params.ts",
      "-p",
      "region=us",
      "-p",
      "limit=2",
      "-p",
      "verbose=true",
      "--json",
    ],
    io,
  );
  assert.equal(code, 0, io.err);
  const doc = JSON.parse(io.out);
  assert.deepEqual(Object.keys(doc).slice(0, 4), ["runId", "flow", "status", "result"]);
  assert.equal(doc.flow, "top_customers");
  assert.equal(doc.status, "succeeded");
  assert.deepEqual(doc.result, ["1. Globex (5400)", "2. Hooli (3100)"]);
  assert.deepEqual(doc.params, { region: "us", limit: 2, minSpend: 0, verbose: true });
  assert.deepEqual(doc.tasks.map((t: { id: string; status: string }) => [t.id, t.status]), [
    ["top_customers", "succeeded"],
    ["format", "succeeded"],
  ]);
  for (const t of doc.tasks) {
    assert.equal(t.attempts, 1);
    assert.ok(Date.parse(t.startedAt) <= Date.parse(t.finishedAt));
  }
  assert.match(io.err, /succeeded/);
});

Deno.test("run --params-file reads JSON and YAML; --param wins", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/p.json`, JSON.stringify({ region: "eu", limit: 1 }));
  await Deno.writeTextFile(`${dir}/p.yaml`, "region: eu\nlimit: 2\nverbose: true\n");
  const json = fakeIo();
  assert.equal(
    await main(
      ["run", "examples/params.ts", "--params-file", `${dir}/p.json`, "--json", "-q"],
      json,
    ),
    0,
    json.err,
  );
  assert.deepEqual(JSON.parse(json.out).result, ["1. Umbrella"]);
  const yaml = fakeIo();
  assert.equal(
    await main(
      ["run", "examples/params.ts", "--params-file", `${dir}/p.yaml`, "-p", "limit=1", "--json"],
      yaml,
    ),
    0,
  );
  assert.deepEqual(JSON.parse(yaml.out).result, ["1. Umbrella (9100)"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a failed run exits 1; downstream tasks are skipped with the reason", async () => {
  const io = fakeIo();
  assert.equal(await main(["run", "tests/fixtures/failing_flow.ts", "--json"], io), 1);
  const doc = JSON.parse(io.out);
  assert.equal(doc.status, "failed");
  assert.equal(doc.result, null);
  const byId = Object.fromEntries(doc.tasks.map((t: { id: string }) => [t.id, t]));
  assert.equal(byId.extract.status, "failed");
  assert.equal(byId.extract.attempts, 2);
  assert.match(byId.extract.error, /source unreachable/);
  assert.equal(byId.transform.status, "skipped");
  assert.equal(byId.transform.reason, 'upstream "extract" failed');
  assert.equal(byId.load.status, "skipped");
  assert.equal(byId.load.reason, 'upstream "extract" failed');
  assert.equal(byId.audit.status, "succeeded");
  assert.match(doc.error, /Task "extract" failed after 2 attempts: source unreachable/);
  assert.match(io.err, /source unreachable/);
});

Deno.test("validate reports every problem with file:line:col and exits 2", async () => {
  const io = fakeIo();
  assert.equal(await main(["validate", "tests/fixtures/invalid_flow.ts"], io), 2);
  const err = io.err;
  assert.match(err, /flow "broken" is invalid/);
  assert.match(err, /unknown type "date"/);
  assert.match(err, /unknown task option "timout" \(did you mean "timeout"\?\)/);
  assert.match(err, /timeout: Invalid duration "soon"/);
  assert.match(err, /retries must be a whole number of extra attempts, got -1/);
  assert.match(
    err,
    /Task "risky" of flow "broken" is denied net "evil.example.com": the flow's ceiling allows net only for "api.example.com"/,
  );
  assert.match(err, /tests\/fixtures\/invalid_flow\.ts:\d+:\d+: /);

  const json = fakeIo();
  assert.equal(await main(["validate", "tests/fixtures/invalid_flow.ts", "--json"], json), 2);
  const doc = JSON.parse(json.out);
  assert.equal(doc.valid, false);
  assert.ok(doc.issues.length >= 4);
});

Deno.test("run refuses to start an invalid flow (exit 2, no task runs)", async () => {
  const io = fakeIo();
  assert.equal(await main(["run", "tests/fixtures/invalid_flow.ts", "--json"], io), 2);
  assert.equal(io.out, "");
  assert.doesNotMatch(io.err, /started/);
});

Deno.test("validate accepts a valid flow and says how big it is", async () => {
  const io = fakeIo();
  assert.equal(await main(["validate", "examples/etl.ts"], io), 0);
  assert.match(io.out, /✓ flow "etl" is valid: 8 tasks in 4 steps/);
});

Deno.test("describe shows tasks, dependencies, executors, retries and params", async () => {
  const io = fakeIo();
  assert.equal(await main(["describe", "examples/etl.ts"], io), 0, io.err);
  assert.match(io.out, /Flow "etl" — Sales CSV/);
  assert.match(io.out, /out\s+string\s+"reports\/sales.json"/);
  assert.match(io.out, /summarize#4\s+extract_sales, fetch_rates\s+inline/);
  // A task that requests permissions runs in a task worker, whatever its executor says.
  assert.match(io.out, /fetch_rates\s+-\s+worker\s+2× after 200ms ×2 ±10%\s+-\s+-\s+0\s+read=/);
  assert.match(
    io.out,
    /Sandbox: on — the flow's module, body and inline tasks run in a flow isolate/,
  );
  assert.match(io.out, /inline tasks run in the flow's isolate with no permissions/);
  const json = fakeIo();
  assert.equal(await main(["describe", "examples/etl.ts", "--json"], json), 0);
  const g = JSON.parse(json.out);
  assert.equal(g.sandboxed, true);
  assert.deepEqual(g.tasks.find((t: { id: string }) => t.id === "build_report").needs, [
    "summarize",
    "summarize#2",
    "summarize#3",
    "summarize#4",
  ]);
});

Deno.test("describe notes where a dynamic body awaits", async () => {
  const io = fakeIo();
  assert.equal(await main(["describe", "examples/dynamic.ts"], io), 0, io.err);
  assert.match(io.out, /awaits the result of "check_stock" \(examples\/dynamic\.ts:\d+:\d+\)/);
});

Deno.test("graph prints mermaid, dot and json", async () => {
  const mermaid = fakeIo();
  assert.equal(await main(["graph", "examples/fan_out.ts"], mermaid), 0);
  assert.match(mermaid.out, /^flowchart TD\n/);
  assert.match(mermaid.out, /t1\[\["count_primes \(map × \?\)"\]\]/);
  assert.match(mermaid.out, /t0 --> t1/);
  const dot = fakeIo();
  assert.equal(await main(["graph", "examples/fan_out.ts", "--format", "dot"], dot), 0);
  assert.match(dot.out, /^digraph "fan_out" \{/);
  assert.match(dot.out, /"count_primes" -> "total";/);
  const json = fakeIo();
  assert.equal(await main(["graph", "examples/fan_out.ts", "-f", "json"], json), 0);
  assert.equal(JSON.parse(json.out).tasks.length, 3);
  const bad = fakeIo();
  assert.equal(await main(["graph", "examples/fan_out.ts", "-f", "png"], bad), 2);
  assert.match(bad.err, /--format must be mermaid, dot or json/);
});

Deno.test("run --dry-run validates and prints the plan but runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  const marker = `${dir}/marker`;
  const io = fakeIo();
  assert.equal(
    await main(["run", "tests/fixtures/marker_flow.ts", "-p", `path=${marker}`, "--dry-run"], io),
    0,
  );
  assert.match(io.out, /Plan for flow "marker" \(dry run/);
  assert.match(io.out, /1\s+mark\s+-\s+inline\s+none/);
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
  const real = fakeIo();
  assert.equal(
    await main(["run", "tests/fixtures/marker_flow.ts", "-p", `path=${marker}`], real),
    0,
  );
  assert.equal(await Deno.readTextFile(marker), "ran");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Ctrl-C cancels the run: exit 130, running task aborted, record cancelled", async () => {
  const io = fakeIo();
  const code = main(["run", "tests/fixtures/slow_flow.ts", "--json"], io);
  for (let i = 0; i < 200 && !/wait.*(started|running)|waiting/.test(io.err); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  io.interrupt();
  assert.equal(await code, 130);
  const doc = JSON.parse(io.out);
  assert.equal(doc.status, "cancelled");
  assert.deepEqual(doc.tasks.map((t: { status: string }) => t.status), ["cancelled", "cancelled"]);
  assert.match(doc.error, /interrupted with Ctrl-C/);
});

Deno.test("a second Ctrl-C exits at once with 130", async () => {
  const io = fakeIo();
  const code = main(["run", "tests/fixtures/slow_flow.ts"], io);
  // Once the run is under way (its flow isolate started), not while the flow loads.
  for (let i = 0; i < 500 && !/waiting/.test(io.err); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  io.interrupt();
  assert.throws(() => io.interrupt(), /exit\(130\)/);
  assert.equal(io.exitCode, 130);
  await code;
});

Deno.test("a flow made by another copy of the library runs (brands, not instanceof)", async () => {
  const io = fakeIo();
  assert.equal(await main(["run", "tests/fixtures/foreign_copy_flow.ts", "--json"], io), 0, io.err);
  assert.equal(JSON.parse(io.out).result, "HELLO!");
});

Deno.test("--flow picks one of several flows; a wrong name gets a suggestion", async () => {
  const dir = await Deno.makeTempDir({ dir: "tests/fixtures" });
  const file = `${dir}/two.ts`;
  await Deno.writeTextFile(
    file,
    `import { flow, task } from "../../../mod.ts";
const one = task("one", () => 1);
export const alpha = flow("alpha", () => one());
export const beta = flow("beta", () => one());
`,
  );
  try {
    const both = fakeIo();
    assert.equal(await main(["run", file], both), 2);
    assert.match(both.err, /exports 2 flows \(alpha, beta\); pick one with --flow NAME/);
    const pick = fakeIo();
    assert.equal(await main(["run", file, "--flow", "beta", "--json"], pick), 0);
    assert.equal(JSON.parse(pick.out).flow, "beta");
    const typo = fakeIo();
    assert.equal(await main(["run", file, "--flow", "betta"], typo), 2);
    assert.match(typo.err, /has no flow "betta" \(did you mean "beta"\?\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--log-format json writes JSON lines carrying the run and task ids", async () => {
  const io = fakeIo();
  assert.equal(await main(["run", "examples/dynamic.ts", "--log-format", "json"], io), 0);
  const lines = io.err.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.length > 5);
  const reorder = lines.find((l) => /Ordered/.test(l.message));
  assert.ok(reorder, "the task's own log line is there");
  assert.equal(reorder.properties.taskId, "reorder");
  assert.match(reorder.properties.runId, /^[0-9a-f-]{36}$/);
  assert.ok(lines.some((l) => l.message.includes("task succeeded")));
});

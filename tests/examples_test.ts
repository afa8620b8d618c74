// Every file in examples/ is run here, through the CLI, and its result checked.
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { fakeIo, ROOT } from "./cli/_io.ts";
import { main as orchestratorMain } from "../examples/orchestrator.ts";

async function run(args: string[]) {
  const io = fakeIo();
  const code = await main(["run", ...args, "--json", "--quiet"], io);
  assert.equal(code, 0, io.err);
  return JSON.parse(io.out);
}

function countPrimesBelow(n: number): number {
  const sieve = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (sieve[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) sieve[j] = 1;
  }
  return count;
}

Deno.test("every example has a test here", async () => {
  const tested = [
    "etl.ts",
    "fan_out.ts",
    "dynamic.ts",
    "params.ts",
    "etl.yaml",
    "params.yaml",
    "conditions.yaml",
    "templates.yaml",
    "matrix.yaml",
    "github/ci.yaml",
    "chestra/workflow.yaml",
    "chestra/plugins/my_plugin.ts",
    // tests/examples_plugins_test.ts runs these:
    ...["shell", "http", "fs", "deno", "sleep", "log", "notify"].map((p) => `plugins/${p}.yaml`),
    "orchestrator.ts",
    "plugins.ts",
    "serve/nightly.yaml",
    "serve/deploy_hook.yaml",
    "serve/orchestra.tokens.yaml",
  ];
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(`../examples/${dir}`, import.meta.url))) {
      if (e.isDirectory && !["data", "shared"].includes(e.name)) await walk(`${dir}${e.name}/`);
      if (e.isFile && /\.(ts|ya?ml)$/.test(e.name)) files.push(`${dir}${e.name}`);
    }
  };
  await walk("");
  assert.deepEqual(files.sort(), tested.sort());
});

Deno.test("examples/etl.ts: per-region revenue in USD, written as a report", async () => {
  const dir = await Deno.makeTempDir();
  const doc = await run(["examples/etl.ts", "-p", `out=${dir}/r.json`]);
  const { report } = doc.result;
  assert.deepEqual(report, JSON.parse(await Deno.readTextFile(`${dir}/r.json`)));
  const eu = report.regions.find((r: { region: string }) => r.region === "eu");
  // eu: 12×9.5 + 3×110 + 20×14 + 15×9.5 EUR at 1.08 USD
  assert.equal(eu.revenue, Math.round((114 + 330 + 280 + 142.5) * 1.08 * 100) / 100);
  assert.equal(eu.orders, 4);
  const us = report.regions.find((r: { region: string }) => r.region === "us");
  assert.equal(us.orders, 2, "the line without units was dropped");
  const extract = doc.tasks.find((t: { id: string }) => t.id === "extract_sales");
  assert.match(extract.logs[0].message, /Dropping line 6/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("examples/fan_out.ts: map items are their own entries; the total is right", async () => {
  const doc = await run(["examples/fan_out.ts", "-p", "ranges=6", "-p", "size=1000"]);
  assert.equal(doc.result.primes, countPrimesBelow(6000));
  const items = doc.tasks.filter((t: { group?: string }) => t.group === "count_primes");
  assert.equal(items.length, 6);
  assert.deepEqual(
    items.map((t: { id: string }) => t.id),
    [0, 1, 2, 3, 4, 5].map((i) => `count_primes[${i}]`),
  );
  assert.ok(items.every((t: { name: string }) => t.name === "count_primes"));
  const group = doc.tasks.find((t: { id: string }) => t.id === "count_primes");
  assert.deepEqual(group.result, items.map((t: { result: number }) => t.result));
});

Deno.test("examples/dynamic.ts: branches on a real result", async () => {
  const low = await run(["examples/dynamic.ts", "-p", "threshold=10"]);
  assert.deepEqual(low.result.reordered, ["widget", "gizmo"]);
  assert.equal(low.result.units, 16 + 12);
  const none = await run(["examples/dynamic.ts", "-p", "threshold=1"]);
  assert.deepEqual(none.result.reordered, []);
  assert.ok(!none.tasks.some((t: { name: string }) => t.name === "reorder"));
});

Deno.test("examples/params.ts: typed params", async () => {
  const doc = await run(["examples/params.ts", "-p", "region=eu", "-p", "minSpend=2000"]);
  assert.deepEqual(doc.result, ["1. Umbrella"]);
});

Deno.test("examples/etl.yaml: the same revenue as etl.ts, from shell tasks", async () => {
  const dir = await Deno.makeTempDir();
  const doc = await run(["examples/etl.yaml", "-p", `out=${dir}/r.json`]);
  const revenue = doc.tasks.find((t: { id: string }) => t.id === "revenue").result;
  assert.deepEqual(revenue.map((r: { region: string }) => r.region), ["apac", "eu", "latam", "us"]);
  const eu = revenue.find((r: { region: string }) => r.region === "eu");
  assert.equal(eu.revenue, Math.round((114 + 330 + 280 + 142.5) * 1.08 * 100) / 100);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/r.json`)), revenue);
  assert.equal(doc.tasks.find((t: { id: string }) => t.id === "rates").attempts, 2);
  assert.deepEqual(doc.result, { report: 4 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("examples/params.yaml: conditions, and params that cannot inject shell", async () => {
  const doc = await run([
    "examples/params.yaml",
    "-p",
    "name=Ada'; touch pwned #",
    "-p",
    "shout=true",
  ]);
  const byId = Object.fromEntries(doc.tasks.map((t: { id: string }) => [t.id, t]));
  assert.equal(byId.greeting.result, "Hello, Ada'; touch pwned #!");
  assert.equal(byId.loud.result, "HELLO, ADA'; TOUCH PWNED #!");
  assert.equal(byId.fancy.status, "skipped");
  assert.equal(byId.fancy.reason, `condition "params.style == 'fancy'" is false`);
  await assert.rejects(Deno.stat("examples/pwned"), Deno.errors.NotFound);
  const io = fakeIo();
  assert.equal(
    await main(["run", "examples/params.yaml", "-p", "name=x", "-p", "times=many"], io),
    2,
  );
  assert.match(io.err, /Param "times": "many" is not an integer/);
});

Deno.test("examples/conditions.yaml: continue-on-error, failure() and always()", async () => {
  const ok = await run(["examples/conditions.yaml"]);
  const status = (doc: { tasks: { id: string; status: string }[] }) =>
    Object.fromEntries(doc.tasks.map((t) => [t.id, t.status]));
  assert.equal(ok.status, "succeeded");
  assert.deepEqual(status(ok), {
    lint: "failed",
    build: "succeeded",
    test: "succeeded",
    notify: "skipped",
    cleanup: "succeeded",
  });
  const io = fakeIo();
  assert.equal(
    await main(["run", "examples/conditions.yaml", "-p", "break=true", "--json", "-q"], io),
    1,
  );
  const broken = JSON.parse(io.out);
  assert.deepEqual(status(broken), {
    lint: "failed",
    build: "failed",
    test: "skipped",
    notify: "succeeded",
    cleanup: "succeeded",
  });
});

Deno.test("examples/templates.yaml: templates from an included file", async () => {
  const doc = await run(["examples/templates.yaml"]);
  const lines = async (f: string) => (await Deno.readTextFile(f)).split("\n").length - 1;
  assert.equal(
    doc.result.total,
    (await lines("examples/data/sales.csv")) + (await lines("examples/data/rates.json")),
  );
  const total = doc.tasks.find((t: { id: string }) => t.id === "total");
  assert.equal(total.name, "total");
});

Deno.test("examples/matrix.yaml: a leg per combination, include and exclude, every leg's outputs", async () => {
  const doc = await run(["examples/matrix.yaml"]);
  const legs = doc.tasks.filter((t: { id: string }) => t.id.startsWith("total["));
  assert.deepEqual(legs.map((t: { id: string }) => t.id), [
    "total[region=eu,product=widget]",
    "total[region=eu,product=gadget]",
    "total[region=us,product=widget]",
    "total[region=us,product=gadget]",
    "total[region=apac,product=widget]",
    "total[region=latam,product=gizmo,note=added_by_include]",
  ]);
  assert.equal(legs[0].name, "Units sold (eu, widget)");
  // Every leg's outputs, in leg order: 12 + 15 widgets in eu, 3 gadgets, …
  assert.deepEqual(doc.result.summary, {
    legs: ["eu/widget", "eu/gadget", "us/widget", "us/gadget", "apac/widget", "latam/gizmo"],
    units: [27, 3, 30, 4, 18, 6],
    all: "success",
  });
  const one = await run(["examples/matrix.yaml", "-p", 'regions=["eu"]']);
  assert.deepEqual(one.result.summary.legs, ["eu/widget", "eu/gadget", "latam/gizmo"]);
});

Deno.test("examples/github/ci.yaml: a GitHub workflow's jobs run step after step", async () => {
  const doc = await run(["examples/github/ci.yaml"]);
  const byId = Object.fromEntries(doc.tasks.map((t: { id: string }) => [t.id, t]));
  assert.equal(byId.lint.name, "Lint the sales file");
  assert.deepEqual(byId.lint.result, { blanks: "0" });
  assert.deepEqual(
    ["eu", "us", "apac"].map((r) => byId[`count[region=${r}]`].result),
    [{ orders: "4" }, { orders: "3" }, { orders: "2" }],
  );
  const report = byId.report.logs.map((l: { message: string }) => l.message);
  assert.ok(report.includes("orders per region: 4, 3, 2"), report.join("\n"));
  assert.equal(byId.alert.status, "skipped");
  const summary = byId["count[region=eu]"].logs.find((l: { props?: { summary?: string } }) =>
    l.props?.summary
  );
  assert.equal(summary.props.summary, "- eu: 4 orders");

  const io = fakeIo();
  const strict = ["run", "examples/github/ci.yaml", "-p", "level=strict", "--json", "-q"];
  assert.equal(await main(strict, io), 1);
  const failed = Object.fromEntries(
    JSON.parse(io.out).tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
  );
  assert.equal(failed.lint, "failed");
  assert.equal(failed.report, "skipped");
  assert.equal(failed.alert, "succeeded", "failure() looks at every job upstream");

  const described = fakeIo();
  assert.equal(await main(["describe", "examples/github/ci.yaml"], described), 0);
  assert.match(described.out, /Schedule \(run by `orchestra serve`\):\n {2}cron "30 4 \* \* 1-5"/);
  assert.match(described.out, /Note: runs-on \(ubuntu-latest\) is ignored/);
});

Deno.test("examples/chestra: Chestra's example workflow runs unchanged with plugins/my_plugin.ts", async () => {
  const doc = await run(["examples/chestra/workflow.yaml"]);
  assert.equal(doc.flow, "Example Workflow");
  assert.deepEqual(doc.result, {
    my_task: { foo: "bar", upstream: ["start"] },
    end: { start: true },
  });
  const myTask = doc.tasks.find((t: { id: string }) => t.id === "my_task");
  assert.equal(myTask.logs[0].message, "my_plugin got foo=bar");
});

Deno.test("examples/flow.schema.json is what `orchestra schema` prints", async () => {
  const io = fakeIo();
  assert.equal(await main(["schema"], io), 0);
  assert.equal(await Deno.readTextFile("examples/flow.schema.json"), io.out);
  const schema = JSON.parse(io.out);
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  for (const f of ["etl", "params", "conditions", "templates", "matrix"]) {
    const text = await Deno.readTextFile(`examples/${f}.yaml`);
    assert.match(text, /^# yaml-language-server: \$schema=\.\/flow\.schema\.json\n/);
  }
  const chestra = await Deno.readTextFile("examples/chestra/workflow.yaml");
  assert.match(chestra, /^# yaml-language-server: \$schema=\.\.\/flow\.schema\.json\n/);
  for (const which of ["config", "policy"]) {
    const out = fakeIo();
    assert.equal(await main(["schema", which], out), 0);
    assert.equal(await Deno.readTextFile(`examples/${which}.schema.json`), out.out, which);
  }
  const bad = fakeIo();
  assert.equal(await main(["schema", "flows"], bad), 2);
  assert.match(bad.err, /expected flow, config or policy, got "flows"/);
});

Deno.test("examples/orchestrator.ts: three background runs, recorded in SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-example-" });
  const log = console.log;
  console.log = () => {};
  try {
    assert.deepEqual(await orchestratorMain(dir), [5, 3, 4]);
  } finally {
    console.log = log;
  }
  await Deno.stat(`${dir}/state.db`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("examples/plugins.ts: built-in plugins as tasks, each granted only its own files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const doc = await run(["examples/plugins.ts", "-p", `out=${dir}/revenue.json`]);
    // 12×9.5×1.08 + 30×10 + …: what the CSV and the rates give, written where asked.
    assert.equal(doc.result.total, JSON.parse(await Deno.readTextFile(`${dir}/revenue.json`)));
    assert.ok(doc.result.total > 0);
    const ids = doc.tasks.map((t: { id: string }) => t.id);
    assert.deepEqual(ids, ["sales", "rates", "revenue", "save", "announce"]);
    const io = fakeIo();
    assert.equal(await main(["describe", "examples/plugins.ts", "--json"], io), 0);
    const grants = Object.fromEntries(
      JSON.parse(io.out).tasks.map((t: { id: string; permissions: unknown }) => [
        t.id,
        t.permissions,
      ]),
    );
    assert.deepEqual(grants.sales, { read: [`${ROOT}/examples/data/sales.csv`] });
    assert.deepEqual(grants.rates, { read: [`${ROOT}/examples/data/rates.json`] });
    assert.equal(grants.announce, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/serve/nightly.yaml: runs as it would on its schedule; schedules lists its times", async () => {
  const doc = await run(["examples/serve/nightly.yaml"]);
  assert.deepEqual(doc.result, { report: "all: 12" });
  const io = fakeIo();
  const code = await main([
    "schedules",
    "examples/serve",
    "--json",
    "--from",
    "2026-03-28T00:00:00Z",
  ], io);
  assert.equal(code, 0, io.err);
  const { schedules } = JSON.parse(io.out);
  assert.deepEqual(schedules.map((s: { id: string }) => s.id), ["nightly:0", "nightly:1"]);
  assert.deepEqual(schedules[0].next.slice(0, 2), [
    "2026-03-28T01:30:00.000Z",
    "2026-03-29T01:00:00.000Z",
  ]);
});

Deno.test("examples/serve/deploy_hook.yaml: a webhook's body as params and event", async () => {
  const doc = await run([
    "examples/serve/deploy_hook.yaml",
    "-p",
    "ref=v1.4.0",
    "-p",
    'event={"action":"published"}',
  ]);
  assert.deepEqual(doc.result, { deploy: "v1.4.0 is live" });
  const draft = await run(["examples/serve/deploy_hook.yaml", "-p", 'event={"action":"drafted"}']);
  assert.equal(draft.tasks.find((t: { id: string }) => t.id === "deploy").status, "skipped");
});

Deno.test("examples/serve/orchestra.tokens.yaml: a valid tokens file; its hash is of the token it names", async () => {
  const { readTokensFile, sha256Hex } = await import("../src/server/tokens.ts");
  const file = await readTokensFile(`${ROOT}/examples/serve/orchestra.tokens.yaml`);
  assert.equal(
    file.tokens[0].sha256,
    await sha256Hex("orc_example_only_never_use_this_token_anywhere_00"),
  );
  assert.deepEqual(file.webhooks, { deploy_hook: { secret: "DEPLOY_HOOK_SECRET" } });
});

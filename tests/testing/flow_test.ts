import assert from "node:assert/strict";
import {
  context,
  definePlugin,
  flow,
  FlowValidationError,
  ParamsValidationError,
  task,
  type TaskContext,
  usePlugin,
} from "../../mod.ts";
import {
  assertFailed,
  assertLogged,
  assertRanBefore,
  assertSucceeded,
  assertTaskAttempts,
  assertTaskResult,
  assertTaskStatus,
  FakeClock,
  MemoryStore,
  runFlow,
  taskResult,
  TestClock,
  usesName,
} from "../../testing.ts";

// A plugin a TypeScript flow uses (at the top level: it runs in a worker).
export const shout = definePlugin({
  name: "shout",
  version: "1.0.0",
  description: "Upper-cases a text.",
  params: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  run: (p: { text: string }) => p.text.toUpperCase(),
});

/** A worker task that asks for no permission, so reading a file is denied. */
export const hostname = task(
  { name: "hostname", executor: "worker" },
  () => Deno.readTextFileSync("/etc/hostname"),
);

// Made on first use: a worker imports this module too, without write permission.
let root: string | undefined;

async function project(files: Record<string, string>): Promise<string> {
  if (root === undefined) {
    const made = root = await Deno.makeTempDir({ prefix: "orchestra_testing_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(made, { recursive: true }));
  }
  const dir = await Deno.makeTempDir({ dir: root });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

Deno.test("runFlow() runs on virtual time: an hour of sleep and retry delays", async () => {
  const nap = task("nap", async (ctx: TaskContext) => {
    await ctx.sleep(3_600_000);
    return "rested";
  });
  let tries = 0;
  const flaky = task({ name: "flaky", retries: { attempts: 3, delay: "1m", backoff: 2 } }, () => {
    if (++tries < 3) throw new Error(`try ${tries} failed`);
    return tries;
  });
  const napping = flow("napping", () => ({ nap: nap(), flaky: flaky() }));
  const clock = new TestClock(0);
  const run = await runFlow(napping, { clock });
  assertSucceeded(run);
  assert.deepEqual(run.result, { nap: "rested", flaky: 3 });
  assertTaskAttempts(run, "flaky", 3);
  assert.deepEqual([...clock.requested].sort((a, b) => a - b), [60_000, 120_000, 3_600_000]);
  assert.equal(run.startedAt, new Date(0).toISOString());
  assert.equal(run.finishedAt, new Date(3_600_000).toISOString());
  assert.equal(run.clock, clock);
});

Deno.test("runFlow()'s TestClock times out a sleeping task, not one doing real work", async () => {
  const sleepy = task({ name: "sleepy", timeout: "30s" }, async (ctx: TaskContext) => {
    await ctx.sleep(600_000);
    return "woke";
  });
  // Real work (a real timer stands for a command or a request) under a virtual timeout.
  const busy = task({ name: "busy", timeout: "1s" }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return "done";
  });
  const timing = flow("timing", () => ({ sleepy: sleepy(), busy: busy() }));

  const run = await runFlow(timing, { clock: new TestClock(0) });
  assertTaskStatus(run, "sleepy", "failed");
  assert.match(run.tasks.find((t) => t.id === "sleepy")!.error!, /timed out after 30s/);
  assertTaskResult(run, "busy", "done");
  assert.equal(run.finishedAt, new Date(30_000).toISOString());

  // A FakeClock moves whenever the program is idle, real work or not.
  const fake = await runFlow(timing, { clock: new FakeClock(0) });
  assertTaskStatus(fake, "busy", "failed");
  assert.match(fake.tasks.find((t) => t.id === "busy")!.error!, /timed out after 1s/);
});

Deno.test("runFlow() mocks a failing task with a value and another with a function", async () => {
  const extract = task("extract", (): number[] => {
    throw new Error("no database in tests");
  });
  const transform = task(
    "transform",
    (rows: number[], factor: number) => rows.map((r) => r * factor),
  );
  const load = task("load", (rows: number[]) => rows.reduce((a, b) => a + b, 0));
  const etl = flow(
    { name: "etl", params: { factor: { type: "integer", default: 2 } } },
    (_f, p) => load(transform(extract(), p.factor)),
  );

  const real = await runFlow(etl);
  assertFailed(real, "extract");
  assertTaskStatus(real, "load", "skipped");

  const seen: unknown[] = [];
  const run = await runFlow(etl, {
    params: { factor: 10 },
    mocks: {
      extract: [1, 2, 3],
      transform: (rows: number[], factor: number, ctx: TaskContext) => {
        seen.push({ rows, factor, taskId: ctx.taskId, ambient: context() === ctx });
        return rows.map((r) => r * factor + 1);
      },
    },
  });
  assertSucceeded(run);
  assert.equal(run.result, 63);
  assert.deepEqual(seen, [{ rows: [1, 2, 3], factor: 10, taskId: "transform", ambient: true }]);
  assertRanBefore(run, "extract", "transform");
  assertRanBefore(run, "transform", "load");
});

Deno.test("runFlow() mocks one call by its id and map items by group id or task name", async () => {
  const double = task("double", (x: number) => x * 2);
  const numbers = task("numbers", () => [4, 5]);
  const square = task("square", (x: number) => x * x);
  const ids = flow("ids", (f) => ({
    a: double(1),
    b: double(2),
    each: f.map([1, 2, 3], double, { id: "each" }),
    squares: f.map(numbers(), square),
  }));
  const run = await runFlow(ids, {
    mocks: {
      "double#2": 0,
      each: (x: number, ctx: TaskContext) => `${ctx.taskId}=${x * 100}`,
      square: (x: number) => -x,
    },
  });
  assertSucceeded(run);
  assert.deepEqual(run.result, {
    a: 2,
    b: 0,
    each: ["each[0]=100", "each[1]=200", "each[2]=300"],
    squares: [-4, -5],
  });
});

Deno.test("runFlow() keeps a mocked task's retries, hooks and the flow's middleware", async () => {
  const fetchRates = task({ name: "rates", retries: { attempts: 3, delay: "10s" } }, () => 1);
  const retried: string[] = [];
  const wrapped: string[] = [];
  const rates = flow({
    name: "rates",
    hooks: { onTaskRetry: (ctx, error) => void retried.push(`${ctx.taskId}: ${error}`) },
    middleware: [(ctx, next) => (wrapped.push(ctx.taskId), next())],
  }, () => fetchRates());
  const clock = new TestClock(0);
  const run = await runFlow(rates, {
    clock,
    mocks: {
      rates: (ctx: TaskContext) => {
        if (ctx.attempt < 2) throw new Error("503 from the rates service");
        return 0.92;
      },
    },
  });
  assertSucceeded(run);
  assertTaskResult(run, "rates", 0.92);
  assertTaskAttempts(run, "rates", 2);
  assert.deepEqual(retried, ["rates: Error: 503 from the rates service"]);
  assert.deepEqual(wrapped, ["rates", "rates"], "the flow's middleware saw both attempts");
  assert.deepEqual(clock.requested, [10_000]);
});

Deno.test("runFlow() runs a mocked worker task here, not in its worker", async () => {
  const f = flow("remote", () => hostname());
  const real = await runFlow(f);
  assertFailed(real, "hostname");
  assert.match(real.error!, /Requires read access/);
  const run = await runFlow(f, { mocks: { hostname: (ctx: TaskContext) => `mocked ${ctx.name}` } });
  assertTaskResult(run, "hostname", "mocked hostname");
});

Deno.test("runFlow() journals the run to a MemoryStore and keeps its events", async () => {
  const one = task("one", (ctx: TaskContext) => (ctx.log.info("one ran"), 1));
  const two = task("two", (x: number) => x + 1);
  const run = await runFlow(flow("journaled", () => two(one())), { runId: "run-1" });
  assertSucceeded(run);
  assertLogged(run, "one", "one ran");
  assert.ok(run.store instanceof MemoryStore);
  assert.equal((await run.store.getRun("run-1"))?.status, "succeeded");
  const rows = await run.store.getTasks("run-1");
  assert.deepEqual(rows.map((r) => [r.taskId, r.status, r.result]), [
    ["one", "succeeded", 1],
    ["two", "succeeded", 2],
  ]);
  assert.equal(run.events[0].type, "run.started");
  assert.equal(run.events.at(-1)!.type, "run.finished");
  // The extras are not part of the record's JSON.
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(run))).sort(), [
    "finishedAt",
    "flow",
    "params",
    "result",
    "runId",
    "startedAt",
    "status",
    "tasks",
  ]);
});

Deno.test("runFlow() gives secrets from its option only, masked in the record", async () => {
  const token = task({ name: "token", secrets: ["API_TOKEN"] }, (ctx: TaskContext) => {
    const value = ctx.secret("API_TOKEN");
    ctx.log.info(`using ${value}`);
    return value.length;
  });
  const f = flow("secrets", () => token());
  const run = await runFlow(f, { secrets: { API_TOKEN: "s3cret" } });
  assertTaskResult(run, "token", 6);
  assertLogged(run, "token", "using ***");
  const without = await runFlow(f);
  assertFailed(without, "token");
  assert.match(without.error!, /Secret "API_TOKEN" of task "token" is not set/);
});

Deno.test("runFlow() rejects a mock that matches no task, and invalid params", async () => {
  const load = task("load", () => 1);
  const f = flow({ name: "etl", params: { n: { type: "integer", required: true } } }, () => load());
  await assert.rejects(
    runFlow(f, { params: { n: 1 }, mocks: { lod: 2 } }),
    (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /runFlow\(\) of flow "etl": mock "lod" matches no task/);
      assert.match(e.message, /\(did you mean "load"\?\)/);
      assert.match(e.message, /Its tasks: load/);
      return true;
    },
  );
  await assert.rejects(runFlow(f), ParamsValidationError);
});

Deno.test("runFlow() mocks a plugin of a TypeScript flow by name", async () => {
  const greeting = task("greeting", () => "hello");
  const f = flow("loud", () => usePlugin(shout, { text: greeting() }, { id: "loud" }));
  const real = await runFlow(f);
  assertTaskResult(real, "loud", "HELLO");
  const run = await runFlow(f, {
    plugins: {
      shout: (params, ctx) => `${params.text}!(${ctx.taskId})`,
    },
  });
  assertTaskResult(run, "loud", "hello!(loud)");
  await assert.rejects(
    runFlow(f, { plugins: { shuot: "x" } }),
    /plugin mock "shuot" matches no plugin the flow uses \(did you mean "shout"\?\)/,
  );
});

Deno.test("runFlow() runs YAML text with mocked commands, foreach items and params", async () => {
  const yaml = `
name: yaml_mocks
params:
  n: { type: integer, default: 2 }
tasks:
  fetch:
    run: exit 7
  double:
    needs: fetch
    output: json
    env:
      A: \${{ tasks.fetch.result }}
      B: \${{ params.n }}
    run: echo $((A * B))
  each:
    foreach: [1, 2]
    run: exit 1
  report:
    needs: [double, each]
    run: echo done
`;
  const real = await runFlow(yaml);
  assertFailed(real, "fetch");
  assertTaskStatus(real, "double", "skipped");

  const items: unknown[] = [];
  const run = await runFlow(yaml, {
    params: { n: 3 },
    mocks: {
      fetch: 14,
      each: (input: { item: number; index: number }) => {
        items.push([input.item, input.index]);
        return input.item * 10;
      },
    },
  });
  assertSucceeded(run);
  assertTaskResult(run, "double", 42);
  assertTaskResult(run, "each", [10, 20]);
  assertTaskResult(run, "report", "done");
  assert.deepEqual(items, [[1, 0], [2, 1]]);
  assertRanBefore(run, "double", "report");
});

Deno.test("runFlow() reports an invalid YAML flow with every problem", async () => {
  await assert.rejects(
    runFlow("tasks:\n  a:\n    needs: b\n    run: echo\n", { file: "bad.yaml" }),
    (e: Error) => {
      assert.ok(e instanceof FlowValidationError);
      assert.match(e.message, /bad\.yaml:3:\d+/);
      assert.match(e.message, /needs unknown task "b"/);
      return true;
    },
  );
});

Deno.test("runFlow() runs a YAML file with real commands and retries on virtual time", async () => {
  const dir = await project({
    "flow.yaml": `
defaults:
  timeout: 1m
tasks:
  flaky:
    retries: { attempts: 3, delay: 30s }
    output: json
    run: |
      if [ ! -e tried ]; then touch tried; echo "first try fails" >&2; exit 1; fi
      echo '{"ok": true}'
  after:
    needs: flaky
    run: echo \${{ tasks.flaky.result.ok }}
`,
  });
  const clock = new TestClock(0);
  const run = await runFlow("flow.yaml", { cwd: dir, clock });
  assertSucceeded(run);
  assertTaskAttempts(run, "flaky", 2);
  assertTaskResult(run, "flaky", { ok: true });
  assertTaskResult(run, "after", "true");
  assertLogged(run, "flaky", /first try fails/);
  assert.ok(clock.requested.includes(30_000), "the retry waited 30 virtual seconds");
});

Deno.test("runFlow() runs examples/etl.yaml: real commands, timeouts, retries", async () => {
  const dir = await project({});
  const clock = new TestClock(0);
  const run = await runFlow("examples/etl.yaml", { params: { out: `${dir}/report.json` }, clock });
  assertSucceeded(run);
  assertTaskAttempts(run, "rates", 2);
  assert.ok(clock.requested.includes(200), "the retry of rates waited 200 virtual ms");
  const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  assert.deepEqual(report, taskResult(run, "revenue"));
  // On a FakeClock the one-minute timeouts fire while the commands run.
  const fake = await runFlow("examples/etl.yaml", {
    params: { out: `${dir}/fake.json` },
    clock: new FakeClock(0),
  });
  assertFailed(fake, "regions");
  assert.match(fake.error!, /timed out after 1m/);
});

Deno.test("runFlow() runs a YAML plugin for real, or mocked with its rendered params", async () => {
  const file = "examples/chestra/workflow.yaml";
  const real = await runFlow(file);
  assertSucceeded(real);
  assertTaskResult(real, "my_task", { foo: "bar", upstream: ["start"] });
  assertLogged(real, "my_task", "my_plugin got foo=bar");

  const run = await runFlow(file, {
    plugins: {
      my_plugin: (params, ctx) => ({ params, inputs: ctx.inputs, dir: ctx.dir }),
    },
  });
  assertSucceeded(run);
  assertTaskResult(run, "my_task", {
    params: { foo: "bar" },
    inputs: { start: true },
    dir: `${Deno.cwd()}/examples/chestra`,
  });
});

Deno.test("runFlow() finds plugins in pluginSearch dirs; a mock gets rendered params", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const dir = await project({
    "times.ts": `import { definePlugin } from "${mod}";
export default definePlugin({
  name: "times",
  version: "1.0.0",
  description: "Multiplies.",
  params: { type: "object", properties: { n: { type: "number" }, by: { type: "number" } } },
  run: (p: { n: number; by: number }) => p.n * p.by,
});
`,
  });
  const yaml = `
params:
  by: { type: integer, default: 3 }
tasks:
  a:
    run: echo 5
    output: json
  product:
    needs: a
    uses: times
    with:
      n: \${{ tasks.a.result }}
      by: \${{ params.by }}
`;
  await assert.rejects(runFlow(yaml), /unknown plugin "times"/);
  const real = await runFlow(yaml, { pluginSearch: { dirs: [dir] } });
  assertTaskResult(real, "product", 15);
  const run = await runFlow(yaml, {
    params: { by: 4 },
    pluginSearch: { dirs: [dir] },
    plugins: { times: (params, ctx) => ({ params, inputs: ctx.inputs }) },
  });
  assertTaskResult(run, "product", { params: { n: 5, by: 4 }, inputs: { a: 5 } });
});

Deno.test("runFlow() mocks a plugin that is not installed", async () => {
  const yaml = `
tasks:
  build:
    run: echo 7
  notify:
    needs: build
    uses: slack@^2.0.0
    with:
      channel: "#ops"
`;
  await assert.rejects(runFlow(yaml), /Task "notify" uses unknown plugin "slack/);
  const calls: unknown[] = []; // a command's result is its output as text
  const run = await runFlow(yaml, {
    plugins: {
      slack: (params, ctx) => {
        calls.push({ params, inputs: ctx.inputs });
        return "sent";
      },
    },
  });
  assertSucceeded(run);
  assertTaskResult(run, "notify", "sent");
  assert.deepEqual(calls, [{ params: { channel: "#ops" }, inputs: { build: "7" } }]);
});

Deno.test("runFlow() runs a TypeScript flow file", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const dir = await project({
    "two.ts": `import { flow, task } from "${mod}";
const hello = task("hello", () => "hello");
export const first = flow("first", () => hello());
export const second = flow("second", () => ({ greeting: hello() }));
`,
  });
  const run = await runFlow("two.ts", { cwd: dir, flowName: "second", mocks: { hello: "hi" } });
  assertSucceeded(run);
  assert.deepEqual(run.result, { greeting: "hi" });
});

Deno.test("usesName() finds the plugin name in every form of uses", () => {
  assert.equal(usesName("http"), "http");
  assert.equal(usesName("http@^1.2"), "http");
  assert.equal(usesName("./plugins/x.ts"), "x");
  assert.equal(usesName("../lib/x/mod.ts"), "x");
  assert.equal(usesName("https://example.com/p/notify@2.0.0/mod.ts"), "notify");
  assert.equal(usesName("jsr:@scope/fetcher@1.0.0"), "fetcher");
  assert.equal(usesName("npm:left-pad@1.3.0"), "left-pad");
});

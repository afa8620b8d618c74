// YAML flows end to end: through `main(args, io)` as `orchestra run … --json`, or through
// executeFlow of the compiled definition where the test needs run options.
import assert from "node:assert/strict";
import type { RunEvent } from "../../src/core/events.ts";
import { main } from "../../src/cli/main.ts";
import { MemoryCache } from "../../src/engine/cache.ts";
import { executeFlow } from "../../src/engine/execute.ts";
import type { RunRecord, TaskRecord } from "../../src/engine/types.ts";
import { loadYamlFlow } from "../../src/loaders/yaml_loader.ts";
import { fakeIo } from "../cli/_io.ts";

const ROOT_DIR = await Deno.makeTempDir({ prefix: "orchestra_yaml_" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT_DIR, { recursive: true }));

/** Writes `files` into a new temporary directory and returns it. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: ROOT_DIR });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

/** The host environment a test's commands see: PATH and HOME, plus `extra`. */
function hostEnv(extra: Record<string, string> = {}): (name: string) => string | undefined {
  return (name) =>
    extra[name] ?? (["PATH", "HOME"].includes(name) ? Deno.env.get(name) : undefined);
}

/** Runs `orchestra run FILE --json -q …` in `dir`; returns the exit code, record and stderr. */
async function cli(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; record: RunRecord; err: string }> {
  const io = fakeIo({ cwd: dir });
  const host = hostEnv({ NO_COLOR: "1", ...env });
  io.env = host;
  const code = await main(["run", ...args, "--json", "-q"], io);
  return { code, record: io.out ? JSON.parse(io.out) : undefined as never, err: io.err };
}

function byId(record: RunRecord): Record<string, TaskRecord> {
  return Object.fromEntries(record.tasks.map((t) => [t.id, t]));
}

/** Loads `file` in `dir` (which must be valid) and runs it with executeFlow. */
async function execute(
  dir: string,
  file: string,
  params: Record<string, unknown> = {},
  options: Parameters<typeof executeFlow>[2] = {},
): Promise<RunRecord> {
  const { def, graph } = await loadYamlFlow(file, dir, { env: hostEnv() });
  assert.deepEqual(graph.issues, []);
  return await executeFlow(def, params, options);
}

Deno.test("tasks as a map, needs as a string and as a list", async () => {
  const dir = await project({
    "flow.yaml": `
tasks:
  a:
    run: echo 1
    output: json
  b:
    needs: a
    run: echo 2
    output: json
  c:
    needs: [a, b]
    env:
      A: \${{ tasks.a.result }}
      B: \${{ tasks.b.result }}
    run: echo $((A + B))
`,
  });
  const { code, record, err } = await cli(dir, ["flow.yaml"]);
  assert.equal(code, 0, err);
  assert.equal(record.flow, "flow");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status, t.result]), [
    ["a", "succeeded", 1],
    ["b", "succeeded", 2],
    ["c", "succeeded", "3"],
  ]);
  assert.deepEqual(record.result, { c: "3" });
});

Deno.test("tasks as a list, identified by id or by name", async () => {
  const dir = await project({
    "list.yaml": `
name: listed
tasks:
  - id: first
    run: echo one
  - name: second
    needs: first
    run: echo \${{ tasks.first.result }} two
`,
  });
  const { code, record, err } = await cli(dir, ["list.yaml"]);
  assert.equal(code, 0, err);
  assert.equal(record.flow, "listed");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.name, t.result]), [
    ["first", "first", "one"],
    ["second", "second", "one two"],
  ]);
});

Deno.test("a shell task's result is its stdout as text, trimmed, unless it asks for JSON", async () => {
  const dir = await project({
    "results.yaml": `
tasks:
  json:
    output: json
    run: >-
      printf '  {"a": [1, 2], "b": null}  \\n\\n'
  number:
    run: echo 42
  number_json:
    output: json
    run: echo 42
  boolean:
    run: echo true
  text:
    run: printf '  two words \\n'
  almost_json:
    run: >-
      echo '{"a": 1'
  empty:
    run: printf '\\n  \\n'
  empty_json:
    output: json
    run: "true"
  check:
    needs: boolean
    if: \${{ tasks.boolean.result == 'true' }}
    run: echo the text "true" equals 'true'
`,
  });
  const { code, record, err } = await cli(dir, ["results.yaml"]);
  assert.equal(code, 0, err);
  const t = byId(record);
  assert.deepEqual(t.json.result, { a: [1, 2], b: null });
  assert.equal(t.number.result, "42");
  assert.equal(t.number_json.result, 42);
  assert.equal(t.boolean.result, "true");
  assert.equal(t.text.result, "two words");
  assert.equal(t.almost_json.result, '{"a": 1');
  assert.equal(t.empty.result, "");
  assert.equal(t.empty_json.result, null);
  assert.equal(t.check.status, "succeeded");
});

Deno.test("output: json on output that is not JSON fails the task and says so", async () => {
  const dir = await project({
    "bad_json.yaml": `
tasks:
  almost:
    output: json
    run: >-
      echo '{"a": 1'
`,
  });
  const { code, record } = await cli(dir, ["bad_json.yaml"]);
  assert.equal(code, 1);
  assert.match(byId(record).almost.error!, /has `output: json`, but its output is not JSON/);
});

Deno.test("foreach over an expression and over a literal list, with item and index", async () => {
  const dir = await project({
    "each.yaml": `
tasks:
  list:
    run: echo '["x", "y", "z"]'
    output: json
  upper:
    needs: list
    foreach: \${{ tasks.list.result }}
    run: echo \${{ upper(item) }}\${{ index }}
  literal:
    foreach: [1, two, { k: 3 }, [4]]
    output: json
    run: echo \${{ toJSON(item) }}
  typed:
    foreach: [1, 2]
    output: json
    run: echo \${{ item > 1 }}
`,
  });
  const { code, record, err } = await cli(dir, ["each.yaml"]);
  assert.equal(code, 0, err);
  const t = byId(record);
  // The group's entry carries the array; the items follow as x[0], x[1], …
  assert.deepEqual(t.upper.result, ["X0", "Y1", "Z2"]);
  assert.equal(t.upper.items, 3);
  assert.deepEqual(
    record.tasks.filter((r) => r.group === "upper").map((r) => [r.id, r.name, r.result]),
    [["upper[0]", "upper", "X0"], ["upper[1]", "upper", "Y1"], ["upper[2]", "upper", "Z2"]],
  );
  // Literal items keep their YAML types: numbers, strings, mappings, lists.
  assert.deepEqual(t.literal.result, [1, "two", { k: 3 }, [4]]);
  assert.deepEqual(t.typed.result, [false, true]);
});

Deno.test("foreach: a list that is not a list fails the task with what it got", async () => {
  const dir = await project({
    "bad_each.yaml": `
tasks:
  one:
    run: echo 5
    output: json
  each:
    needs: one
    foreach: \${{ tasks.one.result }}
    run: echo \${{ item }}
`,
  });
  const { code, record } = await cli(dir, ["bad_each.yaml"]);
  assert.equal(code, 1);
  assert.match(byId(record).each.error!, /foreach of task "each" must give a list, got number 5/);
});

Deno.test("foreach with concurrency runs at most that many items at once", async () => {
  const dir = await project({
    "limited.yaml": `
tasks:
  each:
    foreach: [1, 2, 3, 4, 5, 6]
    concurrency: 2
    output: json
    run: sleep 0.05; echo \${{ item }}
`,
  });
  let running = 0;
  let most = 0;
  const onEvent = (e: RunEvent) => {
    if (!("taskId" in e) || !e.taskId.startsWith("each[")) return;
    if (e.type === "task.started") most = Math.max(most, ++running);
    if (e.type === "task.succeeded" || e.type === "task.failed") running--;
  };
  const record = await execute(dir, "limited.yaml", {}, { onEvent });
  assert.equal(record.status, "succeeded");
  assert.deepEqual(byId(record).each.result, [1, 2, 3, 4, 5, 6]);
  assert.equal(most, 2);
});

Deno.test("if: false skips the task with its reason, and its dependents too", async () => {
  const dir = await project({
    "skip.yaml": `
params:
  on: { type: boolean, default: false }
tasks:
  off:
    if: false
    run: echo never
  after:
    needs: off
    run: echo never either
  param:
    if: \${{ params.on }}
    run: echo never
  other:
    run: echo runs
`,
  });
  const { code, record, err } = await cli(dir, ["skip.yaml"]);
  assert.equal(code, 0, err);
  const t = byId(record);
  assert.equal(t.off.status, "skipped");
  assert.equal(t.off.reason, 'condition "false" is false');
  assert.equal(t.after.status, "skipped");
  assert.equal(t.after.reason, 'condition "false" is false');
  assert.equal(t.param.reason, 'condition "params.on" is false');
  assert.equal(t.other.result, "runs");
  const on = await cli(dir, ["skip.yaml", "-p", "on=true"]);
  assert.equal(byId(on.record).param.status, "succeeded");
});

Deno.test("if: failure() runs only after a failure; success() only without one", async () => {
  const dir = await project({
    "failure.yaml": `
params:
  fail: { type: boolean, default: false }
tasks:
  build:
    run: if [ \${{ params.fail }} = true ]; then exit 1; fi
  notify:
    needs: build
    if: \${{ failure() }}
    run: echo told
  deploy:
    needs: build
    if: success()
    run: echo deployed
  mention:
    needs: build
    if: \${{ 'always()' != '' }}
    run: echo mentioned
`,
  });
  const ok = await cli(dir, ["failure.yaml"]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(byId(ok.record).notify.status, "skipped");
  assert.equal(byId(ok.record).notify.reason, 'condition "failure()" is false');
  assert.equal(byId(ok.record).deploy.status, "succeeded");

  const failed = await cli(dir, ["failure.yaml", "-p", "fail=true"]);
  assert.equal(failed.code, 1);
  const t = byId(failed.record);
  assert.equal(t.build.status, "failed");
  assert.equal(t.notify.result, "told");
  assert.equal(t.deploy.status, "skipped");
  // A status function named in a string is not called: the failure still skips the task.
  assert.equal(t.mention.status, "skipped");
  assert.equal(t.mention.reason, 'upstream "build" failed');
});

Deno.test("if: always() runs when the run is cancelled; other dependents do not", async () => {
  const dir = await project({
    "cancel.yaml": `
tasks:
  slow:
    run: sleep 30
  cleanup:
    needs: slow
    if: always()
    run: echo cleaned
  next:
    needs: slow
    run: echo never
`,
  });
  const controller = new AbortController();
  const started = Date.now();
  const record = await execute(dir, "cancel.yaml", {}, {
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === "task.started" && e.taskId === "slow") controller.abort(new Error("stop"));
    },
  });
  assert.ok(Date.now() - started < 10_000, "the sleep was stopped");
  assert.equal(record.status, "cancelled");
  const t = byId(record);
  assert.equal(t.slow.status, "cancelled");
  assert.equal(t.cleanup.status, "succeeded");
  assert.equal(t.cleanup.result, "cleaned");
  assert.equal(t.next.status, "cancelled");
});

Deno.test("continue-on-error: the flow succeeds, dependents run and see the failure", async () => {
  const dir = await project({
    "soft.yaml": `
tasks:
  lint:
    continue-on-error: true
    run: echo warnings >&2; exit 3
  build:
    needs: lint
    run: echo lint=\${{ tasks.lint.status }} result=\${{ toJSON(tasks.lint.result) }}
  gate:
    needs: lint
    if: success()
    run: echo passed
  alarm:
    needs: lint
    if: failure()
    run: echo alarm
`,
  });
  const { code, record, err } = await cli(dir, ["soft.yaml"]);
  assert.equal(code, 0, err);
  assert.equal(record.status, "succeeded");
  const t = byId(record);
  assert.equal(t.lint.status, "failed");
  assert.match(t.lint.error!, /command exited with code 3: warnings/);
  assert.equal(t.build.result, "lint=failed result=null");
  // As in GitHub Actions, a failure under continue-on-error counts as success.
  assert.equal(t.gate.result, "passed");
  assert.equal(t.alarm.status, "skipped");
});

Deno.test("outputs are computed from the result and read as tasks.X.outputs.NAME", async () => {
  const dir = await project({
    "outputs.yaml": `
tasks:
  stats:
    output: json
    run: >-
      echo '{"rows": [1, 2, 3], "name": "sales"}'
    outputs:
      count: \${{ length(result.rows) }}
      title: \${{ upper(result.name) }}
  report:
    needs: stats
    run: echo \${{ tasks.stats.outputs.title }} \${{ tasks.stats.outputs.count }}
`,
  });
  const { code, record, err } = await cli(dir, ["outputs.yaml"]);
  assert.equal(code, 0, err);
  assert.equal(byId(record).report.result, "SALES 3");
});

Deno.test("env of the flow and of the task, with expressions, reaches the command", async () => {
  const dir = await project({
    "env.yaml": `
params:
  n: { type: integer, default: 2 }
env:
  GREETING: hello \${{ params.n }}
  SHARED: flow
tasks:
  show:
    env:
      SHARED: task
      N: \${{ params.n }}
    run: echo "$GREETING|$SHARED|$((N * 2))|\${HOSTONLY:-unset}"
`,
  });
  const { code, record, err } = await cli(dir, ["env.yaml", "-p", "n=5"], { HOSTONLY: "x" });
  assert.equal(code, 0, err);
  // Host variables other than the base ones (PATH, HOME, …) are not passed on.
  assert.equal(byId(record).show.result, "hello 5|task|10|unset");
});

Deno.test("secrets.NAME reads the host environment; an unset secret fails with its name", async () => {
  const dir = await project({
    "secret.yaml": `
tasks:
  use:
    env:
      TOKEN: \${{ secrets.API_TOKEN }}
    run: echo "token=$TOKEN"
`,
  });
  const set = await cli(dir, ["secret.yaml"], { API_TOKEN: "s3cret" });
  assert.equal(set.code, 0, set.err);
  assert.equal(byId(set.record).use.result, "token=***", "the value is masked in the record");

  const unset = await cli(dir, ["secret.yaml"]);
  assert.equal(unset.code, 1);
  assert.match(
    byId(unset.record).use.error!,
    /Secret "API_TOKEN" of task "use" is not set: set it in the environment or in the secrets file/,
  );
});

Deno.test("working-directory is relative to the flow file; the default is its directory", async () => {
  const dir = await project({
    "flows/wd.yaml":
      "tasks:\n  here:\n    run: pwd\n  there:\n    working-directory: ../data\n    run: pwd\n",
    "data/.keep": "",
  });
  const { code, record, err } = await cli(dir, ["flows/wd.yaml"]);
  assert.equal(code, 0, err);
  const real = await Deno.realPath(dir);
  assert.equal(await Deno.realPath(String(byId(record).here.result)), `${real}/flows`);
  assert.equal(await Deno.realPath(String(byId(record).there.result)), `${real}/data`);
});

Deno.test("a timeout kills the shell task and the processes it started", async () => {
  const dir = await project({
    "timeout.yaml": `
tasks:
  hang:
    timeout: 300ms
    run: sleep 30 & echo $! > child.pid; sleep 30
`,
  });
  const started = Date.now();
  const { code, record } = await cli(dir, ["timeout.yaml"]);
  assert.ok(Date.now() - started < 10_000, "the run did not wait for sleep 30");
  assert.equal(code, 1);
  assert.equal(byId(record).hang.status, "failed");
  assert.match(byId(record).hang.error!, /timed out after 300ms/);
  // The background sleep (same process group) is gone too.
  const pid = Number((await Deno.readTextFile(`${dir}/child.pid`)).trim());
  assert.ok(pid > 0);
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      alive = !/\) [ZX] /.test(stat);
    } catch {
      alive = false;
    }
    if (alive) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(alive, false, `process ${pid} outlived the timeout`);
});

Deno.test("retries: a failing attempt is retried after the delay, with backoff", async () => {
  const dir = await project({
    "retry.yaml": `
tasks:
  flaky:
    retries: { attempts: 3, delay: 50ms, backoff: 2 }
    output: json
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
      if [ $n -lt 3 ]; then echo "attempt $n failed" >&2; exit 1; fi
      echo $n
`,
  });
  const delays: number[] = [];
  const record = await execute(dir, "retry.yaml", {}, {
    onEvent: (e) => {
      if (e.type === "task.retrying") delays.push(e.delayMs);
    },
  });
  assert.equal(record.status, "succeeded");
  assert.equal(byId(record).flaky.attempts, 3);
  assert.equal(byId(record).flaky.result, 3);
  assert.deepEqual(delays, [50, 100]);
});

Deno.test("cache: a second run with the same key reuses the result without running", async () => {
  const dir = await project({
    "cache.yaml": `
params:
  key: { type: string, default: a }
tasks:
  expensive:
    cache: { ttl: 1h, key: "\${{ params.key }}" }
    output: json
    run: echo x >> runs; wc -l < runs | tr -d ' '
`,
  });
  const cache = new MemoryCache();
  const first = await execute(dir, "cache.yaml", {}, { cache });
  const second = await execute(dir, "cache.yaml", {}, { cache });
  const other = await execute(dir, "cache.yaml", { key: "b" }, { cache });
  assert.equal(byId(first).expensive.status, "succeeded");
  assert.equal(byId(second).expensive.status, "cached");
  // An explicit key is hashed (it may hold argument values).
  assert.match(byId(second).expensive.cacheKey!, /^key:[0-9a-f]{32}$/);
  assert.equal(byId(second).expensive.result, 1);
  assert.equal(byId(other).expensive.result, 2);
  assert.equal((await Deno.readTextFile(`${dir}/runs`)).split("\n").length - 1, 2);
});

Deno.test("every value interpolated into run: is shell-quoted", async () => {
  const dir = await project({
    "quote.yaml": `
params:
  who: { type: string }
tasks:
  greet:
    run: printf '%s|' \${{ params.who }} \${{ format('{0} again', params.who) }}
  each:
    foreach: ["$(touch pwned_item)", "; touch pwned_item2"]
    run: printf '%s' \${{ item }}
`,
  });
  const evil = "x'; touch pwned #";
  const { code, record, err } = await cli(dir, ["quote.yaml", "-p", `who=${evil}`]);
  assert.equal(code, 0, err);
  assert.equal(byId(record).greet.result, `${evil}|${evil} again|`);
  assert.deepEqual(byId(record).each.result, ["$(touch pwned_item)", "; touch pwned_item2"]);
  for (const f of ["pwned", "pwned_item", "pwned_item2"]) {
    await assert.rejects(Deno.stat(`${dir}/${f}`), Deno.errors.NotFound);
  }
});

Deno.test("Chestra's form runs start → end; an unknown signal is an error (exit 2)", async () => {
  const dir = await project({
    "chestra.yaml": `
workflow:
  name: Signals
  tasks:
    - name: begin
      plugin: start
      outputs: [GO]
    - name: finish
      plugin: end
      inputs: [GO]
`,
    "typo.yaml": `
workflow:
  name: Signals
  tasks:
    - name: begin
      plugin: start
      outputs: [GO]
    - name: finish
      plugin: end
      inputs: [G0]
`,
  });
  const { code, record, err } = await cli(dir, ["chestra.yaml"]);
  assert.equal(code, 0, err);
  assert.equal(record.flow, "Signals");
  assert.deepEqual(record.tasks.map((t) => [t.id, t.status]), [
    ["begin", "succeeded"],
    ["finish", "succeeded"],
  ]);
  assert.deepEqual(record.result, { finish: { begin: true } });

  const typo = await cli(dir, ["typo.yaml"]);
  assert.equal(typo.code, 2);
  assert.match(
    typo.err,
    /typo\.yaml:10:16: Task "finish" waits for signal "G0", which no task outputs \(did you mean "GO"\?\)/,
  );
});

Deno.test("templates from an included file: fields merged, the task's own win", async () => {
  const dir = await project({
    "shared/steps.yaml": `
templates:
  shout:
    env: { WORD: template, LEVEL: loud }
    run: echo "$WORD $LEVEL"
    timeout: 5s
`,
    "main.yaml": `
include: shared/steps.yaml
templates:
  local:
    run: echo local
tasks:
  a:
    extends: shout
  b:
    extends: shout
    env: { WORD: task }
  c:
    extends: local
`,
  });
  const { code, record, err } = await cli(dir, ["main.yaml"]);
  assert.equal(code, 0, err);
  const t = byId(record);
  assert.equal(t.a.result, "template loud");
  assert.equal(t.b.result, "task loud");
  assert.equal(t.c.result, "local");
  const { graph } = await loadYamlFlow("main.yaml", dir);
  assert.equal(graph.nodes.find((n) => n.id === "a")!.config.timeoutMs, 5000);
});

Deno.test("params from the command line are converted and checked against their types", async () => {
  const dir = await project({
    "params.yaml": `
params:
  count: { type: integer, required: true }
  mode: { type: string, enum: [fast, slow], default: fast }
  dry: { type: boolean, default: false }
tasks:
  show:
    output: json
    run: echo \${{ format('[{0}, "{1}", {2}]', params.count, params.mode, params.dry) }}
`,
  });
  const ok = await cli(dir, ["params.yaml", "-p", "count=3", "-p", "dry=true"]);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(byId(ok.record).show.result, [3, "fast", true]);

  const bad = await cli(dir, ["params.yaml", "-p", "count=three", "-p", "mode=medium"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Param "count": "three" is not an integer/);
  assert.match(bad.err, /Param "mode" must be one of "fast", "slow", got "medium"/);
  const missing = await cli(dir, ["params.yaml"]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /Missing required param "count"/);
});

Deno.test("two runs of one compiled flow at once each see their own params in conditions", async () => {
  const dir = await project({
    "twice.yaml": `
params:
  go: { type: boolean }
tasks:
  first:
    run: sleep 0.05
  gated:
    needs: first
    if: params.go
    run: echo went
`,
  });
  const { def } = await loadYamlFlow("twice.yaml", dir, { env: hostEnv() });
  const [yes, no] = await Promise.all([
    executeFlow(def, { go: true }),
    executeFlow(def, { go: false }),
  ]);
  assert.equal(byId(yes).gated.status, "succeeded");
  assert.equal(byId(no).gated.status, "skipped");
});

Deno.test("a shell task asks for run of sh: a ceiling without it refuses the flow", async () => {
  const dir = await project({
    "ceiling.yaml": "permissions: { read: [./data] }\ntasks:\n  a:\n    run: echo hi\n",
    "allowed.yaml": "permissions: { run: [sh] }\ntasks:\n  a:\n    run: echo hi\n",
  });
  const refused = await cli(dir, ["ceiling.yaml"]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /Task "a" .*run "sh".*ceiling/);
  const allowed = await cli(dir, ["allowed.yaml"]);
  assert.equal(allowed.code, 0, allowed.err);
  assert.equal(byId(allowed.record).a.result, "hi");
});

Deno.test("a shell task gets the host variables it was granted, and no others", async () => {
  const dir = await project({
    "granted.yaml": `
tasks:
  show:
    permissions: { env: [GRANTED_ONE, "GRANTED_P_*"] }
    run: echo "$GRANTED_ONE|$GRANTED_P_X|\${NOT_GRANTED:-unset}"
`,
  });
  // A wildcard is matched against the process's variable names.
  Deno.env.set("GRANTED_P_X", "x");
  try {
    const { code, record, err } = await cli(dir, ["granted.yaml"], {
      GRANTED_ONE: "1",
      GRANTED_P_X: "x",
      NOT_GRANTED: "no",
    });
    assert.equal(code, 0, err);
    assert.equal(byId(record).show.result, "1|x|unset");
  } finally {
    Deno.env.delete("GRANTED_P_X");
  }
});

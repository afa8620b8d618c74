// The YAML keys orchestra serve reads: `schedule:` and GitHub's `on: schedule:`, `handlers:`,
// and the `${{ event }}` context (a webhook's JSON body).
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { loadYamlFlowText } from "../../src/loaders/yaml_loader.ts";
import { fakeIo } from "../cli/_io.ts";

const DIR = await Deno.makeTempDir({ prefix: "orchestra_serve_keys_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

async function load(text: string) {
  return await loadYamlFlowText(text, `${DIR}/flow.yaml`, { env: () => undefined });
}

async function run(text: string, args: string[] = []) {
  const file = `${DIR}/${crypto.randomUUID()}.yaml`;
  await Deno.writeTextFile(file, text);
  const io = fakeIo({ cwd: DIR });
  io.env = (n) =>
    n === "NO_COLOR" ? "1" : ["PATH", "HOME"].includes(n) ? Deno.env.get(n) : undefined;
  const code = await main(
    ["run", file, "--json", "-q", "--state-dir", `${DIR}/state`, ...args],
    io,
  );
  return { code, record: code < 2 ? JSON.parse(io.out) : undefined, err: io.err };
}

Deno.test("YAML schedule: and on: schedule: become the flow's schedule option", async () => {
  const { def, graph } = await load(`
name: nightly
params:
  region: { type: string, default: us }
schedule:
  - cron: "0 2 * * *"
    timezone: Europe/Berlin
    params: { region: eu }
    catchup: { window: 2h, policy: latest }
    overlap: buffer-one
tasks:
  a: { run: echo a }
`);
  assert.deepEqual(graph.issues, []);
  assert.deepEqual((def.options as { schedule?: unknown }).schedule, [
    {
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      params: { region: "eu" },
      catchup: { window: "2h", policy: "latest" },
      overlap: "buffer-one",
    },
  ]);
  // A GitHub workflow's on.schedule (in UTC, as on GitHub).
  const github = await load(`
name: ci
on:
  schedule:
    - cron: "30 5 * * 1-5"
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo a
`);
  assert.deepEqual(github.graph.issues, []);
  assert.deepEqual((github.def.options as { schedule?: unknown }).schedule, [
    { cron: "30 5 * * 1-5" },
  ]);
});

Deno.test("YAML schedule: a bad cron, time zone or policy is an error at its file:line:col", async () => {
  const shown = (issues: { location?: { line: number; col: number }; message: string }[]) =>
    issues.map((i) => `${i.location?.line}:${i.location?.col} ${i.message}`);
  const zone = await load(`
name: nightly
schedule:
  - cron: "0 25 * * *"
    timezone: Europe/Bärlin
tasks:
  a: { run: echo a }
`);
  assert.deepEqual(shown(zone.graph.issues), [
    '4:11 schedule[0].cron "0 25 * * *" is not valid: Invalid value for hour: 25',
    '5:15 schedule[0].timezone "Europe/Bärlin" is not a time zone',
  ]);
  const policy = await load(`
name: nightly
schedule:
  - cron: "0 * * * *"
    overlap: queue
tasks:
  a: { run: echo a }
`);
  const [issue] = shown(policy.graph.issues);
  assert.match(issue, /^5:14 .*skip.*buffer-one.*allow.*cancel-other/);
});

Deno.test("${{ event }} reads the param event, declared for the flow when it reads it", async () => {
  const text = `
name: hook
params:
  branch: { type: string, default: main }
tasks:
  greet:
    run: echo \${{ event.action }} on \${{ params.branch }}
`;
  const { graph } = await load(text);
  assert.deepEqual(graph.issues, []);
  assert.equal((graph.params?.event as { type: string }).type, "object");
  const withEvent = await run(text, ["-p", 'event={"action":"opened"}']);
  assert.equal(withEvent.code, 0, withEvent.err);
  assert.equal(withEvent.record.tasks[0].result, "opened on main");
  const without = await run(text);
  assert.equal(without.record.tasks[0].result, "on main", "no event: {}, so event.action is null");
});

Deno.test("handlers: failure or success runs after every task, exit runs last; neither is the result", async () => {
  const text = `
name: handled
params:
  fail: { type: boolean, default: false }
tasks:
  work:
    run: test \${{ params.fail }} = false && echo 7
handlers:
  failure: { run: echo failed }
  success: { run: echo fine }
  exit: { run: echo bye }
`;
  const ok = await run(text);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(ok.record.result, { work: "7" });
  const status = (r: { tasks: { id: string; status: string }[] }) =>
    Object.fromEntries(r.tasks.map((t) => [t.id, t.status]));
  assert.deepEqual(status(ok.record), {
    work: "succeeded",
    "on-failure": "skipped",
    "on-success": "succeeded",
    "on-exit": "succeeded",
  });
  const failed = await run(text, ["-p", "fail=true"]);
  assert.equal(failed.code, 1);
  assert.equal(
    failed.record.status,
    "failed",
    "a handler that succeeds does not make the run succeed",
  );
  assert.deepEqual(status(failed.record), {
    work: "failed",
    "on-failure": "succeeded",
    "on-success": "skipped",
    "on-exit": "succeeded",
  });
});

Deno.test("handlers: needs or if in a handler, or a task named like one, is an error", async () => {
  const { graph } = await load(`
name: handled
tasks:
  on-success: { run: echo a }
handlers:
  failure: { run: echo x, needs: [on-success], if: always() }
  success: { run: echo y }
`);
  const messages = graph.issues.map((i) => i.message);
  assert.ok(
    messages.includes('Task "on-success" is the name of the success handler'),
    messages.join("\n"),
  );
  assert.ok(messages.some((m) => /failure handler cannot have `needs`/.test(m)));
  assert.ok(messages.some((m) => /failure handler cannot have `if`/.test(m)));
});

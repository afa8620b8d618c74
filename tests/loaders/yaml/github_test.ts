// A GitHub Actions workflow's shell jobs, run as on a runner (issue 15, item 4).
import assert from "node:assert/strict";
import { loadYamlFlowText } from "../../../src/loaders/yaml_loader.ts";
import { checkCron } from "../../../src/loaders/yaml/cron.ts";
import { orchestra, problems, runYaml } from "./_flow.ts";

const WORKFLOW = `
name: build
on:
  pull_request:
  workflow_dispatch:
    inputs:
      target: { description: What to build, required: true, type: string }
      debug: { type: boolean, default: "false" }
      level: { type: choice, options: [low, high], default: low }
      count: { type: number, default: "2" }
  schedule:
    - cron: "0 3 * * *"
env:
  GREETING: hello
jobs:
  compile:
    name: Compile it
    runs-on: [self-hosted, linux]
    env:
      WHO: \${{ inputs.target }}
    outputs:
      artifact: \${{ steps.pack.outputs.file }}
    steps:
      - run: echo "$GREETING $WHO" && [ "$(basename "$SHELL_NAME")" != x ]
        env: { SHELL_NAME: bash }
      - id: pack
        name: Pack
        run: |
          echo "file=\${{ inputs.target }}-\${{ inputs.count }}.tar" >> "$GITHUB_OUTPUT"
          set -o pipefail 2>/dev/null && echo "bash -e ran this"
  test:
    needs: compile
    if: \${{ inputs.level == 'high' || !inputs.debug }}
    steps:
      - run: echo testing \${{ needs.compile.outputs.artifact }}
`;

Deno.test("a workflow's jobs are tasks; steps run one after the other in bash -e", async () => {
  const { code, err, tasks } = await runYaml(WORKFLOW, ["-p", "target=app"]);
  assert.equal(code, 0, err);
  assert.equal(tasks.compile.name, "Compile it");
  assert.deepEqual(tasks.compile.result, { artifact: "app-2.tar" });
  const logs = tasks.compile.logs!.map((l) => l.message);
  const first = logs.indexOf("hello app");
  const second = logs.indexOf("bash -e ran this");
  assert.ok(first >= 0 && second > first, logs.join("\n"));
  assert.ok(tasks.test.logs!.some((l) => l.message === "testing app-2.tar"));
});

Deno.test("workflow_dispatch inputs are params; schedule is the flow's; runs-on is noted", async () => {
  const { graph } = await loadYamlFlowText(WORKFLOW, "ci.yaml");
  assert.deepEqual(graph.issues, []);
  assert.deepEqual(graph.params, {
    target: { type: "string", description: "What to build", required: true },
    debug: { type: "boolean", default: false },
    level: { type: "string", default: "low", enum: ["low", "high"] },
    count: { type: "number", default: 2 },
  });
  assert.deepEqual(graph.schedules?.map((s) => s.cron), ["0 3 * * *"]);
  assert.deepEqual(graph.notes, [
    "on: pull_request is ignored: the flow runs when you run it (and on its schedule under " +
    "`orchestra serve`)",
    "runs-on (self-hosted + linux) is ignored: jobs run on this machine, one process per step",
  ]);
  const missing = await orchestra("run", WORKFLOW);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /Missing required param "target"/);
  const described = await orchestra("describe", WORKFLOW, ["--json"]);
  const doc = JSON.parse(described.out);
  assert.deepEqual(doc.schedules, ["0 3 * * *"]);
  assert.equal(doc.tasks[0].title, "Compile it");
});

Deno.test("a step that uses a GitHub action is refused, naming the step, with what to use", async () => {
  const text = await problems(`
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Set up Node
        uses: actions/setup-node@v4
        with: { node-version: 20 }
      - name: Something else
        uses: someone/deploy@v1
      - run: npm test
`);
  assert.match(
    text,
    /flow\.yaml:7:15: Step "1" of job "build" uses the GitHub action "actions\/checkout@v4", which cannot run here\n\s+hint: the flow runs in its own directory, where the files already are: remove the step/,
  );
  assert.match(
    text,
    /flow\.yaml:9:15: Step "Set up Node" of job "build" uses the GitHub action "actions\/setup-node@v4"[^\n]*\n\s+hint: tools come from this machine's PATH: install node here and remove the step/,
  );
  assert.match(
    text,
    /Step "Something else"[^\n]*\n\s+hint: replace it with a `run:` step, or use a plugin/,
  );
});

Deno.test("what a runner does and Orchestra does not is refused with what to do instead", async () => {
  const text = await problems(`
jobs:
  a:
    container: node:20
    services: { db: { image: postgres } }
    steps: [{ run: echo }]
  b:
    uses: org/repo/.github/workflows/x.yml@main
  c:
    runs-on: x
  d:
    steps:
      - run: echo
        shell: pwsh
on:
  schedule: [{ cron: "61 * * * *" }]
`);
  assert.match(
    text,
    /flow\.yaml:4:5: Job "a" asks for a container, which Orchestra does not start/,
  );
  assert.match(text, /flow\.yaml:5:5: Job "a" asks for service containers/);
  assert.match(text, /flow\.yaml:8:5: Job "b" calls the reusable workflow "org\/repo/);
  assert.match(text, /flow\.yaml:9:3: Job "c" has no steps/);
  assert.match(text, /Task "d": shell "pwsh" is not supported here/);
  assert.match(text, /on\.schedule\[0\]\.cron has an invalid minute "61": values are 0–59/);
});

Deno.test("GitHub's token scopes are noted and ignored; Deno's permissions are the ceiling", async () => {
  const scopes = await loadYamlFlowText(
    "permissions: { contents: read }\njobs:\n  a: { steps: [{ run: echo }] }\n",
    "f.yaml",
  );
  assert.deepEqual(scopes.graph.issues, []);
  assert.deepEqual(scopes.graph.notes, [
    "permissions (GitHub's token scopes: contents) are ignored",
  ]);
  const ceiling = await loadYamlFlowText(
    "permissions: { run: [sh] }\njobs:\n  a: { steps: [{ run: echo }] }\n",
    "f.yaml",
  );
  assert.match(
    ceiling.graph.issues.map((i) => i.message).join("\n"),
    /requests run "bash", beyond the flow's ceiling/,
  );
  const mixed = await problems(
    "permissions: { contents: read, net: true }\njobs:\n  a: { steps: [{ run: echo }] }\n",
  );
  assert.match(
    mixed,
    /permissions mixes GitHub's token scopes \(contents\) with Deno's permissions \(net\)/,
  );
});

Deno.test("a job's if: failure() runs after any upstream job failed; defaults.run applies", async () => {
  const { code, tasks } = await runYaml(
    `
defaults:
  run:
    shell: sh
    working-directory: sub
jobs:
  a:
    steps: [{ run: "pwd; exit 1" }]
  b:
    needs: a
    steps: [{ run: echo b }]
  notify:
    needs: b
    if: \${{ failure() }}
    steps: [{ run: "echo a=\${{ needs.b.result }}" }]
`,
    [],
    { "sub/.keep": "" },
  );
  assert.equal(code, 1);
  assert.ok(tasks.a.logs!.some((l) => l.message.endsWith("/sub")));
  assert.equal(tasks.b.status, "skipped");
  assert.equal(tasks.notify.status, "succeeded");
  assert.ok(tasks.notify.logs!.some((l) => l.message === "a=skipped"));
});

Deno.test("checkCron() accepts five fields with lists, ranges, steps and names", () => {
  for (const ok of ["* * * * *", "*/15 0-6 1,15 JAN-MAR mon-fri", "0 0 * * 7"]) {
    assert.equal(checkCron(ok), undefined, ok);
  }
  assert.match(checkCron("* * *")!, /five fields/);
  assert.match(checkCron("* 24 * * *")!, /hour "24"/);
  assert.match(checkCron("5-1 * * * *")!, /backwards/);
  assert.match(checkCron("*/0 * * * *")!, /step/);
});

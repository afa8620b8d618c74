// GitHub Actions' meaning for the words YAML flows borrow (issue 15, item 3): status functions
// over every ancestor, needs.X, timeout-minutes, steps and their files, names, item in env.
import assert from "node:assert/strict";
import { loadYamlFlowText } from "../../../src/loaders/yaml_loader.ts";
import { orchestra, problems, runYaml } from "./_flow.ts";

Deno.test("failure() and success() look at every task upstream, not only at needs", async () => {
  const { tasks } = await runYaml(`
tasks:
  a: { run: exit 1 }
  b: { needs: a, run: echo b }
  on_failure: { needs: b, if: "\${{ failure() }}", run: echo ran }
  on_success: { needs: b, if: "\${{ success() }}", run: echo ran }
  always: { needs: b, if: "\${{ always() }}", run: echo ran }
  soft: { continue-on-error: true, run: exit 1 }
  after_soft: { needs: soft, if: "\${{ failure() }}", run: echo ran }
`);
  assert.equal(tasks.b.status, "skipped");
  assert.equal(tasks.on_failure.status, "succeeded", "a failed → b skipped → failure() holds");
  assert.equal(tasks.on_success.status, "skipped");
  assert.equal(tasks.always.status, "succeeded");
  assert.equal(tasks.after_soft.status, "skipped", "continue-on-error counts as success");
});

Deno.test("needs.X.result is GitHub's word for the status; needs.X.outputs beside tasks.X", async () => {
  const { code, tasks, err } = await runYaml(`
tasks:
  ok:
    run: echo "version=1.2" >> "$GITHUB_OUTPUT"
  bad: { run: exit 3 }
  off: { if: false, run: echo never }
  soft: { run: exit 1, continue-on-error: true }
  report:
    needs: [ok, bad, off, soft]
    if: \${{ always() }}
    run: >-
      echo \${{ needs.ok.result }} \${{ needs.bad.result }} \${{ needs.off.result }}
      \${{ needs.soft.result }} \${{ tasks.soft.status }}
      \${{ needs.ok.outputs.version }} \${{ tasks.ok.outputs.version == '1.2' }}
`);
  assert.equal(code, 1, err);
  assert.equal(tasks.report.result, "success failure skipped success failed 1.2 true");
});

Deno.test("needs.X of a task that is not a direct need is refused with the word that works", async () => {
  const text = await problems(`
tasks:
  a: { run: echo a }
  b: { needs: a, run: echo b }
  c: { needs: b, run: "echo \${{ needs.a.result }}" }
`);
  assert.match(text, /flow\.yaml:5:33: Task "c" reads needs\.a but does not need "a" directly/);
  assert.match(
    text,
    /hint: needs holds only the tasks in `needs:`: add "a" there, or read it as tasks\.a/,
  );
});

Deno.test("timeout-minutes is minutes; a bare number for a duration is refused with its unit", async () => {
  const { graph } = await loadYamlFlowText(
    "tasks:\n  a: { run: echo, timeout-minutes: 1.5 }\n  b: { run: echo, timeout: 90s }\n",
    "flow.yaml",
  );
  assert.deepEqual(graph.issues, []);
  assert.deepEqual(graph.nodes.map((n) => n.config.timeoutMs), [90_000, 90_000]);
  const text = await problems("tasks:\n  a: { run: echo, timeout: 5 }\n");
  assert.match(
    text,
    /flow\.yaml:2:28: tasks\.a\.timeout: a bare number has no unit: write "5m" for minutes or "5ms" for milliseconds \(or use timeout-minutes: 5\)/,
  );
  const both = await problems("tasks:\n  a: { run: echo, timeout: 5m, timeout-minutes: 5 }\n");
  assert.match(both, /Task "a" has both `timeout` and `timeout-minutes`/);
});

Deno.test("steps: $GITHUB_ENV and $GITHUB_PATH reach the steps after; $GITHUB_OUTPUT is steps.X.outputs", async () => {
  const { tasks, code, err } = await runYaml(`
tasks:
  build:
    outputs:
      where: \${{ steps.locate.outputs.dir }}
      greeting: \${{ steps.greet.outputs.text }}
    steps:
      - id: locate
        run: |
          mkdir -p bin && printf '#!/bin/sh\\necho from bin\\n' > bin/hi && chmod +x bin/hi
          echo "dir=$PWD" >> "$GITHUB_OUTPUT"
          echo "NAME=Ada" >> "$GITHUB_ENV"
          echo "$PWD/bin" >> "$GITHUB_PATH"
      - id: greet
        run: |
          {
            echo 'text<<EOF'
            echo "hello $NAME"
            hi
            echo EOF
          } >> "$GITHUB_OUTPUT"
`);
  assert.equal(code, 0, err);
  const result = tasks.build.result as { where: string; greeting: string };
  assert.equal(result.greeting, "hello Ada\nfrom bin");
  assert.match(result.where, /orchestra_yaml_/);
});

Deno.test("a step's files are read bounded: a FIFO or a summary over 1 MiB fails the task, never hangs it", async () => {
  const { tasks, code } = await runYaml(`
tasks:
  fifo:
    run: rm "$GITHUB_OUTPUT" && mkfifo "$GITHUB_OUTPUT"
  big:
    run: head -c 1100000 /dev/zero | tr '\\0' x >> "$GITHUB_STEP_SUMMARY"
  small:
    run: echo "## fine" >> "$GITHUB_STEP_SUMMARY"
`);
  assert.equal(code, 1);
  assert.equal(tasks.fifo.status, "failed");
  assert.match(
    tasks.fifo.error!,
    /replaced \$GITHUB_OUTPUT with something that is not a regular file/,
  );
  assert.equal(tasks.big.status, "failed");
  assert.match(tasks.big.error!, /more than 1 MiB to \$GITHUB_STEP_SUMMARY/);
  assert.equal(tasks.small.status, "succeeded");
});

Deno.test("steps: if: looks at the steps before; continue-on-error: outcome failure, conclusion success", async () => {
  const { tasks, code, err } = await runYaml(`
tasks:
  job:
    outputs:
      seen: \${{ steps.flaky.outcome }}/\${{ steps.flaky.conclusion }}/\${{ steps.skipped.outcome }}
    steps:
      - id: flaky
        continue-on-error: true
        run: exit 1
      - id: skipped
        if: \${{ failure() }}
        run: echo not reached, the failure was allowed
      - name: always runs
        if: \${{ always() }}
        run: echo "PATH has $(echo $PATH | cut -c1-1)"
`);
  assert.equal(code, 0, err);
  assert.deepEqual(tasks.job.result, { seen: "failure/success/skipped" });
  const logs = tasks.job.logs!.map((l) => l.message);
  assert.ok(
    logs.includes("skipped Run echo not reached, the failure was allowed (step 2 of 3)"),
    logs.join("\n"),
  );
  assert.ok(logs.includes("▶ always runs (step 3 of 3)"), logs.join("\n"));
});

Deno.test("item and index in a foreach task's env: validate knows what run knows", async () => {
  const text = `
tasks:
  each:
    foreach: [a, b]
    env:
      ITEM: \${{ item }}
      AT: \${{ index }}
    run: echo "$ITEM@$AT"
`;
  const valid = await orchestra("validate", text);
  assert.equal(valid.code, 0, valid.err);
  const { tasks, code, err } = await runYaml(text);
  assert.equal(code, 0, err);
  assert.deepEqual(tasks.each.result, ["a@0", "b@1"]);
});

Deno.test("name: is the task's display name, in the record and in describe", async () => {
  const text = "tasks:\n  build:\n    name: Build the app\n    run: echo ok\n";
  const { tasks } = await runYaml(text);
  assert.equal(tasks.build.name, "Build the app");
  const described = await orchestra("describe", text);
  assert.match(described.out, /Names:\n {2}build: Build the app/);
  const listed = await runYaml("tasks:\n  - name: only\n    run: echo ok\n");
  assert.equal(listed.tasks.only.name, "only", "in a list without id, name is the id");
});

Deno.test("a name's ${{ }} is rendered: params when the task is called, a leg's matrix values", async () => {
  const text = `
params:
  who: { type: string, default: Ada }
tasks:
  hi:
    name: Greet \${{ params.who }}
    run: echo hi
  build:
    name: Build on \${{ matrix.os }}
    strategy: { matrix: { os: [linux, mac] } }
    run: echo \${{ matrix.os }}
  plain:
    name: Test
    strategy: { matrix: { os: [linux] } }
    run: echo ok
`;
  const { tasks, code, err } = await runYaml(text, ["-p", "who=Bob"]);
  assert.equal(code, 0, err);
  assert.equal(tasks.hi.name, "Greet Bob");
  assert.equal(tasks["build[os=linux]"].name, "Build on linux");
  assert.equal(tasks["build[os=mac]"].name, "Build on mac");
  // A leg's name without ${{ }} gets its values after it, as on GitHub.
  assert.equal(tasks["plain[os=linux]"].name, "Test (linux)");
  const described = await orchestra("describe", text);
  assert.match(described.out, /build\[os=mac\]: Build on mac\n/);
});

Deno.test("every compiled task has an identity: its command, shell and env, or its plugin", async () => {
  const { def, graph } = await loadYamlFlowText(
    "tasks:\n  a: { run: 'echo ${{ run.id }}', env: { X: '1' } }\n  b: { uses: log, with: { message: hi } }\n",
    "flow.yaml",
  );
  assert.deepEqual(graph.issues, []);
  const seen: Record<string, string | undefined> = {};
  const f = {
    runId: "r",
    flow: "f",
    call: (d: { options: { name: string }; identity?: string }) => {
      seen[d.options.name] = d.identity;
    },
    map: () => {},
  };
  (def.body as (f: unknown, p: unknown) => unknown)(f, {});
  assert.equal(
    seen.a,
    '{"env":{"X":"1"},"output":"text","run":"echo ${{ run.id }}","shell":"sh -c","workdir":null}',
  );
  assert.match(seen.b!, /^\{"env":\{\},"uses":"log@\d+\.\d+\.\d+","with":\{"message":"hi"\}\}$/);
});

Deno.test("a param's default outside its enum, or of another type, is refused by validate where it is", async () => {
  const text = await problems(`
params:
  mode: { type: string, enum: [fast, slow], default: medium }
  n: { type: integer, default: two }
  level: { type: integer, enum: [1, "2"] }
tasks:
  a: { run: "echo \${{ params.mode }} \${{ params.n }} \${{ params.level }}" }
`);
  assert.match(
    text,
    /flow\.yaml:3:54: Param "mode": default "medium" is not one of its enum values \("fast", "slow"\)/,
  );
  assert.match(text, /flow\.yaml:4:32: Param "n": default "two" is not of type integer/);
  assert.match(text, /flow\.yaml:5:37: Param "level": enum value "2" is not of type integer/);
});

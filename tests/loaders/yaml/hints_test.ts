// Hints that translate (issue 15, item 5): where a word from GitHub Actions (or another tool)
// is wrong here, the error names the word that is right.
import assert from "node:assert/strict";
import { problems } from "./_flow.ts";

Deno.test("a task's key from another vocabulary names the key that is right here", async () => {
  const text = await problems(`
tasks:
  a:
    run: echo a
  b:
    depends_on: [a]
    timeout_minutes: 5
    runs-on: ubuntu-latest
    matrix: { os: [linux] }
    command: echo b
`);
  assert.match(
    text,
    /Unknown key "depends_on" in tasks\.b \(did you mean "needs"\?\)\n\s+hint: `needs:` lists/,
  );
  assert.match(
    text,
    /Unknown key "timeout_minutes" in tasks\.b \(did you mean "timeout-minutes"\?\)/,
  );
  assert.match(
    text,
    /Unknown key "runs-on" in tasks\.b\n\s+hint: `runs-on` picks a GitHub runner; Orchestra runs tasks on this machine/,
  );
  assert.match(
    text,
    /Unknown key "matrix" in tasks\.b \(did you mean "strategy"\?\)\n\s+hint: a matrix goes under `strategy: \{ matrix: … \}`/,
  );
  assert.match(text, /Unknown key "command" in tasks\.b \(did you mean "run"\?\)/);
});

Deno.test("in a GitHub workflow, timeout is timeout-minutes and a job's commands are steps", async () => {
  const text = await problems(`
jobs:
  build:
    timeout: 10m
    run: make
    steps:
      - run: make
        timeout: 5m
        needs: x
`);
  assert.match(
    text,
    /Unknown key "timeout" in jobs\.build \(did you mean "timeout-minutes"\?\)\n\s+hint: a GitHub job's time limit is in minutes/,
  );
  assert.match(text, /Unknown key "run" in jobs\.build \(did you mean "steps"\?\)/);
  assert.match(
    text,
    /Unknown key "timeout" in jobs\.build\.steps\[0\] \(did you mean "timeout-minutes"\?\)/,
  );
  assert.match(
    text,
    /Unknown key "needs" in jobs\.build\.steps\[0\]\n\s+hint: steps run in order; `needs:` belongs to the job/,
  );
});

Deno.test("GitHub's contexts that do not exist here say what to use instead", async () => {
  const text = await problems(`
tasks:
  a:
    foreach: [1]
    run: echo \${{ github.run_id }} \${{ inputs.x }} \${{ vars.X }} \${{ matrix.os }}
  b:
    strategy: { matrix: { os: [linux] } }
    run: echo \${{ item }} \${{ steps.x.outputs.y }}
`);
  assert.match(
    text,
    /Orchestra has no "github" context\n\s+hint: use run\.id for github\.run_id, params\.<name>/,
  );
  assert.match(text, /"inputs" exists in GitHub workflow files\n\s+hint: use params\.<name>/);
  assert.match(text, /Orchestra has no "vars" context/);
  assert.match(
    text,
    /"matrix" is only available in a task with strategy\.matrix\n\s+hint: add `strategy: \{ matrix: … \}`, or for one list use `foreach:`/,
  );
  assert.match(
    text,
    /"item" is only available in a task with foreach\n\s+hint: a matrix leg reads its values as matrix\.<key>/,
  );
  assert.match(text, /"steps" is only available inside a task's steps/);
});

Deno.test('a key of one form in another never suggests itself ("tasks" beside workflow:)', async () => {
  const text = await problems(`
workflow:
  name: w
  tasks: [{ name: a, plugin: start }]
tasks:
  b: { run: echo }
`);
  assert.match(
    text,
    /Unknown key "tasks" in the file\n\s+hint: Chestra's tasks go under `workflow\.tasks`/,
  );
  assert.doesNotMatch(text, /did you mean "tasks"/);
  const both = await problems(
    "tasks:\n  a: { run: echo }\njobs:\n  b: { steps: [{ run: echo }] }\n",
  );
  assert.match(
    both,
    /Unknown key "jobs" in the file\n\s+hint: a file has either `tasks:` \(Orchestra's form\) or `jobs:`/,
  );
  const on = await problems("on: push\ntasks:\n  a: { run: echo }\n");
  assert.match(
    on,
    /Unknown key "on" in the file \(did you mean "schedule"\?\)\n\s+hint: `on:` belongs to a GitHub workflow file/,
  );
});

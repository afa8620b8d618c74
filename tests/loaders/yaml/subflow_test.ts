// YAML subflows: `uses: ./other.yaml` runs that file (relative to the flow file, compiled by
// the same compiler) with `with:` as its params; its tasks are the run's, under the task's id.
import assert from "node:assert/strict";
import { orchestra, runYaml } from "./_flow.ts";

const CHILD = `name: child
params:
  who: { type: string, required: true }
  times: { type: integer, default: 2 }
tasks:
  greet:
    run: echo "hello \${{ params.who }}"
  repeat:
    needs: greet
    output: json
    run: |
      echo "{\\"text\\": \\"\${{ tasks.greet.result }}\\", \\"times\\": \${{ params.times }}}"
`;

Deno.test("uses: ./child.yaml runs the child with with: as its params, its tasks under the task", async () => {
  const { code, err, record, tasks } = await runYaml(
    `name: parent
tasks:
  hi:
    uses: ./sub/child.yaml
    with: { who: Ada }
  after:
    needs: hi
    run: echo "\${{ tasks.hi.result.repeat.text }} x\${{ tasks.hi.result.repeat.times }}"
`,
    [],
    { "sub/child.yaml": CHILD },
  );
  assert.equal(code, 0, err);
  assert.deepEqual(record.tasks.map((t) => t.id), ["hi/greet", "hi/repeat", "hi", "after"]);
  assert.deepEqual(tasks["hi"].result, { repeat: { text: "hello Ada", times: 2 } });
  assert.equal(tasks["after"].result, "hello Ada x2");
});

Deno.test("a with: value that reads a task is rendered once it is known; needs: holds the child back", async () => {
  const { code, err, tasks, record } = await runYaml(
    `name: parent
tasks:
  name:
    run: echo Grace
  first:
    run: echo first
  hi:
    needs: [name, first]
    uses: ./child.yaml
    with:
      who: \${{ tasks.name.result }}
      times: 3
`,
    [],
    { "child.yaml": CHILD },
  );
  assert.equal(code, 0, err);
  assert.deepEqual(tasks["hi"].result, { repeat: { text: "hello Grace", times: 3 } });
  assert.equal(tasks["hi/with.who"].result, "Grace");
  const started = (id: string) => tasks[id].startedAt!;
  assert.ok(started("hi/greet") >= tasks["first"].finishedAt!, "needs: first holds the child back");
  assert.ok(record.tasks.findIndex((t) => t.id === "hi") > 0);
});

Deno.test("describe shows the child's tasks nested under the subflow task", async () => {
  const r = await orchestra(
    "describe",
    "name: parent\ntasks:\n  hi:\n    uses: ./child.yaml\n    with: { who: Ada }\n",
    [],
    {
      "child.yaml": CHILD,
    },
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\n {2}hi \(subflow "child"\)\s+hi\/repeat\s/);
  assert.match(r.out, /\n {4}hi\/greet\s+-\s/);
  assert.match(r.out, /\n {4}hi\/repeat\s+hi\/greet\s/);
  const g = await orchestra(
    "graph",
    "name: parent\ntasks:\n  hi:\n    uses: ./child.yaml\n    with: { who: Ada }\n",
    ["--format", "json"],
    {
      "child.yaml": CHILD,
    },
  );
  const json = JSON.parse(g.out);
  assert.deepEqual(
    json.tasks.map((
      t: { id: string; parent?: string; subflow?: string },
    ) => [t.id, t.parent ?? null, t.subflow ?? null]),
    [["hi/greet", "hi", null], ["hi/repeat", "hi", null], ["hi", null, "child"]],
  );
});

Deno.test("the child's params are checked at the with: key, its problems at its own file:line:col", async () => {
  const r = await orchestra(
    "validate",
    "name: parent\ntasks:\n  hi:\n    uses: ./child.yaml\n    with:\n      whom: Ada\n",
    [],
    { "child.yaml": CHILD + "  broken:\n    needs: nothing\n    run: echo\n" },
  );
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /flow\.yaml:6:7: Task "hi": flow child\.yaml has no param "whom"|child\.yaml:\d+:\d+: In subflow "hi"/,
  );
  assert.match(
    r.err,
    /child\.yaml:14:12: In subflow "hi" \(\S*child\.yaml\): Task "broken" needs unknown task "nothing"/,
  );
  const missing = await orchestra(
    "validate",
    "name: parent\ntasks:\n  hi:\n    uses: ./child.yaml\n    with:\n      whom: Ada\n",
    [],
    { "child.yaml": CHILD },
  );
  assert.match(
    missing.err,
    /flow\.yaml:6:7: Task "hi": flow \S*child\.yaml has no param "whom" \(did you mean "who"\?\)/,
  );
  assert.match(
    missing.err,
    /flow\.yaml:\d+:\d+: Task "hi": flow \S*child\.yaml needs param "who" \(string\)/,
  );
  const absent = await orchestra(
    "validate",
    "name: parent\ntasks:\n  hi:\n    uses: ./nope.yaml\n",
  );
  assert.match(absent.err, /flow\.yaml:4:11: Task "hi" uses flow "\.\/nope\.yaml": no such file/);
});

Deno.test("flows calling each other in a cycle are a validation error naming the chain", async () => {
  const r = await orchestra("validate", "name: a\ntasks:\n  call_b:\n    uses: ./b.yaml\n", [], {
    "b.yaml": "name: b\ntasks:\n  call_a:\n    uses: ./flow.yaml\n",
  });
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /b\.yaml:4:11: In subflow "call_b" \(\S*b\.yaml\): Task "call_a" uses flow "\.\/flow\.yaml": flows call each other in a cycle: \S*flow\.yaml → \S*b\.yaml → \S*flow\.yaml/,
  );
  const self = await orchestra("validate", "name: a\ntasks:\n  again:\n    uses: ./flow.yaml\n");
  assert.match(self.err, /flow\.yaml:4:11: .*cycle: \S*flow\.yaml → \S*flow\.yaml/);
});

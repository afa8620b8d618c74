// strategy.matrix as on GitHub, each leg a task of its own (issue 15, item 3).
import assert from "node:assert/strict";
import type { RunEvent } from "../../../src/core/events.ts";
import { executeFlow } from "../../../src/engine/execute.ts";
import { loadYamlFlowText } from "../../../src/loaders/yaml_loader.ts";
import { legId, matrixLegs } from "../../../src/loaders/yaml/matrix.ts";
import { problems, project, runYaml } from "./_flow.ts";

Deno.test("matrixLegs(): every combination, exclude before include, include extends or adds", () => {
  const r = matrixLegs({
    os: ["linux", "mac"],
    node: [18, 20],
    exclude: [{ os: "mac", node: 18 }],
    include: [{ node: 20, latest: true }, { os: "windows" }],
  });
  assert.ok("legs" in r);
  assert.deepEqual(r.legs, [
    { os: "linux", node: 18 },
    { os: "linux", node: 20, latest: true },
    { os: "mac", node: 20, latest: true },
    { os: "windows" },
  ]);
  assert.deepEqual(matrixLegs({ include: [{ a: 1 }, { a: 2 }] }), { legs: [{ a: 1 }, { a: 2 }] });
  const none = matrixLegs({ os: ["a"], exclude: [{ os: "a" }] });
  assert.ok("error" in none && none.error === "The matrix has no legs");
  const huge = matrixLegs({ a: [...Array(20).keys()], b: [...Array(20).keys()] });
  assert.ok("error" in huge && /400 legs, more than 256/.test(huge.error));
  assert.ok("error" in matrixLegs({ os: "linux" }));
});

Deno.test("legId(): the task's id with the leg's values, made safe and unique", () => {
  const taken = new Set<string>();
  assert.equal(
    legId("t", { os: "ubuntu latest", v: [1, 2] }, taken),
    "t[os=ubuntu_latest,v=_1_2_]",
  );
  assert.equal(
    legId("t", { os: "ubuntu latest", v: [1, 2] }, taken),
    "t[os=ubuntu_latest,v=_1_2_,leg=2]",
  );
});

Deno.test("each leg is a task; its values are matrix.X; dependents wait for every leg", async () => {
  const { code, err, tasks, record } = await runYaml(
    `
params:
  sizes: { type: array, default: [1, 2] }
tasks:
  t:
    strategy:
      matrix:
        size: \${{ params.sizes }}
        kind: [x]
    run: echo \${{ matrix.kind }}\${{ matrix.size }} \${{ strategy.job-index }}/\${{ strategy.job-total }}
  after:
    needs: t
    run: echo \${{ join(tasks.t.result, '+') }} \${{ needs.t.result }}
`,
    ["-p", "sizes=[3,4,5]"],
  );
  assert.equal(code, 0, err);
  assert.deepEqual(record.tasks.map((t) => t.id), [
    "t[size=3,kind=x]",
    "t[size=4,kind=x]",
    "t[size=5,kind=x]",
    "after",
  ]);
  assert.equal(tasks["t[size=4,kind=x]"].result, "x4 1/3");
  assert.equal(tasks.after.result, "x3 0/3+x4 1/3+x5 2/3 success");
});

Deno.test("max-parallel runs at most that many legs at once", async () => {
  const dir = await project({
    "flow.yaml": "tasks:\n  t:\n    strategy:\n      matrix: { n: [1, 2, 3, 4, 5] }\n" +
      "      max-parallel: 2\n    run: sleep 0.05\n",
  });
  const { def, graph } = await loadYamlFlowText(
    await Deno.readTextFile(`${dir}/flow.yaml`),
    `${dir}/flow.yaml`,
    {
      env: (n) => n === "PATH" ? Deno.env.get(n) : undefined,
    },
  );
  assert.deepEqual(graph.issues, []);
  let running = 0;
  let most = 0;
  const onEvent = (e: RunEvent) => {
    if (e.type === "task.started") most = Math.max(most, ++running);
    if (e.type === "task.succeeded" || e.type === "task.failed") running--;
  };
  const record = await executeFlow(def, {}, { onEvent });
  await Deno.remove(dir, { recursive: true });
  assert.equal(record.status, "succeeded", record.error);
  assert.equal(most, 2);
});

Deno.test("fail-fast stops the other legs; fail-fast: false lets them finish", async () => {
  const flow = (failFast: boolean) => `
tasks:
  t:
    strategy:
      matrix: { n: [1, 2, 3] }
      fail-fast: ${failFast}
      max-parallel: 1
    run: if [ \${{ matrix.n }} = 1 ]; then exit 1; fi; echo \${{ matrix.n }}
`;
  const fast = await runYaml(flow(true));
  assert.equal(fast.tasks["t[n=1]"].status, "failed");
  assert.equal(fast.tasks["t[n=2]"].status, "skipped");
  assert.match(fast.tasks["t[n=2]"].reason!, /upstream "t\[n=1\]" failed/);
  const slow = await runYaml(flow(false));
  assert.deepEqual(
    ["t[n=1]", "t[n=2]", "t[n=3]"].map((id) => slow.tasks[id].status),
    ["failed", "succeeded", "succeeded"],
  );
});

Deno.test("continue-on-error may read matrix values: an experimental leg's failure is allowed", async () => {
  const { code, err, tasks } = await runYaml(`
tasks:
  t:
    strategy:
      matrix:
        v: [stable, next]
        include: [{ v: next, experimental: true }]
    continue-on-error: \${{ matrix.experimental == true }}
    run: if [ \${{ matrix.v }} = next ]; then exit 1; fi; echo ok
  after:
    needs: t
    run: echo \${{ needs.t.result }}
`);
  assert.equal(code, 0, err);
  assert.equal(tasks["t[v=next,experimental=true]"].status, "failed");
  assert.equal(tasks.after.result, "success");
});

Deno.test("a matrix's mistakes are found when the flow is validated, where they are", async () => {
  const text = await problems(`
tasks:
  a:
    run: echo x
  b:
    run: echo b
  t:
    strategy:
      matrix: { os: [linux] }
    run: echo \${{ matrix.oss }}
  u:
    needs: a
    strategy:
      matrix:
        os: \${{ tasks.a.result }}
    run: echo
  v:
    strategy:
      matrix: { os: [a], exclude: [{ os: a }] }
    run: echo
  w:
    foreach: [1]
    strategy: { matrix: { os: [a] } }
    run: echo
  x:
    run: echo \${{ matrix.os }}
`);
  assert.match(text, /flow\.yaml:10:19: The matrix has no key "oss" \(did you mean "os"\?\)/);
  assert.match(
    text,
    /flow\.yaml:15:17: A matrix of task "u" reads tasks\.a, which is known only after the run started/,
  );
  assert.match(
    text,
    /hint: a matrix is expanded when the run starts, from literals and params; for a list a task computes, use `foreach:`/,
  );
  assert.match(text, /flow\.yaml:19:15: Task "v": The matrix has no legs/);
  assert.match(text, /flow\.yaml:22:5: Task "w" has both `foreach` and `strategy`/);
  assert.match(
    text,
    /flow\.yaml:26:19: "matrix" is only available in a task with strategy\.matrix/,
  );
});

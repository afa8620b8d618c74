// Subflows through the CLI, each command in its own process as a user runs them: a run whose
// child task fails is resumed, and the child's tasks that succeeded are not run again.
import assert from "node:assert/strict";
import { orchestraOutput, ROOT } from "../durability/_spawn.ts";
import { withState } from "./_io.ts";

async function runThenResume(dir: string, file: string) {
  const first = await orchestraOutput(["run", file, "--json", "--state-dir", `${dir}/state`]);
  assert.equal(first.code, 1, first.err);
  const record = JSON.parse(first.out);
  await Deno.writeTextFile(`${dir}/go`, "");
  const resumed = await orchestraOutput([
    "resume",
    record.runId,
    "--json",
    "--state-dir",
    `${dir}/state`,
  ]);
  return { record, resumed, log: await Deno.readTextFile(`${dir}/calls.log`) };
}

Deno.test("orchestra run then resume of a TS flow with a subflow: the child's done tasks are kept", async () => {
  await withState(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/child.ts`,
      `import { flow, task } from "${ROOT}/mod.ts";
const load = task({ name: "load", permissions: { write: ["${dir}/calls.log"] } }, async (day: string) => {
  await Deno.writeTextFile("${dir}/calls.log", \`load \${day}\\n\`, { append: true });
  return day.length;
});
const gate = task({ name: "gate", permissions: { read: ["${dir}/go"] } }, async (n: number) => {
  await Deno.stat("${dir}/go").catch(() => { throw new Error("not yet"); });
  return n * 10;
});
export const report = flow({ name: "report", params: { day: { type: "string", required: true } } },
  (_f, p) => ({ value: gate(load(p.day!)) }));
`,
    );
    await Deno.writeTextFile(
      `${dir}/flow.ts`,
      `import { flow } from "${ROOT}/mod.ts";
import { report } from "./child.ts";
export default flow("daily", () => report({ day: "monday" }));
`,
    );
    const { record, resumed, log } = await runThenResume(dir, `${dir}/flow.ts`);
    assert.deepEqual(
      record.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
      [["report/load", "succeeded"], ["report/gate", "failed"], ["report", "skipped"]],
    );
    assert.equal(resumed.code, 0, resumed.err);
    const done = JSON.parse(resumed.out);
    assert.equal(done.status, "succeeded");
    assert.deepEqual(done.result, { value: 60 });
    assert.equal(log, "load monday\n", "report/load ran once: resume restored it");
  });
});

Deno.test("orchestra run then resume of a YAML flow with uses: ./child.yaml", async () => {
  await withState(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/child.yaml`,
      `name: child
params:
  who: { type: string, required: true }
tasks:
  load:
    run: echo "load \${{ params.who }}" >> calls.log && echo \${{ params.who }}
  gate:
    needs: load
    run: test -e go && echo "gate \${{ tasks.load.result }}"
`,
    );
    await Deno.writeTextFile(
      `${dir}/flow.yaml`,
      `name: parent
tasks:
  hi:
    uses: ./child.yaml
    with: { who: Ada }
`,
    );
    const { record, resumed, log } = await runThenResume(dir, `${dir}/flow.yaml`);
    assert.deepEqual(
      record.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
      [["hi/load", "succeeded"], ["hi/gate", "failed"], ["hi", "skipped"]],
    );
    assert.equal(resumed.code, 0, resumed.err);
    const done = JSON.parse(resumed.out);
    assert.equal(done.status, "succeeded");
    assert.deepEqual(done.result, { hi: { gate: "gate Ada" } });
    assert.equal(log, "load Ada\n", "hi/load ran once: resume restored it");
  });
});

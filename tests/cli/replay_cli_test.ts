// Replay through the CLI: a run fails, its flow file is edited, and `resume --force` must not
// hand the old results to calls that changed (each command runs in its own process, as a user
// would run them, so the edited file is what resume imports).
import assert from "node:assert/strict";
import { orchestraOutput, ROOT } from "../durability/_spawn.ts";
import { withState } from "./_io.ts";

const HEAD = `import { flow, task } from "${ROOT}/mod.ts";
const load = task("load", async (log: string, what: string) => {
  await Deno.writeTextFile(log, \`load \${what}\\n\`, { append: true });
  return what;
});
const count = task("count", async (log: string) => {
  await Deno.writeTextFile(log, "count\\n", { append: true });
  return 3;
});
const gate = task("gate", async (marker: string, ..._inputs: unknown[]) => {
  await Deno.stat(marker).catch(() => { throw new Error("not yet"); });
  return "done";
});
const params = { log: { type: "string", required: true }, marker: { type: "string", required: true } } as const;
`;

async function edited(dir: string, v1: string, v2: string) {
  const file = `${dir}/flow.ts`;
  const log = `${dir}/calls.log`;
  const write = (body: string) =>
    Deno.writeTextFile(
      file,
      `${HEAD}export default flow({ name: "edited", sandbox: false, params }, (_f, p) => ${body});\n`,
    );
  await write(v1);
  const first = await orchestraOutput([
    "run",
    file,
    "--json",
    "--state-dir",
    dir,
    "-p",
    `log=${log}`,
    "-p",
    `marker=${dir}/go`,
  ]);
  assert.equal(first.code, 1, first.err);
  const runId = JSON.parse(first.out).runId as string;
  const before = await Deno.readTextFile(log);
  await write(v2);
  await Deno.writeTextFile(`${dir}/go`, "");
  const resumed = await orchestraOutput(["resume", runId, "--force", "--state-dir", dir]);
  return { resumed, before, after: await Deno.readTextFile(log) };
}

Deno.test("resume --force of a body that now calls a task with other arguments fails and names it", async () => {
  await withState(async (dir) => {
    const { resumed, before, after } = await edited(
      dir,
      'gate(p.marker, load(p.log, "users"), load(p.log, "orders"))',
      'gate(p.marker, load(p.log, "users"), load(p.log, "invoices"))',
    );
    assert.equal(resumed.code, 1, resumed.err);
    assert.match(
      resumed.err,
      /cannot be replayed: call "load#2" was called with different arguments: args\[1\] changed/,
    );
    assert.equal(after, before, "no task ran again: the old results were not restored");
  });
});

Deno.test("resume --force of a body that now calls its tasks in another order fails and names them", async () => {
  await withState(async (dir) => {
    const { resumed, after, before } = await edited(
      dir,
      'gate(p.marker, load(p.log, "users"), count(p.log))',
      '(() => { const c = count(p.log); return gate(p.marker, load(p.log, "users"), c); })()',
    );
    assert.equal(resumed.code, 1, resumed.err);
    assert.match(resumed.err, /the body called "count" where the run called "load"/);
    assert.equal(after, before);
  });
});

Deno.test("resume of the unchanged body restores the calls and runs the rest", async () => {
  await withState(async (dir) => {
    const body = 'gate(p.marker, load(p.log, "users"), load(p.log, "orders"))';
    const { resumed, after, before } = await edited(dir, body, body);
    assert.equal(resumed.code, 0, resumed.err);
    assert.equal(after, before, "the loads were restored, not run again");
  });
});

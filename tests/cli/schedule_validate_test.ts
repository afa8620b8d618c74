// A flow's schedule is checked where the flow is read: orchestra validate (and describe, run)
// reports what orchestra serve would refuse, for a TypeScript flow's schedule option as for
// YAML's schedule:, and orchestra schedules says each problem once.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "./_io.ts";

const TS_FLOW = `
import { flow, task } from "@orchestra/orchestra";
const hello = task("hello", (who: string) => "hello " + who);
export default flow({
  name: "nightly",
  params: { who: { type: "string" } },
  schedule: [
    { cron: "61 * * * *", timezone: "Mars/Olympus" },
    { cron: "0 2 * * *", overlap: "queue" },
    { cron: "0 3 * * *", params: { who: 7 } },
  ],
}, (f, p: { who: string }) => f.call(hello, [p.who]));
`;

async function inDir<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "orchestra_schedule_validate_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function orchestra(dir: string, args: string[]) {
  const io = fakeIo({ cwd: dir });
  const code = await main([...args, "--state-dir", `${dir}/.state`], io);
  return { code, out: io.out, err: io.err };
}

Deno.test("validate reports a TypeScript flow's schedule problems: cron, time zone, overlap, params", async () => {
  await inDir({ "nightly.ts": TS_FLOW }, async (dir) => {
    const { code, err } = await orchestra(dir, ["validate", "nightly.ts", "-p", "who=x"]);
    assert.equal(code, 2, err);
    assert.match(err, /schedule\[0\]\.cron "61 \* \* \* \*" is not valid/);
    assert.match(err, /schedule\[0\]\.timezone "Mars\/Olympus" is not a time zone/);
    assert.match(
      err,
      /schedule\[1\]\.overlap must be one of skip, buffer-one, allow, cancel-other/,
    );
    assert.match(err, /schedule\[2\]\.params: /);
    // Each is placed at the flow's definition.
    assert.match(err, /nightly\.ts:\d+:\d+: Flow "nightly" option schedule\[0\]\.cron/);
    // run refuses it the same way, before any task.
    const run = await orchestra(dir, ["run", "nightly.ts", "-p", "who=x"]);
    assert.equal(run.code, 2);
    assert.match(run.err, /schedule\[1\]\.overlap/);
  });
});

Deno.test("validate accepts a TypeScript flow's good schedule; schedules lists it", async () => {
  const good = TS_FLOW.replace(
    /schedule: \[[^\]]*\],/s,
    'schedule: [{ cron: "0 3 * * *", params: { who: "ops" } }],',
  );
  await inDir({ "nightly.ts": good }, async (dir) => {
    const v = await orchestra(dir, ["validate", "nightly.ts", "-p", "who=x"]);
    assert.equal(v.code, 0, v.err);
    const s = await orchestra(dir, ["schedules", ".", "--json", "--from", "2026-03-01T00:00:00Z"]);
    assert.equal(s.code, 0, s.err);
    const [one] = JSON.parse(s.out).schedules;
    assert.equal(one.id, "nightly:0");
    assert.equal(one.next[0], "2026-03-01T03:00:00.000Z");
  });
});

Deno.test("orchestra schedules says each problem of a TypeScript schedule once", async () => {
  await inDir({ "nightly.ts": TS_FLOW }, async (dir) => {
    const { code, err } = await orchestra(dir, ["schedules", "."]);
    assert.equal(code, 2);
    assert.equal(err.match(/schedule\[0\]\.cron/g)?.length, 1, err);
    assert.equal(err.match(/schedule\[2\]\.params/g)?.length, 1, err);
  });
});

Deno.test("validate reports a YAML schedule's params the flow refuses, at their line", async () => {
  const yaml = `name: nightly
params:
  who: { type: string }
schedule:
  - cron: "0 2 * * *"
    params: { who: 7 }
tasks:
  a:
    run: echo \${{ params.who }}
`;
  await inDir({ "nightly.yaml": yaml }, async (dir) => {
    const { code, err } = await orchestra(dir, ["validate", "nightly.yaml", "-p", "who=x"]);
    assert.equal(code, 2, err);
    assert.match(err, /nightly\.yaml:6:\d+: .*schedule\[0\]\.params: /);
  });
});

// `orchestra init`: a starter flow that runs at once, in TypeScript or YAML.
import assert from "node:assert/strict";
import { join } from "node:path";
import { schemaText } from "../../src/cli/commands/schema.ts";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "./_io.ts";

async function inDir(dir: string, args: string[]) {
  const io = fakeIo({ cwd: dir });
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

Deno.test("init writes flow.ts and a deno.json, and the flow runs at once", async () => {
  const dir = await Deno.makeTempDir();
  const init = await inDir(dir, ["init"]);
  assert.equal(init.code, 0, init.err);
  assert.match(init.out, /^Wrote flow\.ts, deno\.json\./);
  assert.match(init.out, /orchestra run flow\.ts/);
  const config = JSON.parse(await Deno.readTextFile(join(dir, "deno.json")));
  assert.equal(config.imports["@orchestra/orchestra"], "jsr:@orchestra/orchestra@^0.1.0");
  assert.deepEqual(config.unstable, ["worker-options"]);
  const run = await inDir(dir, ["run", "flow.ts", "-p", "who=Ada", "--json", "-q"]);
  assert.equal(run.code, 0, run.err);
  const doc = JSON.parse(run.out);
  assert.match(doc.result.message, /^HELLO, ADA! \(\d+ lines\)$/);
  assert.equal(doc.tasks.find((t: { id: string }) => t.id === "measure").status, "succeeded");
  assert.equal((await inDir(dir, ["validate", "flow.ts"])).code, 0);
});

Deno.test("init NAME --yaml writes NAME.yaml with the schema line and the schema beside it", async () => {
  const dir = await Deno.makeTempDir();
  const init = await inDir(dir, ["init", "etl", "--yaml"]);
  assert.equal(init.code, 0, init.err);
  const text = await Deno.readTextFile(join(dir, "etl.yaml"));
  assert.match(text, /^# yaml-language-server: \$schema=\.\/flow\.schema\.json\n/);
  assert.match(text, /^name: etl$/m);
  assert.equal(await Deno.readTextFile(join(dir, "flow.schema.json")), schemaText());
  await assert.rejects(Deno.stat(join(dir, "deno.json")), Deno.errors.NotFound);
  const run = await inDir(dir, ["run", "etl.yaml", "-p", "who=Ada", "--json", "-q"]);
  assert.equal(run.code, 0, run.err);
  assert.equal(JSON.parse(run.out).result.done, "HELLO, ADA");
});

Deno.test("init keeps existing files unless --force, and checks the name", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "deno.json"), '{ "imports": {} }\n');
  const first = await inDir(dir, ["init", "etl"]);
  assert.equal(first.code, 0, first.err);
  assert.match(
    first.out,
    /does not map @orchestra\/orchestra; .* deno add jsr:@orchestra\/orchestra/,
  );
  assert.match(first.out, /add "unstable": \["worker-options"\] to deno\.json/);
  assert.equal(await Deno.readTextFile(join(dir, "deno.json")), '{ "imports": {} }\n');
  await Deno.writeTextFile(join(dir, "etl.ts"), "// mine\n");
  const again = await inDir(dir, ["init", "etl"]);
  assert.equal(again.code, 2);
  assert.match(again.err, /etl\.ts already exists in .*; not overwriting/);
  assert.equal(await Deno.readTextFile(join(dir, "etl.ts")), "// mine\n");
  assert.equal((await inDir(dir, ["init", "etl", "--force"])).code, 0);
  assert.notEqual(await Deno.readTextFile(join(dir, "etl.ts")), "// mine\n");
  const bad = await inDir(dir, ["init", "my flow"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /"my flow" is not a flow name/);
});

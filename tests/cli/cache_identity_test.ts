// Cache identity through the CLI: editing a cached task's body drops its result, `run -v`
// says why a miss missed, and `describe` / `--dry-run` show what the key is made of.
import assert from "node:assert/strict";
import { cli, ROOT, withState } from "./_io.ts";

/** Writes a flow file (a new name each time: the process keeps modules it imported). */
async function flowFile(dir: string, n: number, body: string, cache = '{ ttl: "1h" }') {
  const path = `${dir}/flow_${n}.ts`;
  await Deno.writeTextFile(
    path,
    `import { flow, task } from "${ROOT}/mod.ts";\n` +
      `const work = task({ name: "work", cache: ${cache} }, (x: number) => ${body});\n` +
      `export default flow("priced", () => work(21));\n`,
  );
  return path;
}

const work = (out: string) =>
  JSON.parse(out).tasks.find((t: { id: string }) => t.id === "work") as {
    status: string;
    result: unknown;
    cacheKey?: string;
  };

Deno.test("editing a cached task's body runs it again, and run -v says the code changed", async () => {
  await withState(async (dir) => {
    const state = ["--state-dir", dir, "--json"];
    const v1 = await flowFile(dir, 1, "x * 2");
    assert.equal(work((await cli(["run", v1, ...state])).out).status, "succeeded");
    const hit = work((await cli(["run", v1, ...state])).out);
    assert.equal(hit.status, "cached");
    assert.match(hit.cacheKey!, /^work:[0-9a-f]{32}$/);

    const v2 = await flowFile(dir, 2, "x * 3");
    const edited = await cli(["run", v2, "-v", ...state]);
    assert.equal(edited.code, 0, edited.err);
    assert.deepEqual([work(edited.out).status, work(edited.out).result], ["succeeded", 63]);
    assert.match(edited.err, /\[work\] Cache miss: the key changed: the task's code changed/);

    const v3 = await flowFile(dir, 3, "x * 3", '{ ttl: "1h", version: 2 }');
    const bumped = await cli(["run", v3, "-v", ...state]);
    assert.equal(work(bumped.out).status, "succeeded");
    assert.match(bumped.err, /cache\.version is "2", the entry's is not set/);
  });
});

Deno.test("describe and --dry-run show what a cached task's key is made of", async () => {
  await withState(async (dir) => {
    const file = await flowFile(dir, 1, "x * 2", '{ ttl: "10m", version: "b" }');
    const described = await cli(["describe", file]);
    assert.equal(described.code, 0, described.err);
    assert.match(
      described.out,
      /Cache keys \(a result is reused only while every part matches\):\n {2}work: flow "priced" \+ task "work" \+ code [0-9a-f]{12} \+ version "b" \+ its arguments \(hashed\); kept 10m/,
    );
    const plan = await cli(["run", file, "--dry-run", "--state-dir", dir]);
    assert.match(plan.out, /work: flow "priced" \+ task "work" \+ code [0-9a-f]{12}/);
    const json = JSON.parse((await cli(["describe", file, "--json"])).out);
    const cache = json.tasks[0].cache;
    assert.equal(cache.version, "b");
    assert.match(cache.code, /^[0-9a-f]{12}$/);
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import deno from "../../plugins/deno.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { runPlugin, runPluginInWorker, type RunPluginOptions } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = deno as unknown as PluginDefinition;

// Most tests here look at the result alone.
const run = async (params: Record<string, unknown>, options?: RunPluginOptions) =>
  (await runPlugin(deno, params, options)).result;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-deno-" });
  try {
    await Deno.mkdir(join(dir, "scripts"));
    await Deno.writeTextFile(
      join(dir, "scripts/sum.ts"),
      `export const unit = "EUR";\n` +
        `export function sum(a: number, b: number, ctx: { taskId: string }): string {\n` +
        `  return \`\${a + b} \${unit} in \${ctx.taskId}\`;\n}\n` +
        `export async function readData(path: string): Promise<string> {\n` +
        `  return (await Deno.readTextFile(path)).trim();\n}\n`,
    );
    await Deno.writeTextFile(join(dir, "data.txt"), "granted\n");
    await Deno.writeTextFile(join(dir, "other.txt"), "not granted\n");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno runs a snippet: its default function gets args, then the inputs and logger", async () => {
  const code = `
    export default (factor: number, ctx) => {
      ctx.log.info("scaling");
      return ctx.inputs.fetch.items.map((n: number) => n * factor);
    };`;
  const { result, logs } = await runPlugin(deno, { code, args: [10] }, {
    inputs: { fetch: { items: [1, 2] } },
  });
  assert.deepEqual(result, [10, 20]);
  assert.ok(logs.some((l) => l.level === "info" && l.message === "scaling"));
});

Deno.test("deno returns an exported value that is not a function, awaited", async () => {
  assert.deepEqual(await run({ code: "export default Promise.resolve({ ok: true });" }), {
    ok: true,
  });
  assert.equal(await run({ code: "export const x = 1;", export: "x" }), 1);
  assert.equal(await run({ code: "export default () => {};" }), null);
  assert.equal(
    await run({ code: 'export default "naïve ✓";' }),
    "naïve ✓",
    "the snippet is read as UTF-8",
  );
});

Deno.test("deno evaluates a snippet afresh on each attempt, so a retry can succeed", async () => {
  const code = "export default crypto.randomUUID();";
  const first = await run({ code });
  assert.equal(await run({ code }), first, "one evaluation per attempt");
  assert.notEqual(await run({ code }, { attempt: 2 }), first);
});

Deno.test("deno runs a named export of a module relative to the flow's directory", async () => {
  await withDir(async (dir) => {
    const params = { module: "scripts/sum.ts", export: "sum", args: [2, 3] };
    assert.equal(await run(params, { dir, taskId: "script" }), "5 EUR in script");
    const url = new URL(`file://${dir}/scripts/sum.ts`).href;
    assert.equal(await run({ module: url, export: "unit" }), "EUR");
  });
});

Deno.test("deno says what is wrong: a missing export, a module that does not load, a throw", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      runPlugin(deno, { module: "scripts/sum.ts", export: "total" }, { dir }),
      /Module "scripts\/sum\.ts" has no export "total" \(its exports: readData, sum, unit\)/,
    );
    await assert.rejects(
      runPlugin(deno, { module: "scripts/nope.ts" }, { dir }),
      /Cannot load module "scripts\/nope\.ts": Module not found/,
    );
  });
  await assert.rejects(
    runPlugin(deno, { code: "export default (" }),
    /Cannot load the code: .*Expression expected/s,
  );
  await assert.rejects(
    runPlugin(deno, { code: "export default () => { throw new RangeError('too big'); }" }),
    (e: Error) => e instanceof RangeError && e.message === "too big",
  );
});

Deno.test("deno's params: module or code, not both; permissions in Deno's vocabulary", () => {
  const problems = (params: Record<string, unknown>) => {
    const r = parsePluginParams(deno, params);
    return r.ok ? [] : r.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
  };
  assert.deepEqual(problems({}), [": give either `module` or `code`"]);
  assert.deepEqual(problems({ module: "a.ts", code: "x" }), [": give either `module` or `code`"]);
  assert.equal(problems({ code: "x", permissions: { disk: true } }).length, 1);
  assert.equal(problems({ code: "x", permissions: { read: "data" } }).length, 1);
  assert.deepEqual(parsePluginParams(deno, { code: "x" }), {
    ok: true,
    value: { code: "x", export: "default", args: [], permissions: {} },
  });
});

Deno.test("deno asks for what its permissions param gives, paths from the flow's directory", () => {
  const env = { dir: "/flows/etl" };
  assert.deepEqual(pluginPermissions(untyped, { module: "s.ts" }, env), {
    read: ["/flows/etl/s.ts"],
  });
  assert.deepEqual(pluginPermissions(untyped, { module: "file:///opt/m.ts" }, env), {
    read: ["/opt/m.ts"],
  });
  assert.deepEqual(pluginPermissions(untyped, { module: "npm:left-pad@1.3.0" }, env), {});
  assert.deepEqual(
    pluginPermissions(untyped, { module: "s.ts", permissions: { read: true } }, env),
    {
      read: true,
    },
  );
  assert.deepEqual(
    pluginPermissions(untyped, { module: "s.ts", permissions: { read: ["data"] } }, env),
    { read: ["/flows/etl/data", "/flows/etl/s.ts"] },
  );
  assert.deepEqual(
    pluginPermissions(untyped, {
      code: "x",
      permissions: { read: ["data", "/etc/hosts"], write: ["out"], net: ["api.example.com"] },
    }, env),
    {
      read: ["/flows/etl/data", "/etc/hosts"],
      write: ["/flows/etl/out"],
      net: ["api.example.com"],
    },
  );
  assert.deepEqual(
    pluginPermissions(
      untyped,
      { module: "https://example.com/m.ts", permissions: { env: true } },
      env,
    ),
    { env: true, import: ["example.com"] },
  );
  assert.throws(
    () => pluginPermissions(untyped, { module: "${{ params.script }}" }, env),
    /known only when the task runs/,
  );
  const m = pluginManifest(untyped);
  assert.equal(m.permissions, "computed");
  assert.ok(m.docs!.includes("fn(...args, ctx)"));
});

Deno.test("deno runs in a worker with only what its permissions param gives", async () => {
  await withDir(async (dir) => {
    // The worker is granted what deno asks for with these params, and nothing else.
    const call = async (params: Record<string, unknown>) =>
      (await runPluginInWorker(deno, params, { dir })).result;
    const base = {
      module: "scripts/sum.ts",
      export: "readData",
      permissions: { read: ["data.txt"] },
    };
    // The grant includes the module's file (a dynamic import reads it) and the data given.
    assert.deepEqual(pluginPermissions(untyped, base, { dir }), {
      read: [join(dir, "data.txt"), join(dir, "scripts/sum.ts")],
    });
    assert.equal(await call({ ...base, args: [join(dir, "data.txt")] }), "granted");
    await assert.rejects(
      call({ ...base, args: [join(dir, "other.txt")] }),
      (e: Error) => e.name === "NotCapable" && /Requires read access/.test(e.message),
    );
    await assert.rejects(
      call({ code: "export default () => Deno.env.get('HOME');" }),
      /Requires env access to "HOME"/,
    );
    // A snippet may import packages without any permission.
    const zod = 'import { z } from "npm:zod@4.1.12"; export default z.string().parse("zod");';
    assert.equal(await call({ code: zod }), "zod");
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import plugin from "../../plugins/deno.ts";
import { type TaskDefinition, taskRegistry } from "../../src/core/protocol.ts";
import type { TaskContext } from "../../src/engine/types.ts";
import { WorkerPool } from "../../src/executors/worker_pool.ts";
import {
  invokePlugin,
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";

// The contract's functions take untyped plugins.
const deno = plugin as unknown as PluginDefinition;

const lines: string[] = [];
const ctx: TaskContext = {
  runId: "run-1",
  flow: "test",
  taskId: "script",
  name: "script",
  attempt: 1,
  params: {},
  signal: new AbortController().signal,
  log: { debug() {}, info: (m) => void lines.push(m), warn() {}, error() {} },
  sleep: () => Promise.resolve(),
  secret: (name) => {
    throw new Error(`no secret ${name}`);
  },
};

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
  const result = await invokePlugin(deno, { code, args: [10] }, { fetch: { items: [1, 2] } }, ctx);
  assert.deepEqual(result, [10, 20]);
  assert.ok(lines.includes("scaling"));
});

Deno.test("deno returns an exported value that is not a function, awaited", async () => {
  assert.deepEqual(
    await invokePlugin(deno, { code: "export default Promise.resolve({ ok: true });" }, {}, ctx),
    { ok: true },
  );
  assert.equal(await invokePlugin(deno, { code: "export const x = 1;", export: "x" }, {}, ctx), 1);
  assert.equal(await invokePlugin(deno, { code: "export default () => {};" }, {}, ctx), null);
  assert.equal(
    await invokePlugin(deno, { code: 'export default "naïve ✓";' }, {}, ctx),
    "naïve ✓",
    "the snippet is read as UTF-8",
  );
});

Deno.test("deno evaluates a snippet afresh on each attempt, so a retry can succeed", async () => {
  const code = "export default crypto.randomUUID();";
  const first = await invokePlugin(deno, { code }, {}, ctx);
  assert.equal(await invokePlugin(deno, { code }, {}, ctx), first, "one evaluation per attempt");
  assert.notEqual(await invokePlugin(deno, { code }, {}, { ...ctx, attempt: 2 }), first);
});

Deno.test("deno runs a named export of a module relative to the flow's directory", async () => {
  await withDir(async (dir) => {
    const params = { module: "scripts/sum.ts", export: "sum", args: [2, 3] };
    assert.equal(await invokePlugin(deno, params, {}, ctx, { dir }), "5 EUR in script");
    const url = new URL(`file://${dir}/scripts/sum.ts`).href;
    assert.equal(await invokePlugin(deno, { module: url, export: "unit" }, {}, ctx), "EUR");
  });
});

Deno.test("deno says what is wrong: a missing export, a module that does not load, a throw", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      invokePlugin(deno, { module: "scripts/sum.ts", export: "total" }, {}, ctx, { dir }),
      /Module "scripts\/sum\.ts" has no export "total" \(its exports: readData, sum, unit\)/,
    );
    await assert.rejects(
      invokePlugin(deno, { module: "scripts/nope.ts" }, {}, ctx, { dir }),
      /Cannot load module "scripts\/nope\.ts": Module not found/,
    );
  });
  await assert.rejects(
    invokePlugin(deno, { code: "export default (" }, {}, ctx),
    /Cannot load the code: .*Expression expected/s,
  );
  await assert.rejects(
    invokePlugin(
      deno,
      { code: "export default () => { throw new RangeError('too big'); }" },
      {},
      ctx,
    ),
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
  assert.deepEqual(pluginPermissions(deno, { module: "s.ts" }, env), { read: ["/flows/etl/s.ts"] });
  assert.deepEqual(pluginPermissions(deno, { module: "file:///opt/m.ts" }, env), {
    read: ["/opt/m.ts"],
  });
  assert.deepEqual(pluginPermissions(deno, { module: "npm:left-pad@1.3.0" }, env), {});
  assert.deepEqual(pluginPermissions(deno, { module: "s.ts", permissions: { read: true } }, env), {
    read: true,
  });
  assert.deepEqual(
    pluginPermissions(deno, { module: "s.ts", permissions: { read: ["data"] } }, env),
    { read: ["/flows/etl/data", "/flows/etl/s.ts"] },
  );
  assert.deepEqual(
    pluginPermissions(deno, {
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
      deno,
      { module: "https://example.com/m.ts", permissions: { env: true } },
      env,
    ),
    { env: true, import: ["example.com"] },
  );
  assert.throws(
    () => pluginPermissions(deno, { module: "${{ params.script }}" }, env),
    /known only when the task runs/,
  );
  const m = pluginManifest(deno);
  assert.equal(m.permissions, "computed");
  assert.ok(m.docs!.includes("fn(...args, ctx)"));
});

Deno.test("deno runs in a worker with only what its permissions param gives", async () => {
  await withDir(async (dir) => {
    const pool = new WorkerPool({ size: 1 });
    try {
      const task = taskRegistry().get(plugin.moduleUrl!)!.get(plugin.workerName) as TaskDefinition;
      const call = (params: Record<string, unknown>) =>
        pool.run({
          task,
          args: [params, {}, { dir }],
          info: { runId: "run-1", flow: "test", taskId: "script", attempt: 1, params: {} },
          grant: pluginPermissions(deno, params, { dir }),
          signal: new AbortController().signal,
          onLog: () => {},
        });
      const base = {
        module: "scripts/sum.ts",
        export: "readData",
        permissions: { read: ["data.txt"] },
      };
      // The grant includes the module's file (a dynamic import reads it) and the data given.
      assert.deepEqual(pluginPermissions(deno, base, { dir }), {
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
    } finally {
      await pool.close();
    }
  });
});

import assert from "node:assert/strict";
import { formatLocation } from "../../src/core/errors.ts";
import { main } from "../../src/cli/main.ts";
import { loadYamlFlow } from "../../src/loaders/yaml_loader.ts";
import { fakeIo } from "../cli/_io.ts";
import { pluginSource, tempTree } from "../plugins/_plugins.ts";

// A plugin that reads the file its params name, asking for exactly that file.
const READER = pluginSource({ name: "reader", version: "1.2.0" }, {
  params:
    "z.strictObject({ path: z.string().describe('the file'), upper: z.boolean().default(false) })",
  permissions: "(p, env) => ({ read: [p.path.startsWith('/') ? p.path : `${env.dir}/${p.path}`] })",
  run: "async (p, ctx) => { const t = await Deno.readTextFile(`${ctx.dir}/${p.path}`); " +
    "return p.upper ? t.toUpperCase() : t; }",
});
// A plugin that tries to read whatever it is told, asking for nothing.
const SNOOP = pluginSource({ name: "snoop" }, {
  params: "z.object({ path: z.string() })",
  run: "(p) => Deno.readTextFile(p.path)",
});

async function issues(dir: string, flow: string): Promise<string[]> {
  await Deno.writeTextFile(`${dir}/flow.yaml`, flow);
  const { graph } = await loadYamlFlow(`${dir}/flow.yaml`, dir, { env: () => undefined });
  return graph.issues.map((i) =>
    `${i.location ? formatLocation(i.location).replace(`${dir}/`, "") : "?"}: ${i.message}`
  );
}

async function run(dir: string, args: string[]) {
  const io = fakeIo({ cwd: dir });
  const code = await main(
    ["run", "flow.yaml", "--json", "--state-dir", `${dir}/.state`, ...args],
    io,
  );
  return { code, io, doc: code === 2 ? undefined : JSON.parse(io.out) };
}

Deno.test("a plugin's params are checked when the flow is validated, at their place in the file", async () => {
  const t = await tempTree({ "plugins/reader.ts": READER });
  try {
    const found = await issues(
      t.dir,
      [
        "tasks:", // 1
        "  a:", // 2
        "    uses: reader", // 3
        "    with:", // 4
        "      pth: data.txt", // 5
        "  b:", // 6
        "    uses: reader@^1", // 7
        "    with:", // 8
        "      path: data.txt", // 9
        "      upper: yes please", // 10
        "  c:", // 11
        "    uses: reader", // 12
        "    with:", // 13
        "      path: data.txt", // 14
        "      upper: ${{ params.up }}", // 15
        "params:",
        "  up: { type: boolean, default: false }",
      ].join("\n"),
    );
    assert.deepEqual(found, [
      'flow.yaml:5:7: Task "a": plugin "reader" params: missing required param "path"',
      'flow.yaml:5:7: Task "a": plugin "reader" params at pth: unknown param "pth" (did you mean "path"?)',
      'flow.yaml:10:14: Task "b": plugin "reader" params at upper: Invalid input: expected boolean, received string',
    ]);
  } finally {
    await t.remove();
  }
});

Deno.test("Chestra's plugin:/params: form is checked the same way, at `params:`", async () => {
  const t = await tempTree({ "plugins/reader.ts": READER });
  try {
    const found = await issues(
      t.dir,
      [
        "workflow:",
        "  name: w",
        "  tasks:",
        "    - name: read",
        "      plugin: reader",
        "      params:",
        "        path: 3",
      ].join("\n"),
    );
    assert.deepEqual(found, [
      'flow.yaml:7:15: Task "read": plugin "reader" params at path: Invalid input: expected string, received number',
    ]);
  } finally {
    await t.remove();
  }
});

Deno.test("a plugin task runs in a worker granted exactly what the plugin asked for", async () => {
  const t = await tempTree({
    "plugins/reader.ts": READER,
    "plugins/snoop.ts": SNOOP,
    "data.txt": "hello",
    "secret.txt": "do not read",
  });
  try {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      "tasks:\n  read:\n    uses: reader\n    with: { path: data.txt, upper: true }\n",
    );
    const ok = await run(t.dir, []);
    assert.equal(ok.code, 0, ok.io.err);
    assert.equal(ok.doc.result.read, "HELLO");
    // describe shows the grant, computed from the params.
    const io = fakeIo({ cwd: t.dir });
    assert.equal(await main(["describe", "flow.yaml", "--json"], io), 0);
    const node = JSON.parse(io.out).tasks.find((n: { id: string }) => n.id === "read");
    assert.equal(node.executor, "worker");
    assert.deepEqual(node.permissions, { read: [`${t.dir}/data.txt`] });

    // A plugin that asked for nothing is refused what it did not ask for.
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      `tasks:\n  snoop:\n    uses: snoop\n    with: { path: ${t.dir}/secret.txt }\n`,
    );
    const refused = await run(t.dir, []);
    assert.equal(refused.code, 1);
    const task = refused.doc.tasks[0];
    assert.equal(task.status, "failed");
    assert.match(task.error, /Requires read access to .*secret\.txt/);
    assert.match(task.error, /was not granted it/);
  } finally {
    await t.remove();
  }
});

Deno.test("a flow's permission ceiling bounds what a plugin may ask for", async () => {
  const t = await tempTree({ "plugins/reader.ts": READER, "data.txt": "x" });
  try {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      [
        "permissions:",
        "  read: [./other]",
        "tasks:",
        "  read:",
        "    uses: reader",
        "    with: { path: data.txt }",
      ].join("\n"),
    );
    const r = await run(t.dir, []);
    assert.equal(r.code, 2);
    assert.match(r.io.err, /read/);
    assert.match(r.io.err, /data\.txt/);
    assert.match(r.io.err, /ceiling/);
  } finally {
    await t.remove();
  }
});

Deno.test("permissions that depend on run-time values must be given by the task", async () => {
  const t = await tempTree({ "plugins/reader.ts": READER, "data.txt": "from run time" });
  try {
    const flow = (extra: string) =>
      [
        "params:",
        "  file: { type: string, default: data.txt }",
        "tasks:",
        "  read:",
        "    uses: reader",
        "    with:",
        "      path: ${{ params.file }}",
        extra,
      ].join("\n");
    const found = await issues(t.dir, flow(""));
    assert.equal(found.length, 1);
    assert.match(
      found[0],
      /^flow\.yaml:7:7: Task "read": plugin "reader" cannot say which permissions it needs \(they depend on a value known only when the task runs\)$/,
    );
    await Deno.writeTextFile(`${t.dir}/flow.yaml`, flow(`    permissions: { read: [./data.txt] }`));
    const r = await run(t.dir, []);
    assert.equal(r.code, 0, r.io.err);
    assert.equal(r.doc.result.read, "from run time");
  } finally {
    await t.remove();
  }
});

Deno.test("only a pure built-in plugin runs inline", async () => {
  const t = await tempTree({ "plugins/reader.ts": READER });
  try {
    const found = await issues(
      t.dir,
      "tasks:\n  a:\n    uses: reader\n    executor: inline\n    with: { path: x }\n  b:\n    uses: start\n",
    );
    assert.deepEqual(found, [
      'flow.yaml:4:15: Task "a": plugin "reader" runs in a worker with its permissions, not "inline"',
    ]);
    const { graph } = await loadYamlFlow(`${t.dir}/flow.yaml`, t.dir);
    assert.equal(graph.nodes.find((n) => n.id === "b")!.config.executor, "inline");
  } finally {
    await t.remove();
  }
});

Deno.test("a plugin gets its upstream results as inputs and its secrets through ctx", async () => {
  const t = await tempTree({
    "plugins/echo.ts": pluginSource({ name: "echo" }, {
      run: "(p, ctx) => ({ p, inputs: ctx.inputs, token: ctx.secret('TOKEN').length })",
    }),
  });
  try {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      [
        "tasks:",
        "  first:",
        "    run: echo 41",
        "    output: json",
        "  second:",
        "    uses: echo",
        "    needs: first",
        "    with:",
        "      n: ${{ tasks.first.result }}",
        "      token: ${{ secrets.TOKEN }}",
      ].join("\n"),
    );
    const io = fakeIo({ cwd: t.dir });
    io.env = (name) => name === "TOKEN" ? "s3cr3t" : name === "NO_COLOR" ? "1" : undefined;
    const code = await main(
      ["run", "flow.yaml", "--json", "--state-dir", `${t.dir}/.state`],
      io,
    );
    assert.equal(code, 0, io.err);
    const doc = JSON.parse(io.out);
    assert.deepEqual(doc.result.second, {
      p: { n: 41, token: "***" },
      inputs: { first: 41 },
      token: 6,
    });
  } finally {
    await t.remove();
  }
});

Deno.test("values put into the shell plugin's command reach it as data, as in run:", async () => {
  const t = await tempTree({});
  try {
    const flow = (command: string) =>
      [
        "params:",
        '  who: { type: string, default: "x; echo injected" }',
        "tasks:",
        "  say:",
        "    uses: shell",
        "    with:",
        `      command: ${command}`,
      ].join("\n");
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      flow(`"echo hello \${{ params.who }} 'and \${{ params.who }}' # \${{ params.who }}"`),
    );
    const r = await run(t.dir, []);
    assert.equal(r.code, 0, r.io.err);
    assert.equal(r.doc.result.say, "hello x; echo injected and x; echo injected");
    const found = await issues(t.dir, flow(`"eval \${{ params.who }}"`));
    assert.equal(found.length, 1);
    assert.match(
      found[0],
      /^flow\.yaml:7:\d+: An expression inside the arguments of eval or trap in `command` of task "say": they are run as shell code/,
    );
  } finally {
    await t.remove();
  }
});

Deno.test("unknown params are reported unless the plugin's schema takes more", async () => {
  const t = await tempTree({
    "plugins/plain.ts": pluginSource({ name: "plain" }, { params: "z.object({ a: z.string() })" }),
    "plugins/loose.ts": pluginSource({ name: "loose" }, {
      params: "z.looseObject({ a: z.string() })",
    }),
  });
  try {
    const found = await issues(
      t.dir,
      "tasks:\n  p:\n    uses: plain\n    with: { a: x, b: y }\n  l:\n    uses: loose\n    with: { a: x, b: y }\n",
    );
    assert.deepEqual(found, [
      'flow.yaml:4:19: Task "p": plugin "plain" params at b: unknown param "b" (did you mean "a"?)',
    ]);
  } finally {
    await t.remove();
  }
});

// Paths are compared resolved: a request, the flow's ceiling and the policy each name paths
// relative to their own file (the flow file's folder; the policy file's), and the same folder
// written two ways is one folder. Resolving must never open a hole: what lies outside is still
// refused, and a policy rule naming a symbolic link applies where the link leads.
import assert from "node:assert/strict";
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { flow } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";
import { FIXTURES, readFixture } from "../fixtures/security/path_tasks.ts";

const SECRET = "the secret outside the box";

interface Tree {
  /** The project: flow files go here, `data/` is granted. */
  dir: string;
  /** Somewhere else to run the CLI from. */
  elsewhere: string;
}

async function withTree(fn: (t: Tree) => Promise<void>): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_paths_" }));
  const t = { dir: `${root}/project`, elsewhere: `${root}/elsewhere` };
  await Deno.mkdir(`${t.dir}/data`, { recursive: true });
  await Deno.mkdir(`${t.dir}/outside`);
  await Deno.mkdir(t.elsewhere);
  await Deno.writeTextFile(`${t.dir}/data/in.txt`, "inside");
  await Deno.writeTextFile(`${t.dir}/outside/secret.txt`, SECRET);
  try {
    await fn(t);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function cli(cwd: string, args: string[]) {
  const io = fakeIo({ cwd });
  const code = await main([...args, "--json", "-q", "--state-dir", `${cwd}/.state`], io);
  return { code, err: io.err, doc: io.out ? JSON.parse(io.out) : undefined };
}

/** A TS flow whose ceiling is `./data` and whose task requests `request` (defined in the file). */
function tsFlow(t: Tree, request: string): string {
  return `import { flow, task } from ${JSON.stringify(pathToFileURL(`${ROOT}/mod.ts`).href)};
const readIt = task(
  { name: "read_it", executor: "worker", permissions: { read: [${JSON.stringify(request)}] } },
  async (file: string) => await Deno.readTextFile(file),
);
export default flow(
  { name: "paths", permissions: { read: ["./data"] } },
  () => readIt(${JSON.stringify(`${t.dir}/data/in.txt`)}),
);
`;
}

Deno.test("paths compare resolved: a relative ceiling admits the absolute path of its folder (TS flow, CLI)", async () => {
  await withTree(async (t) => {
    await Deno.writeTextFile(`${t.dir}/flow.ts`, tsFlow(t, `${t.dir}/data`));
    for (const [cwd, file] of [[t.dir, "flow.ts"], [t.elsewhere, `${t.dir}/flow.ts`]]) {
      const r = await cli(cwd, ["run", file]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.doc.result, "inside");
    }
  });
});

Deno.test("paths compare resolved: an absolute ceiling admits a relative request of its folder (YAML, CLI)", async () => {
  await withTree(async (t) => {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      `permissions: { read: [${JSON.stringify(`${t.dir}/data`)}] }\n` +
        "tasks:\n  r:\n    uses: fs\n    with: { op: read, path: data/in.txt }\n" +
        "    permissions: { read: [./data] }\n",
    );
    const r = await cli(t.elsewhere, ["run", `${t.dir}/flow.yaml`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.doc.result.r, "inside");
  });
});

Deno.test("paths compare resolved: a relative ceiling in YAML admits the paths the fs plugin asks for", async () => {
  await withTree(async (t) => {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      'permissions: { read: ["./data"] }\n' +
        "tasks:\n  rel:\n    uses: fs\n    with: { op: read, path: data/in.txt }\n" +
        `  abs:\n    uses: fs\n    with: { op: read, path: ${
          JSON.stringify(`${t.dir}/data/in.txt`)
        } }\n`,
    );
    for (const [cwd, file] of [[t.dir, "flow.yaml"], [t.elsewhere, `${t.dir}/flow.yaml`]]) {
      const r = await cli(cwd, ["run", file]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.doc.result, { rel: "inside", abs: "inside" });
    }
  });
});

Deno.test("paths compare resolved: a relative ceiling in YAML admits the paths the deno plugin is given", async () => {
  await withTree(async (t) => {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      'permissions: { read: ["./data"] }\n' +
        "tasks:\n  r:\n    uses: deno\n    with:\n" +
        "      code: 'export default (f: string) => Deno.readTextFile(f)'\n" +
        `      args: [${JSON.stringify(`${t.dir}/data/in.txt`)}]\n` +
        "      permissions: { read: [./data/in.txt] }\n",
    );
    const r = await cli(t.elsewhere, ["run", `${t.dir}/flow.yaml`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.doc.result.r, "inside");
  });
});

Deno.test("paths compare resolved: a relative ceiling admits the absolute path of its folder in the library (against the working directory)", async () => {
  const ceiling = `./${relative(Deno.cwd(), FIXTURES)}`;
  const record = await flow(
    { name: "library", permissions: { read: [ceiling] } },
    () => readFixture(`${FIXTURES}/perm/data/greeting.txt`),
  ).run();
  assert.equal(record.status, "succeeded", record.error);
});

Deno.test("resolved paths still refuse what lies outside the ceiling (YAML and TS, CLI; control)", async () => {
  await withTree(async (t) => {
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      'permissions: { read: ["./data"] }\n' +
        "tasks:\n  r:\n    uses: fs\n    with: { op: read, path: data/../outside/secret.txt }\n",
    );
    const yaml = await cli(t.elsewhere, ["run", `${t.dir}/flow.yaml`]);
    assert.equal(yaml.code, 2, yaml.err);
    assert.match(yaml.err, /requests read ".*\/project\/outside\/secret\.txt", beyond the flow's/);
    await Deno.writeTextFile(`${t.dir}/flow.ts`, tsFlow(t, `${t.dir}/outside`));
    const ts = await cli(t.dir, ["run", "flow.ts"]);
    assert.equal(ts.code, 2, ts.err);
    assert.match(
      ts.err,
      /is denied read ".*\/project\/outside": the flow's ceiling allows read only/,
    );
    assert.ok(!yaml.err.includes(SECRET) && !ts.err.includes(SECRET));
  });
});

Deno.test("escape attempt: a policy deny rule naming a symbolic link is bypassed by asking for where it leads", async () => {
  await withTree(async (t) => {
    await Deno.symlink("./outside", `${t.dir}/vault`);
    await Deno.writeTextFile(
      `${t.dir}/orchestra.policy.yaml`,
      "deny:\n  - permissions: { read: [./vault] }\n    reason: the vault is off limits\n",
    );
    await Deno.writeTextFile(
      `${t.dir}/flow.yaml`,
      "tasks:\n  r:\n    uses: fs\n    with: { op: read, path: outside/secret.txt }\n",
    );
    const r = await cli(t.dir, ["run", "flow.yaml"]);
    assert.equal(r.code, 2, `the rule must apply to the folder the link leads to: ${r.err}`);
    assert.match(r.err, /is denied read ".*\/outside\/secret\.txt": denied by the policy rule/);
    assert.match(r.err, /\(the vault is off limits\)/);
  });
});

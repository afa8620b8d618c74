// One meaning for a relative path: a task runs in its flow file's folder (inline, worker and
// process executors alike), while paths on the command line are relative to where it ran.
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { explainDenial } from "../../src/permissions/denial.ts";
import { fakeIo } from "./_io.ts";

/** A folder whose name breaks string-built file URLs, with data in it. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = join(await Deno.makeTempDir(), "flows a #b c données");
  for (
    const [name, text] of Object.entries({ "data/sales.csv": "region\neu\nus\napac\n", ...files })
  ) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  return dir;
}

async function run(args: string[], cwd: string) {
  const io = fakeIo({ cwd });
  const before = Deno.cwd();
  const code = await main(args, io);
  assert.equal(Deno.cwd(), before, "the working directory is restored after the run");
  return { code, out: io.out, err: io.err };
}

// The README's worker example, as written there.
const README_WORKER_FLOW = `import { flow, task } from "@orchestra/orchestra";

// Defined at a module's top level: a worker can load it. It may read ./data and nothing else.
const summarize = task(
  { name: "summarize", executor: "worker", permissions: { read: ["./data"] }, timeout: "30s" },
  async (file: string) => (await Deno.readTextFile(file)).split("\\n").length,
);

export default flow(
  { name: "lines", permissions: { read: ["./data"] } },
  () => summarize("./data/sales.csv"),
);
`;

Deno.test("the README's worker example runs from another folder: ./data is the flow's, in permissions and task code", async () => {
  const dir = await project({ "flow.ts": README_WORKER_FLOW });
  const elsewhere = await Deno.makeTempDir();
  const { code, out, err } = await run(
    ["run", join(dir, "flow.ts"), "--json", "--quiet"],
    elsewhere,
  );
  assert.equal(code, 0, err);
  assert.equal(JSON.parse(out).result, 5);
  // The state dir is relative to where the command ran, not to the flow.
  assert.ok((await Deno.stat(join(elsewhere, ".orchestra", "state.db"))).isFile);
  await assert.rejects(Deno.stat(join(dir, ".orchestra")), Deno.errors.NotFound);
});

Deno.test("inline tasks, run: steps and plugin params read relative paths from the flow's folder", async () => {
  const dir = await project({
    "inline.ts": `import { flow, task } from "@orchestra/orchestra";
const count = task({ name: "count", permissions: { read: ["data"] } }, async (file: string) =>
  (await Deno.readTextFile(file)).trim().split("\\n").length);
export default flow("inline", () => count("data/sales.csv"));
`,
    "flow.yaml": `name: steps
tasks:
  shell:
    run: wc -l < data/sales.csv
  plugin:
    uses: fs
    with: { op: read, path: data/sales.csv }
`,
  });
  const elsewhere = await Deno.makeTempDir();
  const inline = await run(["run", join(dir, "inline.ts"), "--json", "-q"], elsewhere);
  assert.equal(inline.code, 0, inline.err);
  assert.equal(JSON.parse(inline.out).result, 4);
  const yaml = await run(["run", join(dir, "flow.yaml"), "--json", "-q"], elsewhere);
  assert.equal(yaml.code, 0, yaml.err);
  const tasks = JSON.parse(yaml.out).tasks;
  // A command's result is its output as text, as on GitHub.
  assert.equal(tasks.find((t: { id: string }) => t.id === "shell").result, "4");
  assert.match(tasks.find((t: { id: string }) => t.id === "plugin").result, /^region\neu/);
});

Deno.test("a flow in a folder named 'a #b c données' validates, describes and graphs", async () => {
  const dir = await project({
    "flow.ts": README_WORKER_FLOW,
    "flow.yaml": "name: y\ntasks:\n  a:\n    run: echo 1\n",
  });
  for (const file of ["flow.ts", "flow.yaml"]) {
    for (const command of ["validate", "describe", "graph"]) {
      const { code, err } = await run([command, file], dir);
      assert.equal(code, 0, `${command} ${file}: ${err}`);
    }
  }
});

Deno.test("a denied path says what was asked, relative to which folder, and what was granted", async () => {
  const dir = await project({
    "flow.ts": `import { flow, task } from "@orchestra/orchestra";
const read = task(
  { name: "read", executor: "worker", permissions: { read: ["./data"] } },
  async (file: string) => await Deno.readTextFile(file),
);
export default flow("denied", () => read("secret.txt"));
`,
    "secret.txt": "s3cret",
  });
  const { code, err } = await run(["run", join(dir, "flow.ts"), "-q"], await Deno.makeTempDir());
  assert.equal(code, 1);
  assert.match(err, /Requires read access to "secret\.txt"/);
  assert.ok(err.includes(`asked for read of ${join(dir, "secret.txt")}`), err);
  assert.ok(err.includes(`relative to the task's working directory, ${dir})`), err);
  assert.ok(err.includes(`was granted read: ${join(dir, "data")}`), err);
  assert.match(err, /add it to the task's permissions/);
});

Deno.test("explainDenial() does not say to add a path the grant already holds", () => {
  const text = explainDenial(
    'Requires read access to "data/a.txt", run again with the --allow-read flag',
    "load",
    { read: ["/srv/etl/data"] },
    "/srv/etl",
  );
  assert.doesNotMatch(text, /add it/);
  assert.match(text, /which its grant \(read: \/srv\/etl\/data\) holds/);
  assert.match(
    explainDenial(
      'Requires net access to "example.com:443", run again with the --allow-net flag',
      "f",
      undefined,
      "/",
    ),
    /not granted it: it asked for net of example\.com:443 and was granted no net access; add it/,
  );
  assert.equal(explainDenial("boom", "f", undefined, "/"), "boom");
});

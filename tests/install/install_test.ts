// Installing the `orchestra` command as a new user would, and what happens when Deno runs it
// without worker options.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../cli/_io.ts";
import { COMPILE_FLAGS, compileArgs, TARGETS } from "../../scripts/compile.ts";
import { flagsEnableWorkerOptions } from "../../src/cli/worker_options.ts";
import denoJson from "../../deno.json" with { type: "json" };

const decoder = new TextDecoder();

async function exec(cmd: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...options,
    env: { NO_COLOR: "1", ...options.env },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A flow with a worker task that reads a file through a relative permission. */
async function writeWorkerFlow(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  await Deno.writeTextFile(join(dir, "data", "sales.csv"), "region,units\neu,3\nus,4\n");
  await Deno.writeTextFile(
    join(dir, "flow.ts"),
    `import { flow, task } from "@orchestra/orchestra";
const lines = task(
  { name: "lines", executor: "worker", permissions: { read: ["./data"] } },
  async (file: string) => (await Deno.readTextFile(file)).trim().split("\\n").length,
);
export default flow({ name: "lines", permissions: { read: ["./data"] } }, () =>
  lines("./data/sales.csv"));
`,
  );
}

Deno.test("deno task install puts an orchestra command in DENO_INSTALL_ROOT that runs worker tasks", async () => {
  const root = await Deno.makeTempDir({ prefix: "orchestra-install-" });
  const project = await Deno.makeTempDir({ prefix: "orchestra project #1 " });
  try {
    const install = await exec(Deno.execPath(), ["task", "install"], {
      cwd: ROOT,
      env: { DENO_INSTALL_ROOT: root },
    });
    assert.equal(install.code, 0, install.stderr);
    const bin = join(root, "bin", Deno.build.os === "windows" ? "orchestra.cmd" : "orchestra");
    const shim = await Deno.readTextFile(bin);
    assert.match(shim, /--unstable-worker-options/, "the flag is recorded in the command");
    assert.match(shim, /--config /, "the import map comes along as a copy of deno.json");

    await writeWorkerFlow(project);
    const version = await exec(bin, ["--version"], { cwd: project });
    assert.match(version.stdout, new RegExp(`^orchestra ${denoJson.version} `));
    const run = await exec(bin, ["run", "flow.ts", "--json", "--quiet"], { cwd: project });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.status, "succeeded");
    assert.equal(doc.result, 3);
    // Relative to where the command ran, like every path on the command line.
    assert.ok((await Deno.stat(join(project, ".orchestra", "state.db"))).isFile);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("without worker options the CLI says which flag to add, exits 2 and records no run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-noflag-" });
  try {
    // deno.json's import map, made absolute, without its "unstable" line.
    const imports = Object.fromEntries(
      Object.entries(denoJson.imports).map(([k, v]) => [
        k,
        v.startsWith("./") ? pathToFileURL(join(ROOT, v)).href : v,
      ]),
    );
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports }));
    await writeWorkerFlow(dir);
    const main = join(ROOT, "main.ts");
    for (const command of [["run", "flow.ts"], ["validate", "flow.ts"]]) {
      const out = await exec(
        Deno.execPath(),
        ["run", "-A", "--no-prompt", "--no-lock", "--config", "deno.json", main, ...command],
        { cwd: dir },
      );
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /^error: Orchestra needs Deno's worker options/);
      assert.match(out.stderr, /add --unstable-worker-options/);
      assert.match(out.stderr, /"unstable": \["worker-options"\]/);
    }
    await assert.rejects(Deno.stat(join(dir, ".orchestra")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the probe reads worker options from the flag or from a --config file", () => {
  const read = (path: string) => {
    if (path === "/p/deno.json") return '{ "unstable": ["kv", "worker-options"] }';
    if (path === "/p/other.json") return '{ "unstable": ["kv"] }';
    throw new Deno.errors.NotFound(path);
  };
  assert.equal(
    flagsEnableWorkerOptions(["run", "-A", "--unstable-worker-options"], "/p", read),
    true,
  );
  assert.equal(flagsEnableWorkerOptions(["run", "--config", "deno.json"], "/p", read), true);
  assert.equal(flagsEnableWorkerOptions(["run", "--config=/p/deno.json"], "/", read), true);
  assert.equal(flagsEnableWorkerOptions(["run", "-c", "file:///p/deno.json"], "/", read), true);
  assert.equal(flagsEnableWorkerOptions(["run", "--config", "other.json"], "/p", read), undefined);
  assert.equal(
    flagsEnableWorkerOptions(["run", "--config", "missing.json"], "/p", read),
    undefined,
  );
  assert.equal(flagsEnableWorkerOptions(["run", "-A"], "/p", read), undefined);
});

Deno.test("compile:all builds every target deno compile supports, with deno task compile's flags", async () => {
  const bogus = await exec(Deno.execPath(), ["compile", "--target", "bogus", "main.ts"], {
    cwd: ROOT,
  });
  const listed = /possible values: (.*)/.exec(bogus.stderr)?.[1];
  assert.ok(listed, bogus.stderr);
  assert.deepEqual([...TARGETS].sort(), listed.split(/,\s*/).map((t) => t.trim()).sort());
  const single = denoJson.tasks.compile.split(/\s+/);
  assert.deepEqual(single.slice(2, 2 + COMPILE_FLAGS.length), [...COMPILE_FLAGS]);
  assert.deepEqual(single.slice(-3), ["--output", "dist/orchestra", "main.ts"]);
  assert.deepEqual(compileArgs("x86_64-pc-windows-msvc").slice(-5), [
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    "dist/orchestra-x86_64-pc-windows-msvc.exe",
    "main.ts",
  ]);
  assert.equal(denoJson.tasks["compile:all"], "deno run -A scripts/compile.ts");
});

Deno.test("deno.json exports the CLI for deno install jsr:@orchestra/orchestra/cli", () => {
  assert.equal((denoJson.exports as Record<string, string>)["./cli"], "./main.ts");
  assert.deepEqual(denoJson.unstable, ["worker-options"]);
});

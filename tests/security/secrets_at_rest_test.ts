// Secrets at rest: values from --secrets-file, the environment and decrypted enc:v1: params,
// printed by tasks in a result, a log line, a console line and an error, must not be found in
// clear in any file of the state dir (the WAL included) nor in what `run --json`, `status
// --json`, `logs`, `retry --json` and `resume --json` print. With ORCHESTRA_SECRET_KEY a result
// that holds a secret is stored sealed and `resume` restores it; without one its task runs
// again.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.ts";
import { encryptValue } from "../../src/permissions/encrypted.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

const MOD = pathToFileURL(`${ROOT}/mod.ts`).href;
const FILE_TOKEN = "file-tok-7c1e9a";
const ENV_TOKEN = "env-tok-52b8d0";
const PASSWORD = "param-pw-93f4aa";
const KEY = "the key of these tests, long enough";

const FLOW = `import { flow, task } from ${JSON.stringify(MOD)};
const here = new URL(".", import.meta.url).pathname;
const count = (name: string) => Deno.writeTextFile(here + name + ".count", "x", { append: true });
export const fromFile = task({
  name: "from_file",
  secrets: ["FILE_TOKEN"],
  permissions: { write: ["./from_file.count"] },
}, async (ctx) => {
  await count("from_file");
  const v = ctx.secret("FILE_TOKEN");
  ctx.log.info("file token is " + v);
  console.log("console: file token is " + v);
  return { header: "Bearer " + v };
});
export const fromEnv = task({ name: "from_env", secrets: ["ENV_TOKEN"] }, (ctx) => {
  const v = ctx.secret("ENV_TOKEN");
  ctx.log.warn("env token " + v);
  console.error("console: env token " + v);
  return "env:" + v;
});
export const fromParam = task("from_param", (password: string, ctx) => {
  ctx.log.info("password " + password);
  return "param:" + password;
});
export const cached = task(
  { name: "cached", cache: { ttl: "1h" } },
  (h: { header: string }) => h.header.length,
);
export const flaky = task(
  {
    name: "flaky",
    retries: { attempts: 2, delay: 1 },
    secrets: ["FILE_TOKEN"],
    permissions: { read: ["./fixed"] },
  },
  async (ctx) => {
    try {
      await Deno.stat(here + "fixed");
    } catch {
      throw new Error("cannot log in with " + ctx.secret("FILE_TOKEN"));
    }
    return "fixed";
  },
);
export const leaky = flow(
  { name: "leaky", params: { password: { type: "string" } } },
  (_f, p) => {
    const h = fromFile();
    return { h, e: fromEnv(), p: fromParam(p.password), c: cached(h), f: flaky() };
  },
);
export const keyless = flow("keyless", () => {
  const h = fromFile();
  return { h, e: fromEnv(), c: cached(h), f: flaky() };
});
`;

async function inProject(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_at_rest_" }));
  try {
    await Deno.writeTextFile(`${dir}/flow.ts`, FLOW);
    await Deno.writeTextFile(`${dir}/.env`, `FILE_TOKEN=${FILE_TOKEN}\n`);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function cliIn(dir: string, env: Record<string, string>) {
  return async (args: string[]) => {
    const io = fakeIo({ cwd: dir });
    io.env = (name) => env[name] ?? (name === "NO_COLOR" ? "1" : undefined);
    const code = await main(args, io);
    return { code, out: io.out, err: io.err };
  };
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* filesUnder(path);
    else if (e.isFile) yield path;
  }
}

/** The raw values found in `text`, by name. */
function leaks(text: string, values: Record<string, string>): string[] {
  return Object.entries(values).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

async function assertStateDirClean(state: string, values: Record<string, string>) {
  const seen: string[] = [];
  for await (const path of filesUnder(state)) {
    seen.push(path.slice(state.length + 1));
    // Bytes as Latin-1: every byte is a character, so a value is found wherever it is.
    const text = new TextDecoder("latin1").decode(await Deno.readFile(path));
    assert.deepEqual(leaks(text, values), [], `${path} holds a secret in clear`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, `${path} is 0600`);
  }
  assert.ok(seen.includes("state.db-wal"), `the WAL was searched too: ${seen.join(", ")}`);
  assert.ok((await Deno.stat(`${state}/state.db-wal`)).size > 0, "and it held the last writes");
  assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
}

/**
 * A reader of its own keeps the WAL on disk: the CLI's last connection would otherwise fold it
 * into state.db and delete it when it closes, and the WAL is one of the files searched.
 */
function holdWal(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.prepare("SELECT count(*) FROM sqlite_master").get();
  return db;
}

const count = async (dir: string, name: string) =>
  (await Deno.readTextFile(`${dir}/${name}.count`)).length;

Deno.test("secrets are stored masked or sealed, never in clear: state dir files and every command's output", async () => {
  await inProject(async (dir) => {
    const values = { FILE_TOKEN, ENV_TOKEN, PASSWORD };
    const enc = await encryptValue(PASSWORD, KEY);
    const cli = cliIn(dir, { ENV_TOKEN, ORCHESTRA_SECRET_KEY: KEY });
    const state = `${dir}/.orchestra`;
    // resume and retry take the flow from the run: only run names it.
    const common = ["--secrets-file", ".env"];
    const run = await cli([
      "run",
      "flow.ts",
      ...common,
      "--flow",
      "leaky",
      "-p",
      `password=${enc}`,
      "--json",
    ]);
    assert.equal(run.code, 1, run.err);
    const db = holdWal(`${state}/state.db`);
    try {
      const doc = JSON.parse(run.out);
      assert.equal(doc.params.password, enc, "the record keeps the enc:v1: form");
      assert.match(doc.error, /cannot log in with \*\*\*/);
      assert.equal(
        doc.tasks.find((t: { id: string }) => t.id === "from_param").result,
        "param:***",
      );
      const outputs: [string, string][] = [["run --json", run.out + run.err]];
      for (const args of [["status", doc.runId, "--json"], ["logs", doc.runId]]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.err);
        outputs.push([args[0], r.out + r.err]);
      }
      const logs = outputs[2][1];
      assert.match(logs, /\[from_file\] file token is \*\*\*/);
      assert.match(logs, /\[from_file\] console: file token is \*\*\*/);
      assert.match(logs, /\[from_env\] console: env token \*\*\*/);
      assert.match(logs, /\[from_param\] password \*\*\*/);

      await Deno.writeTextFile(`${dir}/fixed`, "");
      const resumed = await cli(["resume", doc.runId, ...common, "--json"]);
      assert.equal(resumed.code, 0, resumed.err);
      outputs.push(["resume --json", resumed.out + resumed.err]);
      assert.equal(await count(dir, "from_file"), 1, "its sealed result was restored");
      const after = JSON.parse(resumed.out);
      assert.deepEqual(after.result.h, { header: "Bearer ***" });
      assert.equal(after.result.f, "fixed");

      const retried = await cli(["retry", doc.runId, "--from", "from_file", ...common, "--json"]);
      assert.equal(retried.code, 0, retried.err);
      outputs.push(["retry --json", retried.out + retried.err]);
      assert.equal(await count(dir, "from_file"), 2, "retry --from runs it again");
      assert.equal(
        JSON.parse(retried.out).tasks.find((t: { id: string }) => t.id === "cached").status,
        "cached",
        "its cached result was found under the hashed key",
      );

      for (const [what, text] of outputs) {
        assert.deepEqual(leaks(text, values), [], `${what} printed a secret in clear`);
      }
      await assertStateDirClean(state, values);
    } finally {
      db.close();
    }
  });
});

Deno.test("without a key, a result that holds a secret is stored masked and its task runs again on resume", async () => {
  await inProject(async (dir) => {
    const values = { FILE_TOKEN, ENV_TOKEN };
    const cli = cliIn(dir, { ENV_TOKEN });
    const common = ["--secrets-file", ".env"];
    const run = await cli(["run", "flow.ts", ...common, "--flow", "keyless", "--json"]);
    assert.equal(run.code, 1, run.err);
    const db = holdWal(`${dir}/.orchestra/state.db`);
    try {
      const { runId } = JSON.parse(run.out);
      await Deno.writeTextFile(`${dir}/fixed`, "");
      const resumed = await cli(["resume", runId, ...common, "--json"]);
      assert.equal(resumed.code, 0, resumed.err);
      assert.equal(await count(dir, "from_file"), 2, "a masked result is not restored");
      assert.match(
        resumed.err,
        /from_file runs again: its result held a secret and was stored masked; set ORCHESTRA_SECRET_KEY/,
      );
      const doc = JSON.parse(resumed.out);
      assert.deepEqual(doc.result.h, { header: "Bearer ***" });
      for (const text of [run.out, run.err, resumed.out, resumed.err]) {
        assert.deepEqual(leaks(text, values), []);
      }
      await assertStateDirClean(`${dir}/.orchestra`, values);
    } finally {
      db.close();
    }
  });
});

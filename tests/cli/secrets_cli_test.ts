// Secrets and encrypted params through the CLI: declared, looked up, masked everywhere.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "./_io.ts";

// A state dir of this file's own: /tmp is shared with every other process on the machine.
const STATE = Deno.makeTempDirSync({ prefix: "orchestra_state_" });
globalThis.addEventListener("unload", () => Deno.removeSync(STATE, { recursive: true }));

const FLOW = `${ROOT}/tests/fixtures/secrets_flow.ts`;
const TOKEN = "tok-9f8e7d6c5b4a";

function ioWith(env: Record<string, string>, cwd = ROOT) {
  const io = fakeIo({ cwd });
  io.env = (name) => env[name] ?? (name === "NO_COLOR" ? "1" : undefined);
  return io;
}

Deno.test("a declared secret reaches its task (inline, context() and worker) and is masked", async () => {
  const io = ioWith({ API_TOKEN: TOKEN });
  assert.equal(
    await main(["run", FLOW, "--flow", "tokens", "--json", "--state-dir", STATE], io),
    0,
    io.err,
  );
  assert.ok(!io.out.includes(TOKEN), "the --json document never shows the value");
  assert.ok(!io.err.includes(TOKEN), "nor do the logs");
  const doc = JSON.parse(io.out);
  assert.deepEqual(doc.result, {
    ok: { header: "Bearer ***", viaContext: true },
    worker: TOKEN.length,
  });
  const logs = doc.tasks.find((t: { id: string }) => t.id === "use_token").logs;
  assert.equal(logs[0].message, "calling with ***");
});

Deno.test("a secret the task did not declare is refused", async () => {
  const io = ioWith({ API_TOKEN: TOKEN });
  assert.equal(
    await main(["run", FLOW, "--flow", "undeclared", "--json", "-q", "--state-dir", STATE], io),
    1,
  );
  assert.match(JSON.parse(io.out).error, /reads secret "API_TOKEN" but does not declare it/);
});

Deno.test("a secret in an error message is masked", async () => {
  const io = ioWith({ API_TOKEN: TOKEN });
  assert.equal(
    await main(["run", FLOW, "--flow", "leaks", "--json", "--state-dir", STATE], io),
    1,
  );
  assert.ok(!io.out.includes(TOKEN) && !io.err.includes(TOKEN));
  assert.match(JSON.parse(io.out).error, /request failed for token \*\*\*/);
});

Deno.test("YAML secrets.NAME come from the secrets file before the environment, masked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.secrets`, `# a dotenv file\nDB_PASSWORD="from file pw"\n`);
    await Deno.writeTextFile(
      `${dir}/flow.yaml`,
      "tasks:\n  connect:\n    run: echo connecting with ${{ secrets.DB_PASSWORD }} >&2; echo ok\n",
    );
    const io = ioWith({ DB_PASSWORD: "from env" }, dir);
    const code = await main(
      ["run", "flow.yaml", "--secrets-file", ".secrets", "--json", "--state-dir", dir],
      io,
    );
    assert.equal(code, 0, io.err);
    assert.ok(!io.err.includes("from file pw") && !io.out.includes("from file pw"));
    assert.match(io.err, /connecting with \*\*\*/);
    const missing = ioWith({}, dir);
    assert.equal(await main(["run", "flow.yaml", "--json", "-q", "--state-dir", dir], missing), 1);
    assert.match(
      JSON.parse(missing.out).error,
      /Secret "DB_PASSWORD" of task "connect" is not set/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encrypted params stay encrypted in the record and are decrypted for the task that uses them", async () => {
  const key = { ORCHESTRA_SECRET_KEY: "correct horse battery staple" };
  const enc = ioWith(key);
  assert.equal(await main(["secret", "encrypt", "pa55word"], enc), 0, enc.err);
  const value = enc.out.trim();
  assert.match(value, /^enc:v1:[A-Za-z0-9+/=]+$/);

  const io = ioWith(key);
  const code = await main(
    [
      "run",
      FLOW,
      "--flow",
      "encrypted",
      "-p",
      `password=${value}`,
      "--json",
      "-q",
      "--state-dir",
      STATE,
    ],
    io,
  );
  assert.equal(code, 0, io.err);
  const doc = JSON.parse(io.out);
  assert.equal(doc.params.password, value, "the record keeps the ciphertext");
  assert.equal(doc.result.echoed, "received ***", "the task got the plaintext, shown masked");
  assert.ok(!io.out.includes("pa55word"));

  const wrongKey = ioWith({ ORCHESTRA_SECRET_KEY: "another key" });
  assert.equal(
    await main([
      "run",
      FLOW,
      "--flow",
      "encrypted",
      "-p",
      `password=${value}`,
      "--json",
      "-q",
      "--state-dir",
      STATE,
    ], wrongKey),
    1,
  );
  assert.match(
    JSON.parse(wrongKey.out).error,
    /cannot be decrypted: ORCHESTRA_SECRET_KEY is not the key/,
  );
});

Deno.test("secret encrypt without a key is exit 2 with what to set", async () => {
  const io = ioWith({});
  assert.equal(await main(["secret", "encrypt", "x"], io), 2);
  assert.match(io.err, /ORCHESTRA_SECRET_KEY is not set/);
});

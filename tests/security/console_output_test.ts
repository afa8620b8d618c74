// Inline console output: an inline task's console.log and console.error go to the task's
// log, masked, never to the CLI's stdout, which carries only the --json record. (A task that
// declares a secret runs in a task worker under `orchestra run`, which writes values as JSON.)
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { ROOT } from "../cli/_io.ts";

const MOD = pathToFileURL(`${ROOT}/mod.ts`).href;

async function orchestra(dir: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "--unstable-worker-options", `${ROOT}/main.ts`, ...args],
    cwd: dir,
    env: { NO_COLOR: "1", INIT_CWD: dir, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout), err: d.decode(out.stderr) };
}

Deno.test("escape attempt is contained: an inline task's console output goes to its log, masked, not into run --json", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_console_" }));
  try {
    await Deno.writeTextFile(
      `${dir}/flow.ts`,
      `import { flow, task } from ${JSON.stringify(MOD)};
const chatty = task({ name: "chatty", secrets: ["TOKEN"] }, async (ctx) => {
  console.log("hello from chatty with", ctx.secret("TOKEN"));
  await new Promise((r) => setTimeout(r, 1));
  console.error("an error line, later", { n: 1 });
  console.info('{"runId": "forged"}');
  return 42;
});
export default flow("chatter", () => chatty());
`,
    );
    const r = await orchestra(dir, ["run", "flow.ts", "--json"], { TOKEN: "tok-c0ns0le" });
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out); // stdout is the record and nothing else
    assert.equal(doc.result, 42);
    assert.ok(!r.out.includes("tok-c0ns0le") && !r.err.includes("tok-c0ns0le"));
    assert.deepEqual(
      doc.tasks[0].logs.map((l: { level: string; message: string }) => [l.level, l.message]),
      [
        ["info", "hello from chatty with ***"],
        ["error", 'an error line, later {"n":1}'],
        ["info", '{"runId": "forged"}'],
      ],
    );
    const logs = await orchestra(dir, ["logs", doc.runId]);
    assert.equal(logs.code, 0, logs.err);
    assert.match(logs.out, /INFO {2}\[chatty\] hello from chatty with \*\*\*\n/);
    assert.match(logs.out, /ERROR \[chatty\] an error line, later \{"n":1\}\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

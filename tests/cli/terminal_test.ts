// The terminal: sizes a terminal does not report, wide characters, NO_COLOR/FORCE_COLOR, and
// control characters in flow, task and log text shown instead of obeyed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { terminalSize } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { renderFrame } from "../../src/cli/view/frame.ts";
import { RunState } from "../../src/cli/view/state.ts";
import { painter } from "../../src/cli/view/style.ts";
import { displayWidth } from "../../src/cli/view/text.ts";
import { fakeIo, ROOT } from "./_io.ts";

function io(options: { terminal?: [number, number]; env?: Record<string, string>; cwd?: string }) {
  const fake = fakeIo({ isTerminal: options.terminal !== undefined, cwd: options.cwd });
  if (options.terminal) {
    fake.terminal.columns = options.terminal[0];
    fake.terminal.rows = options.terminal[1];
  }
  const env = options.env ?? {};
  fake.env = (name) => env[name];
  return fake;
}

Deno.test("a terminal that reports 0×0 gets the live view at a default size", async () => {
  const state = await Deno.makeTempDir();
  const fake = io({ terminal: [0, 0] });
  const code = await main(
    ["run", "examples/params.ts", "-p", "region=eu", "--state-dir", state],
    fake,
  );
  assert.equal(code, 0, fake.err);
  assert.ok(fake.err.includes("\x1b[2K"), "the live view drew");
  assert.match(fake.err, /top_customers succeeded\S* in/);
  assert.deepEqual(terminalSize({ columns: 0, rows: 0 }, () => undefined), {
    columns: 100,
    rows: 30,
  });
  const env = (n: string) => ({ COLUMNS: "132", LINES: "50" } as Record<string, string>)[n];
  assert.deepEqual(terminalSize({ columns: 0, rows: 0 }, env), { columns: 132, rows: 50 });
  assert.deepEqual(terminalSize({ columns: 80, rows: 24 }, env), { columns: 80, rows: 24 });
});

Deno.test("under script (a pseudo-terminal of size 0×0) orchestra run does not crash", async () => {
  const script = await new Deno.Command("sh", { args: ["-c", "command -v script"], stdout: "null" })
    .output().catch(() => ({ code: 1 }));
  if (script.code !== 0 || Deno.build.os !== "linux") return; // util-linux's script only
  const state = await Deno.makeTempDir();
  const command = [
    Deno.execPath(),
    "run -A --no-prompt --unstable-worker-options",
    `'${ROOT}/main.ts' run examples/params.ts -p region=eu --state-dir '${state}'`,
  ].join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.doesNotMatch(text, /RangeError/);
  assert.match(text, /top_customers succeeded\S* in/);
});

Deno.test("emoji and CJK task names keep the view's columns aligned", () => {
  const state = new RunState();
  for (const id of ["🚀launch", "日本語", "load", "e\u0301t\u00e9"]) {
    state.apply(
      { type: "task.created", runId: "r", time: 0, taskId: id, name: id, needs: [], kind: "task" },
      0,
    );
  }
  const lines = renderFrame(state, 0, { width: 80, height: 10, paint: painter(false), spin: 0 });
  const statusAt = lines.slice(0, 4).map((l) => displayWidth(l.slice(0, l.indexOf("pending"))));
  assert.deepEqual(new Set(statusAt).size, 1, lines.join("\n"));
  assert.equal(displayWidth("🚀"), 2);
});

async function plainRun(env: Record<string, string>, terminal?: [number, number]) {
  const fake = io({ env, terminal });
  const code = await main(
    ["run", "examples/params.ts", "-p", "region=eu", "--state-dir", await Deno.makeTempDir()],
    fake,
  );
  assert.equal(code, 0, fake.err);
  return fake.err;
}

Deno.test("NO_COLOR and FORCE_COLOR decide colours as Node's styleText does", async () => {
  const colour = new RegExp(String.raw`\x1b\[3\dm`);
  assert.doesNotMatch(await plainRun({}), colour, "not a terminal: no colours");
  assert.match(await plainRun({ FORCE_COLOR: "1" }), colour, "FORCE_COLOR in a pipe");
  assert.match(await plainRun({}, [80, 24]), colour, "a terminal");
  assert.doesNotMatch(await plainRun({ NO_COLOR: "1" }, [80, 24]), colour, "NO_COLOR");
  assert.doesNotMatch(await plainRun({ FORCE_COLOR: "0" }, [80, 24]), colour, "FORCE_COLOR=0");
  assert.doesNotMatch(await plainRun({ TERM: "dumb" }, [80, 24]), colour, "TERM=dumb");
});

const EVIL = `import { flow, task, type TaskContext } from "@orchestra/orchestra";
export const shout = task("shout\\x1bx", (ctx: TaskContext) => {
  ctx.log.info("\\x1b[31mred\\x1b[0m and \\x07");
  return 1;
});
export const fail = task("fail", () => {
  throw new Error("boom\\x1b[H\\x1b]0;pwned\\x07");
});
export default flow(
  { name: "evil\\x1b[2J", params: { n: { type: "integer", default: 1 } } },
  () => [shout(), fail()],
);
`;

Deno.test("control characters in flow, task and log text are shown escaped by every command", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "evil.ts"), EVIL);
  const state = join(dir, "state");
  const cli = async (args: string[], terminal?: [number, number]) => {
    const fake = io({ cwd: dir, terminal, env: { NO_COLOR: "1" } });
    const code = await main([...args, "--state-dir", state], fake);
    return { code, text: fake.out + fake.err };
  };
  const outputs: Record<string, string> = {};
  const plain = await cli(["run", "evil.ts"]);
  assert.equal(plain.code, 1);
  outputs.plain = plain.text;
  const live = await cli(["run", "evil.ts"], [100, 30]);
  // The live view's own sequences stay; none of the flow's.
  outputs.live = live.text.replace(
    new RegExp(String.raw`\x1b\[(\?25[lh]|\d*[AJK]|2K)|\r`, "g"),
    "",
  );
  const runId = JSON.parse((await cli(["runs", "--json"])).text).runs[0].runId;
  outputs.runs = (await cli(["runs"])).text;
  outputs.status = (await cli(["status", runId])).text;
  outputs.logs = (await cli(["logs", runId])).text;
  outputs.describe = (await cli(["describe", "evil.ts"])).text;
  const invalid = await cli(["validate", "evil.ts", "-p", "n\x1b[5m=2"]);
  assert.equal(invalid.code, 2);
  outputs.validate = invalid.text;
  for (const [command, text] of Object.entries(outputs)) {
    assert.doesNotMatch(
      text,
      new RegExp(String.raw`[\x00-\x08\x0b-\x1f\x7f-\x9f]`),
      `${command}: ${JSON.stringify(text)}`,
    );
  }
  for (const command of ["plain", "live", "runs", "status", "describe", "validate"]) {
    assert.ok(outputs[command].includes("evil\\u001b[2J"), `${command}: ${outputs[command]}`);
  }
  for (const command of ["plain", "live", "logs"]) {
    assert.ok(outputs[command].includes("\\u001b[31mred\\u001b[0m and \\u0007"), command);
  }
  assert.ok(outputs.status.includes("boom\\u001b[H\\u001b]0;pwned\\u0007"));
  assert.ok(outputs.validate.includes('Unknown param "n\\u001b[5m"'), outputs.validate);
});

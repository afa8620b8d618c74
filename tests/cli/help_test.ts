// The CLI's own consistency: each command's help and its option table, the main help, `help`.
import assert from "node:assert/strict";
import { join } from "node:path";
import { MAIN_HELP } from "../../src/cli/help.ts";
import { main } from "../../src/cli/main.ts";
import { COMMANDS } from "../../src/cli/registry.ts";
import { cli, fakeIo } from "./_io.ts";

/** The flags a help text lists on its option lines (`  -p, --param …`, `      --json …`). */
function listedFlags(help: string): Set<string> {
  const out = new Set<string>();
  for (const line of help.split("\n")) {
    const m = /^\s+(?:-\w, )?--([a-z][a-z-]*)/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

Deno.test("every command's help lists exactly the flags its option table takes", () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    const taken = Object.entries({ ...command.options, help: { type: "boolean", short: "h" } })
      .filter(([flag]) => !command.hidden?.includes(flag));
    for (const [flag, o] of taken) {
      const shown = new RegExp(`(^|[\\s\\[|])--${flag}(?![a-z-])`, "m");
      assert.match(command.help, shown, `${name}: --${flag} is taken but not in its help`);
      if ("short" in o && o.short) {
        assert.match(command.help, new RegExp(`-${o.short}, --${flag}\\b`), `${name}: -${o.short}`);
      }
    }
    const names = new Set(taken.map(([flag]) => flag));
    for (const flag of listedFlags(command.help)) {
      assert.ok(names.has(flag), `${name}: --${flag} is in its help but not taken`);
    }
  }
});

Deno.test("run --help lists every flag run takes, --plugin-dir, --policy-file and --secrets-file too", async () => {
  const { code, out } = await cli(["run", "--help"]);
  assert.equal(code, 0);
  for (const flag of ["plugin-dir", "policy-file", "secrets-file", "state-dir", "durability"]) {
    assert.match(out, new RegExp(`--${flag} `));
  }
  assert.doesNotMatch(out, /--run-id/, "the hidden flag of detached runs stays hidden");
});

Deno.test("the main help lists every command and says TypeScript or YAML", () => {
  assert.match(MAIN_HELP, /^orchestra — run workflows written in TypeScript or YAML/);
  const section = MAIN_HELP.slice(MAIN_HELP.indexOf("Commands:"), MAIN_HELP.indexOf("Options:"));
  const listed = [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
  for (const name of Object.keys(COMMANDS)) assert.ok(listed.includes(name), name);
  for (const name of listed) assert.ok(name in COMMANDS, name);
});

Deno.test("help help, help COMMAND and COMMAND --help print the same page", async () => {
  const helpHelp = await cli(["help", "help"]);
  assert.equal(helpHelp.code, 0, helpHelp.err);
  assert.match(helpHelp.out, /^Usage: orchestra help \[COMMAND\]/);
  for (const name of Object.keys(COMMANDS)) {
    const a = await cli(["help", name]);
    const b = await cli([name, "--help"]);
    assert.equal(a.code, 0, `help ${name}: ${a.err}`);
    assert.equal(a.out, b.out, name);
    assert.match(a.out, /^Usage: orchestra /, name);
  }
  const unknown = await cli(["help", "rn"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "rn" \(did you mean "run"\?\)/);
  assert.equal((await cli(["help"])).out, MAIN_HELP);
});

Deno.test("validate, describe and graph take --plugin-dir, --state-dir, --policy-file and --secrets-file like run", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "mine"));
  await Deno.writeTextFile(
    join(dir, "mine", "greet.ts"),
    `import { definePlugin } from "@orchestra/orchestra";
export default definePlugin({
  name: "greet", version: "1.0.0", description: "Greets.",
  params: { type: "object", properties: { who: { type: "string" } }, required: ["who"] },
  run: (p) => "hello " + p.who,
});
`,
  );
  await Deno.writeTextFile(
    join(dir, "flow.yaml"),
    "name: f\ntasks:\n  hi:\n    uses: greet\n    with: { who: Ada }\n",
  );
  await Deno.writeTextFile(join(dir, "policy.yaml"), "default: allow\n");
  await Deno.writeTextFile(join(dir, ".env"), "TOKEN=x\n");
  for (const command of ["validate", "describe", "graph"]) {
    const io = fakeIo({ cwd: dir });
    assert.equal(await main([command, "flow.yaml"], io), 2, `${command} without the plugin dir`);
    assert.match(io.err, /greet/);
    const ok = fakeIo({ cwd: dir });
    const flags = [
      "--plugin-dir",
      "mine",
      "--state-dir",
      "state",
      "--policy-file",
      "policy.yaml",
      "--secrets-file",
      ".env",
    ];
    assert.equal(await main([command, "flow.yaml", ...flags], ok), 0, `${command}: ${ok.err}`);
  }
});

Deno.test("describe and graph plan a flow with required params with placeholders, and say so", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "flow.ts"),
    `import { flow, task } from "@orchestra/orchestra";
const pick = task("pick", (region: string, n: number) => region + n);
export default flow(
  { name: "req", params: { region: { type: "string", required: true, enum: ["eu", "us"] }, n: { type: "integer", required: true } } },
  (_f, p) => pick(p.region, p.n),
);
`,
  );
  for (const command of [["describe"], ["graph"], ["graph", "--json"], ["validate"]]) {
    const io = fakeIo({ cwd: dir });
    assert.equal(await main([...command, "flow.ts"], io), 0, `${command}: ${io.err}`);
    assert.match(io.out + io.err, /placeholder values for the required params "region", "n"/);
    assert.match(io.out, command[0] === "validate" ? /is valid: 1 task/ : /pick/);
  }
  const json = fakeIo({ cwd: dir });
  await main(["graph", "flow.ts", "--json"], json);
  assert.equal(JSON.parse(json.out).tasks[0].id, "pick");
  const run = fakeIo({ cwd: dir });
  assert.equal(await main(["run", "flow.ts"], run), 2, "run needs real values");
  assert.match(run.err, /Missing required param "region"/);
  const given = fakeIo({ cwd: dir });
  assert.equal(await main(["describe", "flow.ts", "-p", "region=us", "-p", "n=1"], given), 0);
  assert.doesNotMatch(given.out, /placeholder/);
});

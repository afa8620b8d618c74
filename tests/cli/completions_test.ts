// `orchestra completions bash|zsh|fish`, tried in the shells themselves where they are installed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/registry.ts";
import { cli, ROOT } from "./_io.ts";

async function has(shell: string): Promise<boolean> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${shell}`],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: 1 }));
  return out.code === 0;
}

async function script(shell: string): Promise<string> {
  const { code, out, err } = await cli(["completions", shell]);
  assert.equal(code, 0, err);
  const file = join(await Deno.makeTempDir(), `orchestra.${shell}`);
  await Deno.writeTextFile(file, out);
  return file;
}

async function shell(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test("every script names every command and every flag it takes", async () => {
  for (const sh of ["bash", "zsh", "fish"]) {
    const { out } = await cli(["completions", sh]);
    for (const [name, command] of Object.entries(COMMANDS)) {
      assert.match(out, new RegExp(`\\b${name}\\b`), `${sh}: ${name}`);
      for (const flag of Object.keys(command.options)) {
        if (command.hidden?.includes(flag)) {
          assert.doesNotMatch(out, new RegExp(`--${flag}\\b|-l ${flag}\\b`), `${sh}: ${flag}`);
          continue;
        }
        const spelled = sh === "fish" ? `-l ${flag}(?![a-z-])` : `--${flag}(?![a-z-])`;
        assert.match(out, new RegExp(spelled), `${sh}: ${name} --${flag}`);
      }
    }
  }
  const bad = await cli(["completions", "powershell"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown shell "powershell"; orchestra completes in bash, zsh, fish/);
});

Deno.test("bash completes commands, flags, their values and flow files through complete -F", async () => {
  if (!await has("bash")) return;
  const file = await script("bash");
  const cases: [string[], string[]][] = [
    [["ru"], ["run", "runs"]],
    [["run", "--pa"], ["--param", "--params-file"]],
    [["run", "--log-level", "w"], ["warning"]],
    [["graph", "-f", ""], ["mermaid", "dot", "json"]],
    [["run", "-p", "x=1", "examples/pa"], ["examples/params.ts", "examples/params.yaml"]],
    [["plugins", ""], ["list", "info", "new", "update"]],
    [["plugins", "info", "--st"], ["--state-dir"]],
    [["completions", ""], ["bash", "zsh", "fish"]],
    [["help", "re"], ["resume", "retry"]],
    [["run", "--state-dir", "exa"], ["examples"]],
    [["run", "--param", ""], []],
  ];
  for (const [words, expected] of cases) {
    const line = ["orchestra", ...words].map((w) => `'${w}'`).join(" ");
    const got = await shell("bash", [
      "-c",
      `source '${file}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length}; _orchestra; ` +
      `printf '%s\\n' "\${COMPREPLY[@]}"; complete -p orchestra`,
    ]);
    const lines = got.trim().split("\n");
    assert.equal(lines.pop(), "complete -F _orchestra orchestra");
    assert.deepEqual(lines.filter(Boolean).sort(), [...expected].sort(), words.join(" "));
  }
});

Deno.test("fish completes commands, flags, values and files through complete -C", async () => {
  if (!await has("fish")) return;
  const file = await script("fish");
  const complete = async (line: string) =>
    (await shell("fish", ["-c", `source '${file}'; complete -C '${line}'`])).trim().split("\n")
      .map((l) => l.split("\t")[0]).filter(Boolean).sort();
  assert.deepEqual(await complete("orchestra ru"), ["run", "runs"]);
  assert.deepEqual(await complete("orchestra run --pa"), ["--param", "--params-file"]);
  assert.deepEqual(await complete("orchestra run --log-format "), ["json", "text"]);
  assert.deepEqual(await complete("orchestra plugins "), ["info", "list", "new", "update"]);
  assert.deepEqual(await complete("orchestra run examples/et"), [
    "examples/etl.ts",
    "examples/etl.yaml",
  ]);
});

Deno.test("zsh loads the script as the completion of orchestra", async () => {
  if (!await has("zsh")) return;
  const file = await script("zsh");
  await shell("zsh", ["-n", file]);
  const dir = join(file, "..");
  await Deno.rename(file, join(dir, "_orchestra"));
  const got = await shell("zsh", [
    "-f",
    "-c",
    `fpath=('${dir}' $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[orchestra]`,
  ]);
  assert.equal(got.trim(), "_orchestra");
});

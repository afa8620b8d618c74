import assert from "node:assert/strict";
import {
  parseTemplate,
  renderTemplate,
  shellQuote,
} from "../../../../src/loaders/yaml/expressions/mod.ts";

const NASTY = [
  "",
  "plain",
  "two words",
  "'; rm -rf / #",
  "it's",
  "''",
  "'",
  "\\'",
  '"double" \\"quotes\\"',
  "$(id)",
  "${HOME} $HOME $0 $$ $?",
  "`id`",
  "line one\nline two\n",
  "\r\n\t tabs",
  "a; b && c || d | e & f",
  "> /tmp/x < /etc/passwd",
  "*  ?  [a-z]  ~  ~root",
  "-n",
  "--help",
  "%s %d %%",
  "\\n \\t \\\\",
  "!! !$ history",
  "{a,b} (sub) {}",
  "é 日本語 😀",
  "# not a comment",
  "'$(id)'\"`id`\"",
  "a\u0001b\u007f",
];

async function shellEcho(shell: string, word: string): Promise<string> {
  const out = await new Deno.Command(shell, {
    args: ["-c", `printf %s ${word}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("shellQuote() quotes nasty strings so that sh prints them back unchanged", async () => {
  for (const input of NASTY) {
    assert.equal(await shellEcho("sh", shellQuote(input)), input, JSON.stringify(input));
  }
});

const HAS_BASH = (await new Deno.Command("sh", {
  args: ["-c", "command -v bash"],
  stdout: "null",
}).output()).code === 0;

Deno.test({
  name: "shellQuote() output is also one literal word for bash",
  ignore: !HAS_BASH,
  async fn() {
    for (const input of NASTY) {
      assert.equal(await shellEcho("bash", shellQuote(input)), input, JSON.stringify(input));
    }
  },
});

Deno.test("shellQuote() turns other values into text first, as GitHub does", () => {
  assert.equal(shellQuote(null), "''");
  assert.equal(shellQuote(42), "'42'");
  assert.equal(shellQuote(false), "'false'");
  // Lists and objects as GitHub writes them into text (toJSON() gives their content).
  assert.equal(shellQuote(["it's", 1]), "'Array'");
  assert.equal(shellQuote({ cmd: "$(id)'" }), "'Object'");
  assert.equal(shellQuote(1.10), "'1.1'");
});

Deno.test("shellQuote() refuses NUL characters and non-JSON values with a TypeError", () => {
  assert.throws(() => shellQuote("a\0b"), { name: "TypeError", message: /NUL character/ });
  assert.throws(() => shellQuote(() => 1), { name: "TypeError", message: /not a JSON value/ });
});

Deno.test("renderTemplate() with shellQuote builds a command that prints the values as given", async () => {
  const t = parseTemplate("printf '%s|' ${{ params.a }} ${{ params.b }} literal");
  const params = { a: "'; rm -rf / #", b: "$(id) `id`\nnext" };
  const command = renderTemplate(t, { values: { params } }, { quote: shellQuote }) as string;
  const out = await new Deno.Command("sh", { args: ["-c", command], stdout: "piped" }).output();
  assert.equal(new TextDecoder().decode(out.stdout), `${params.a}|${params.b}|literal|`);
});

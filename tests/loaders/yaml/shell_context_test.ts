import assert from "node:assert/strict";
import { scanCommand } from "../../../src/loaders/yaml/shell_context.ts";
import { REFUSED, shellScript, VALUE_VARIABLE } from "../../../src/loaders/yaml/shell_script.ts";

const where = (cmd: string) => scanCommand(cmd).map((s) => s.position);

Deno.test("scanCommand() says where each ${{ }} stands", () => {
  const table: [string, string[]][] = [
    ["echo ${{ a }} x${{ b }}y --flag=${{ c }}", ["word", "word", "word"]],
    ["# for ${{ a }}\necho ${{ b }}", ["a comment", "word"]],
    ["echo hi # ${{ a }}", ["a comment"]],
    ["echo a#b ${{ a }}", ["word"]],
    ["echo \r# ${{ a }}", ["word"]], // a CR separates no words: that # starts no comment
    ['echo "hi ${{ a }}"', ["double quotes"]],
    ["echo 'hi ${{ a }}'", ["single quotes"]],
    ["echo $'a\\'b ${{ a }}'", ["ANSI-C quotes"]],
    ["echo `cat ${{ a }}`", ["word"]],
    ['echo "$(printf "%s" ${{ a }})"', ["word"]],
    ['echo "$(echo "${{ a }}")"', ["double quotes"]],
    ['echo ${x:-${{ a }}} "${y:-${{ b }}}"', ["word", "double quotes"]],
    ["case ${{ a }} in ${{ b }}) :;; esac", ["word", "word"]],
    ["cat <<< ${{ a }}", ["word"]],
    ["echo a \\\n ${{ a }}", ["word"]],
    ["cat <<EOF\n${{ a }}\nEOF\necho ${{ b }}", ["a here-document", "word"]],
    ["cat <<-EOF\n\t${{ a }}\n\tEOF\n", ["a here-document"]],
    ["cat <<'EOF'\n${{ a }}\nEOF\necho ${{ b }}", ["a quoted here-document", "word"]],
    ['cat <<"EOF"\n${{ a }}\nEOF', ["a quoted here-document"]],
    ["echo $(( ${{ a }} + 1 ))", ["shell arithmetic"]],
    ["(( ${{ a }} > 1 ))", ["shell arithmetic"]],
    ["let n=${{ a }}", ["shell arithmetic"]],
    ["declare -i n=${{ a }}", ["shell arithmetic"]],
    ["echo ${x:${{ a }}}", ["shell arithmetic"]],
    ["echo ${a[${{ a }}]}", ["shell arithmetic"]],
    ["a[${{ a }}]=${{ b }}", ["shell arithmetic", "word"]],
    ['[[ "${{ a }}" == x ]]', ["double quotes"]],
    ["[[ ${{ a }} -eq 1 ]]", ["shell arithmetic"]],
    ["eval ${{ a }}; echo ${{ b }}", ["an eval", "word"]],
    ["X=1 eval ${{ a }}", ["an eval"]],
    ["trap ${{ a }} EXIT", ["an eval"]],
    ["echo ${${{ a }}}", ["a variable name"]],
    ["echo x 2>&1 ${{ a }}", ["word"]],
  ];
  for (const [cmd, expected] of table) assert.deepEqual(where(cmd), expected, cmd);
});

Deno.test("shellScript() writes a variable for each value, for where it stands", () => {
  const cmd = `echo \${{ a }} "\${{ b }}" '\${{ c }}' # \${{ d }}`;
  assert.equal(
    shellScript(cmd, scanCommand(cmd)),
    `echo "\${${VALUE_VARIABLE}1}" "\${${VALUE_VARIABLE}2}" ''"\${${VALUE_VARIABLE}3}"'' # \${${VALUE_VARIABLE}4}`,
  );
  const refused = "eval ${{ a }}";
  assert.equal(shellScript(refused, scanCommand(refused)), "eval ");
  assert.ok(REFUSED["shell arithmetic"] && REFUSED["an eval"] && REFUSED["a quoted here-document"]);
});

const NASTY = `'"; touch pwned; echo "\n$(touch pwned)\`touch pwned\`\r\ntouch pwned #\\`;

async function run(shell: string, script: string, values: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const env: Record<string, string> = { PATH: Deno.env.get("PATH")! };
    values.forEach((v, i) => env[`${VALUE_VARIABLE}${i + 1}`] = v);
    const out = await new Deno.Command(shell, {
      args: ["-c", script],
      cwd: dir,
      env,
      clearEnv: true,
    })
      .output();
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, [], `${shell} ran part of a value as code`);
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the script hands every allowed position its value as data, in sh and in bash", async () => {
  const commands = [
    "printf '%s|' ${{ a }}",
    "printf '%s|' \"v=${{ a }}\"",
    "printf '%s|' 'v=${{ a }}'",
    "printf '%s|' \"$(printf '%s' ${{ a }})\"",
    "printf '%s|' ${u:-${{ a }}} \"${u:-${{ a }}}\"",
    "# ${{ a }}\nprintf '%s|' ok",
    "cat <<EOF\n${{ a }}|\nEOF",
  ];
  for (const shell of ["sh", "bash"]) {
    for (const cmd of commands) {
      const spots = scanCommand(cmd);
      const out = await run(shell, shellScript(cmd, spots), spots.map(() => NASTY));
      const expected = cmd.startsWith("#")
        ? "ok|"
        : cmd.includes("v=")
        ? `v=${NASTY}|`
        : cmd.startsWith("cat")
        ? `${NASTY}|\n`
        : cmd.includes("u:-")
        ? `${NASTY}|${NASTY}|`
        : `${NASTY}|`;
      assert.equal(out, expected.replace(/\n+\|$/, "|"), `${shell}: ${cmd}`);
    }
  }
});

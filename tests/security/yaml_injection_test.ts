// The injection table of YAML flows: each case is an attempt, as an attacker who controls a
// param (or an upstream task's output) would make it, to get a value run as shell or
// JavaScript code. Each must end one of two ways: the value reaches the command as data (and
// nothing it holds runs), or the flow is refused at validation with file:line:col and a hint.
// No case may leave the file "pwned" behind.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { flow, usePlugin } from "../../mod.ts";
import shell from "../../plugins/shell.ts";
import { fakeIo } from "../cli/_io.ts";

/** What the attacker's value runs if it ever becomes code: it leaves a file behind. */
const PAYLOAD = "x\ntouch pwned #";
const TRICKS = `'"; touch pwned; echo "\n$(touch pwned)\`touch pwned\`\r\ntouch pwned #`;

interface Injection {
  /** What the attack tries. */
  name: string;
  /** The flow file; the attacker's value arrives as the param `x` (a string). */
  flow: string;
  /** The value of `x`. @default PAYLOAD */
  value?: string;
  /** The flow runs, and this task's result is what it must be. */
  result?: [task: string, expected: unknown];
  /** The flow runs, and this task fails with this error. */
  fails?: [task: string, error: RegExp];
  /** The flow is refused at validation with this message, at this line:col, with this hint. */
  refused?: { message: RegExp; at: string; hint: RegExp };
  /** The file is a GitHub workflow (`jobs:`), whose param is `inputs.x`. */
  workflow?: boolean;
}

const params = (extra = "") => `params:\n  x: { type: string }\n${extra}tasks:\n`;

const CASES: Injection[] = [
  {
    name: "a comment on a line of its own, ended by a newline in the value",
    flow: params() + "  t:\n    run: |\n      # for ${{ params.x }}\n      echo ok\n",
    result: ["t", "ok"],
  },
  {
    name: "a comment after a command, ended by a newline in the value",
    flow: params() + '  t:\n    run: "echo ok # ${{ params.x }}"\n',
    result: ["t", "ok"],
  },
  {
    name: "an upstream task's output in a comment",
    flow: "tasks:\n  a:\n    run: |\n      printf 'x\\ntouch pwned #'\n" +
      '  b:\n    needs: a\n    run: "echo ok # ${{ tasks.a.result }}"\n',
    result: ["b", "ok"],
  },
  {
    name: "the shell plugin's command, with the value in a comment",
    flow: params() +
      '  t:\n    uses: shell\n    with:\n      command: "echo ok # ${{ params.x }}"\n',
    result: ["t", "ok"],
  },
  {
    name: "a step of a GitHub workflow job, with the value in a comment",
    workflow: true,
    flow: "on:\n  workflow_dispatch:\n    inputs:\n      x: { type: string }\njobs:\n" +
      "  build:\n    runs-on: ubuntu-latest\n    outputs:\n      said: ${{ steps.say.outputs.said }}\n" +
      "    steps:\n      - id: say\n        run: |\n          # for ${{ inputs.x }}\n" +
      '          echo "said=ok" >> "$GITHUB_OUTPUT"\n',
    result: ["build", { said: "ok" }],
  },
  {
    name: "double quotes around the value",
    flow: params() + "  t:\n    run: printf '%s' \"v=${{ params.x }}\"\n",
    value: TRICKS,
    result: ["t", `v=${TRICKS}`.trim()],
  },
  {
    name: "single quotes around the value",
    flow: params() + "  t:\n    run: printf '%s' 'v=${{ params.x }}'\n",
    value: TRICKS,
    result: ["t", `v=${TRICKS}`.trim()],
  },
  {
    name: "ANSI-C quotes $'…' around the value (bash)",
    flow: params() + "  t:\n    shell: bash\n    run: printf '%s' $'v=${{ params.x }}'\n",
    value: "\\'; touch pwned; echo \\'",
    result: ["t", "v=\\'; touch pwned; echo \\'"],
  },
  {
    name: "backquotes around the value, inside double quotes",
    flow: params() + "  t:\n    run: printf '%s' \"`printf '%s' ${{ params.x }}`\"\n",
    value: TRICKS,
    result: ["t", TRICKS.trim()],
  },
  {
    name: "$( … ) inside double quotes",
    flow: params() + "  t:\n    run: printf '%s' \"$(printf '%s' ${{ params.x }})\"\n",
    value: TRICKS,
    result: ["t", TRICKS.trim()],
  },
  {
    name: "a parameter expansion's default ${u:-${{ }}}, bare and in double quotes",
    flow: params() +
      "  t:\n    run: printf '%s|' ${u:-${{ params.x }}} \"${u:-${{ params.x }}}\"\n",
    value: "a; touch pwned #",
    result: ["t", "a; touch pwned #|a; touch pwned #|"],
  },
  {
    name: "a case pattern",
    flow: params() +
      "  t:\n    run: case ok in ${{ params.x }}) echo matched;; *) echo nothing;; esac\n",
    value: "*",
    result: ["t", "nothing"],
  },
  {
    name: "a here-string <<<",
    flow: params() + "  t:\n    run: cat <<< ${{ params.x }}\n    shell: bash\n",
    value: TRICKS,
    result: ["t", TRICKS.trim()],
  },
  {
    name: "a here-document with an unquoted delimiter",
    flow: params() + "  t:\n    run: |\n      cat <<EOF\n      ${{ params.x }}\n      EOF\n",
    value: TRICKS,
    result: ["t", TRICKS.trim()],
  },
  {
    name: "a line continuation before the value",
    flow: params() + "  t:\n    run: |\n      printf '%s' \\\n        ${{ params.x }}\n",
    result: ["t", PAYLOAD],
  },
  {
    name: "a CR and a newline in the value, in a comment",
    flow: params() + '  t:\n    run: "echo ok # ${{ params.x }}"\n',
    value: "x\r\ntouch pwned #\r",
    result: ["t", "ok"],
  },
  {
    name: "the value as the command itself",
    flow: params() + "  t:\n    run: ${{ params.x }}\n",
    value: "touch pwned",
    fails: ["t", /not found|No such file/],
  },
  {
    name: "a list and an object as values",
    flow: "params:\n  l: { type: array, default: ['a; touch pwned #', '$(touch pwned)'] }\n" +
      '  o: { type: object, default: { k: "\'; touch pwned #" } }\ntasks:\n' +
      // In text a list is "Array" (as on GitHub): toJSON puts its content in, as data.
      "  t:\n    run: printf '%s %s' ${{ toJSON(params.l) }} ${{ toJSON(params.o) }} " +
      "# ${{ params.l }}\n",
    result: [
      "t",
      `[\n  "a; touch pwned #",\n  "$(touch pwned)"\n] {\n  "k": "'; touch pwned #"\n}`,
    ],
  },
  {
    name: "a NUL byte in the value",
    flow:
      'params:\n  x: { type: string, default: "a\\0b" }\ntasks:\n  t:\n    run: echo ${{ params.x }}\n',
    fails: ["t", /holds a NUL character, which no shell variable can hold/],
  },
  {
    name: "shell arithmetic $(( ))",
    flow: params() + "  t:\n    run: echo $(( ${{ params.x }} + 1 ))\n",
    refused: { message: /inside shell arithmetic/, at: "5:19", hint: /compute the number/ },
  },
  {
    name: "an arithmetic command (( )) (bash)",
    flow: params() + "  t:\n    shell: bash\n    run: (( ${{ params.x }} > 1 )) && echo big\n",
    refused: { message: /inside shell arithmetic/, at: "6:13", hint: /env/ },
  },
  {
    name: "let (bash arithmetic)",
    flow: params() + "  t:\n    shell: bash\n    run: let n=${{ params.x }}\n",
    refused: { message: /inside shell arithmetic/, at: "6:16", hint: /env/ },
  },
  {
    name: "a substring offset ${v:${{ }}}",
    flow: params() + "  t:\n    run: v=abc; echo ${v:${{ params.x }}}\n",
    refused: { message: /inside shell arithmetic/, at: "5:26", hint: /env/ },
  },
  {
    name: "an array index (bash evaluates it as arithmetic)",
    flow: params() + "  t:\n    shell: bash\n    run: a=(1 2); echo ${a[${{ params.x }}]}\n",
    refused: { message: /inside shell arithmetic/, at: "6:28", hint: /env/ },
  },
  {
    name: "[[ … -eq … ]] (bash evaluates its operands as arithmetic)",
    flow: params() + "  t:\n    shell: bash\n    run: '[[ ${{ params.x }} -eq 1 ]] && echo one'\n",
    refused: { message: /inside shell arithmetic/, at: "6:14", hint: /env/ },
  },
  {
    name: "eval",
    flow: params() + "  t:\n    run: eval ${{ params.x }}\n",
    refused: { message: /inside the arguments of eval or trap/, at: "5:15", hint: /as data/ },
  },
  {
    name: "trap",
    flow: params() + "  t:\n    run: trap ${{ params.x }} EXIT\n",
    refused: { message: /inside the arguments of eval or trap/, at: "5:15", hint: /as data/ },
  },
  {
    name: "a here-document with a quoted delimiter",
    flow: params() + "  t:\n    run: |\n      cat <<'EOF'\n      ${{ params.x }}\n      EOF\n",
    refused: {
      message: /inside a here-document with a quoted delimiter/,
      at: "7:7",
      hint: /unquote the delimiter/,
    },
  },
  {
    name: "the value in a Python script (shell: python)",
    flow: params() + "  t:\n    shell: python\n    run: print('${{ params.x }}')\n",
    refused: { message: /cannot stand in a python script/, at: "6:17", hint: /os\.environ/ },
  },
  {
    name: "JavaScript injection into the deno plugin's code",
    flow: params() + "  t:\n    uses: deno\n    with:\n" +
      "      code: 'export default () => \"${{ params.x }}\"'\n",
    value: '" + Deno.pid + "',
    refused: { message: /in `code` of task "t" would become code/, at: "7:36", hint: /args:/ },
  },
  {
    name: "the deno plugin's module chosen by a value",
    flow: params() + "  t:\n    uses: deno\n    with:\n      module: ${{ params.x }}\n",
    value: "https://example.com/evil.ts",
    refused: {
      message: /in `module` of task "t" would become code/,
      at: "7:15",
      hint: /may not choose which code runs/,
    },
  },
];

async function attempt(c: Injection): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_inject_" }));
  try {
    await Deno.writeTextFile(`${dir}/flow.yaml`, c.flow);
    const io = fakeIo({ cwd: dir });
    io.env = (name) => ["PATH", "HOME"].includes(name) ? Deno.env.get(name) : undefined;
    const value = c.value ?? PAYLOAD;
    const needsX = /params\.x|inputs\.x/.test(c.flow) &&
      !/x: \{ type: string, default/.test(c.flow);
    const args = ["run", "flow.yaml", "--json", "-q", "--state-dir", `${dir}/.state`];
    if (needsX) args.push("-p", `x=${value}`);
    const code = await main(args, io);
    if (c.refused) {
      assert.equal(code, 2, `the flow ran: ${io.out.slice(0, 400)}`);
      assert.match(io.err, c.refused.message);
      assert.ok(io.err.includes(`flow.yaml:${c.refused.at}:`), `not at ${c.refused.at}: ${io.err}`);
      assert.match(io.err, c.refused.hint);
    } else {
      assert.notEqual(code, 2, `refused: ${io.err}`);
      const record = JSON.parse(io.out);
      const task = (id: string) => record.tasks.find((t: { id: string }) => t.id === id);
      if (c.result) {
        assert.equal(code, 0, io.err);
        assert.deepEqual(task(c.result[0]).result, c.result[1]);
      }
      if (c.fails) {
        assert.equal(task(c.fails[0]).status, "failed");
        assert.match(task(c.fails[0]).error, c.fails[1]);
      }
    }
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.ok(!left.includes("pwned"), "the value ran as code: it left the file pwned");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const c of CASES) {
  Deno.test(`escape attempt: YAML injection: ${c.name}`, () => attempt(c));
}

Deno.test("escape attempt: YAML injection: an expression in the shell plugin's command from TypeScript", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_inject_" }));
  try {
    const value = "x; touch pwned #";
    const refused = await flow(
      "ts",
      () => usePlugin(shell, { command: "echo ${{ params.x }}" }, { id: "t" }),
    ).run({});
    assert.equal(refused.status, "failed");
    assert.match(refused.tasks[0].error!, /holds \$\{\{ \}\}, which is not rendered here/);
    assert.match(refused.tasks[0].error!, /pass values in `args`/);
    const safe = await flow(
      "ts",
      () =>
        usePlugin(shell, { command: 'printf "%s" "$1"', args: [value], cwd: dir, output: "text" }, {
          id: "t",
        }),
    ).run({});
    assert.equal(safe.status, "succeeded", safe.error);
    assert.equal(safe.tasks[0].result, value);
    await assert.rejects(Deno.stat(`${dir}/pwned`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

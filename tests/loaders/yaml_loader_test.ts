import assert from "node:assert/strict";
import { formatLocation, type ValidationIssue } from "../../src/core/errors.ts";
import { displayPath } from "../../src/core/protocol.ts";
import { main } from "../../src/cli/main.ts";
import { loadYamlFlow, loadYamlFlowText } from "../../src/loaders/yaml_loader.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

const FIXTURES = new URL("../fixtures/yaml/", import.meta.url);

/** How a fixture's path appears in messages. */
function shown(name: string): string {
  return displayPath(new URL(name, FIXTURES).href);
}

/** `file:line:col: message` of every issue, in the order reported. */
function lines(issues: readonly ValidationIssue[]): string[] {
  return issues.map((i) => `${i.location ? formatLocation(i.location) : "?"}: ${i.message}`);
}

async function issuesOf(name: string): Promise<ValidationIssue[]> {
  const { graph } = await loadYamlFlow(new URL(name, FIXTURES).pathname, ROOT, {
    env: () => undefined,
  });
  return graph.issues;
}

async function issuesOfText(text: string): Promise<ValidationIssue[]> {
  const { graph } = await loadYamlFlowText(text, `${ROOT}/flow.yaml`, { env: () => undefined });
  return graph.issues;
}

/** The issues of one fixture, which must all be in that file. */
async function expectIssues(name: string, expected: string[]): Promise<ValidationIssue[]> {
  const issues = await issuesOf(name);
  assert.deepEqual(lines(issues), expected.map((e) => `${shown(name)}:${e}`));
  return issues;
}

// ---- one concern per fixture ----

Deno.test("an unknown key is reported at the key, with did-you-mean and the known keys", async () => {
  const [issue] = await expectIssues("unknown_key.yaml", [
    '7:5: Unknown key "neds" in tasks.load (did you mean "needs"?)',
  ]);
  assert.equal(issue.taskId, "load");
  assert.match(
    issue.hint!,
    /^known keys: id, name, description, extends, needs, if, run, shell, output, steps, uses,/,
  );
});

Deno.test("values of the wrong type name the field, what it must be and what it got", async () => {
  await expectIssues("wrong_types.yaml", [
    "3:14: concurrency must be ≥ 1, got number 0",
    "6:10: tasks.a.run must be a string, got a list",
    '7:14: tasks.a.timeout: expected a duration with its unit, such as "500ms", "30s", "10m" or ' +
    '"1h30m", got boolean true',
    '9:15: tasks.a.priority must be a number, got string "high"',
    '8:24: tasks.a.continue-on-error: expected true, false or a ${{ … }} expression, got string "yes"',
  ]);
});

Deno.test("needs of an unknown task points at the entry, with did-you-mean", async () => {
  const [issue] = await expectIssues("unknown_needs.yaml", [
    '7:22: Task "load" needs unknown task "transfrom" (did you mean "transform"?)',
  ]);
  assert.equal(issue.taskId, "load");
  assert.equal(issue.hint, "known tasks: extract, load, transform");
});

Deno.test("a cycle is reported once, with its path", async () => {
  const [issue] = await expectIssues("cycle.yaml", ["4:3: Cycle: a → b → c → a"]);
  assert.equal(issue.hint, "remove one of these dependencies");
});

Deno.test("an expression syntax error is located at its column in every scalar style", async () => {
  const issues = await issuesOf("expression_syntax.yaml");
  const at = (i: ValidationIssue) => `${i.location!.line}:${i.location!.col}`;
  // plain: `echo ${{ 1 == }} done`, a value is missing after "==" (col 23)
  // single-quoted: `''quoted''` shifts nothing; the "(" left open is at col 31
  // double-quoted: the escape `\t` is two characters in the source; 'b' is at col 27
  // block: the second line of the literal, at the "(" of "upper(" left open (col 21)
  assert.deepEqual(issues.map((i) => [i.taskId, at(i)]), [
    ["plain", "5:23"],
    ["single", "7:31"],
    ["double", "9:27"],
    ["block", "13:21"],
  ]);
  for (const i of issues) {
    assert.equal(i.location!.file, shown("expression_syntax.yaml"));
    assert.match(i.message, /^Expression error: /);
  }
  assert.match(issues[0].message, /after "=="/);
  assert.match(issues[1].message, /Unclosed "\("/);
  assert.match(issues[2].message, /'b'/);
  assert.match(issues[3].message, /Unclosed "\("/);
});

Deno.test("an expression reading an unknown task names it, with did-you-mean", async () => {
  const [issue] = await expectIssues("expression_unknown_task.yaml", [
    '8:19: Unknown task "extrct" (did you mean "extract"?)',
  ]);
  assert.equal(issue.taskId, "load");
});

Deno.test("an expression reading a task that is not upstream says to add it to needs", async () => {
  const [issue] = await expectIssues("expression_not_upstream.yaml", [
    '7:19: Task "load" reads tasks.extract but does not need "extract"',
  ]);
  assert.equal(issue.hint, 'add "extract" to its `needs:` so it runs after "extract"');
});

Deno.test("an expression reading an unknown param lists the declared ones", async () => {
  const [issue] = await expectIssues("expression_unknown_param.yaml", [
    '7:19: Unknown param "regoin" (did you mean "region"?)',
  ]);
  assert.equal(issue.hint, "params: region");
});

Deno.test("`item` outside foreach is reported where it is used", async () => {
  const [issue] = await expectIssues("expression_item_outside_foreach.yaml", [
    '5:19: "item" is only available in a task with foreach',
  ]);
  assert.equal(issue.hint, "add `foreach:` to the task, or use another value");
});

Deno.test("a status function outside `if:` is an unknown function there, with a hint", async () => {
  const [issue] = await expectIssues("expression_status_outside_if.yaml", [
    '8:19: Unknown function "failure"',
  ]);
  assert.equal(issue.hint, "status functions work only in `if:`");
});

Deno.test("a duplicate id in list form is reported at the repeat, pointing at the first", async () => {
  const [issue] = await expectIssues("duplicate_ids.yaml", [
    `6:11: Duplicate task id "fetch" (first used at ${shown("duplicate_ids.yaml")}:4:9)`,
  ]);
  assert.equal(issue.taskId, "fetch");
});

Deno.test("a duplicate key in a mapping is a YAML syntax error at the second key", async () => {
  const [issue] = await expectIssues("duplicate_keys.yaml", [
    "6:3: YAML syntax error: Map keys must be unique",
  ]);
  assert.equal(issue.hint, "each key may appear once in a mapping");
});

Deno.test("a task with both run and uses, or neither, or with but no uses, is rejected", async () => {
  await expectIssues("run_and_uses.yaml", ['6:5: Task "begin" has both `run` and `uses`']);
  await expectIssues("neither_run_nor_uses.yaml", [
    '5:5: Task "idle" has neither `run` nor `uses`',
  ]);
  await expectIssues("with_without_uses.yaml", ['6:5: Task "hello" has `with` but no `uses`']);
});

Deno.test("an unknown plugin is reported at `uses`, without its version, with did-you-mean", async () => {
  const [issue] = await expectIssues("unknown_plugin.yaml", [
    '5:11: Task "begin" uses unknown plugin "strat" (did you mean "start"?)',
  ]);
  assert.match(issue.hint!, /^available plugins: start, end\b.*; or add strat\.ts to a plugins\//);
});

Deno.test("an include of a missing file is reported at the include entry", async () => {
  const [issue] = await expectIssues("include_missing.yaml", [
    `3:11: Cannot read "${shown("shared/nowhere.yaml")}": no such file`,
  ]);
  assert.equal(issue.hint, "include paths are relative to the file that includes them");
});

Deno.test("an include cycle is reported at the include that closes it", async () => {
  const issues = await issuesOf("include_cycle_a.yaml");
  assert.deepEqual(lines(issues), [
    `${shown("include_cycle_b.yaml")}:2:10: include "include_cycle_a.yaml" forms a cycle: ` +
    "include_cycle_a → include_cycle_b → include_cycle_a",
  ]);
});

Deno.test("an unknown template is reported at `extends`, with did-you-mean", async () => {
  const [issue] = await expectIssues("unknown_template.yaml", [
    '8:14: Task "build" extends unknown template "chekced" (did you mean "checked"?)',
  ]);
  assert.equal(issue.taskId, "build");
  assert.equal(issue.hint, "templates: checked");
});

Deno.test("Chestra's form: an unknown signal is reported at the input, with did-you-mean", async () => {
  const [issue] = await expectIssues("chestra_unknown_signal.yaml", [
    '10:16: Task "end" waits for signal "REDY", which no task outputs (did you mean "READY"?)',
  ]);
  assert.equal(issue.hint, "signals that tasks output: READY");
});

Deno.test("a bad duration is reported at the value", async () => {
  await expectIssues("bad_duration.yaml", [
    '5:14: tasks.slow.timeout: expected a duration with its unit, such as "500ms", "30s", "10m" ' +
    'or "1h30m", got string "5 parsecs"',
  ]);
});

Deno.test("retries with an unknown key is reported at the key, with did-you-mean", async () => {
  const [issue] = await expectIssues("retries_unknown_key.yaml", [
    '5:29: Unknown key "dealy" in tasks.flaky.retries (did you mean "delay"?)',
  ]);
  assert.equal(issue.hint, "known keys: attempts, delay, backoff, maxDelay, jitter");
});

// ---- everything in one pass ----

Deno.test("a file with several problems reports all of them in one pass", async () => {
  const issues = await expectIssues("many_problems.yaml", [
    '8:14: tasks.extract.timeout: expected a duration with its unit, such as "500ms", "30s", ' +
    '"10m" or "1h30m", got string "forever"',
    '15:29: Unknown key "jiter" in tasks.load.retries (did you mean "jitter"?)',
    '7:19: Unknown param "regon" (did you mean "region"?)',
    '10:12: Task "transform" needs unknown task "extrac" (did you mean "extract"?)',
    '14:11: Task "load" uses unknown plugin "plugin-that-is-not-there"',
    '18:23: Expression error: Unexpected end of the expression after "=="',
    '11:19: Task "transform" reads tasks.load but does not need "load"',
  ]);
  assert.deepEqual(issues.map((i) => i.taskId), [
    "extract",
    "load",
    "extract",
    "transform",
    "load",
    "report",
    "transform",
  ]);
});

Deno.test("validate prints every problem with file:line:col and exits 2", async () => {
  const io = fakeIo();
  const file = new URL("many_problems.yaml", FIXTURES).pathname;
  assert.equal(await main(["validate", file], io), 2);
  assert.match(io.err, /^error: flow "many_problems" is invalid \(7 problems\):\n/);
  const where = displayPath(`file://${file}`);
  assert.ok(io.err.includes(`  ${where}:7:19: Unknown param "regon" (did you mean "region"?)\n`));
  assert.ok(io.err.includes(`  ${where}:15:29: Unknown key "jiter"`));
  assert.equal(io.out, "");
  const run = fakeIo();
  assert.equal(await main(["run", file], run), 2);
  assert.match(run.err, /invalid \(7 problems\)/);
});

Deno.test("every fixture is invalid, and every one of its issues is located", async () => {
  for await (const e of Deno.readDir(FIXTURES)) {
    if (!e.name.endsWith(".yaml")) continue;
    const issues = await issuesOf(e.name);
    assert.ok(issues.length > 0, `${e.name} has no issues`);
    for (const i of issues) {
      assert.ok(i.location && i.location.line >= 1 && i.location.col >= 1, i.message);
    }
  }
});

// ---- positions in harder places ----

Deno.test("expression positions survive escapes, doubled quotes and multi-line scalars", async () => {
  const text = [
    "tasks:", // 1
    "  sq:", // 2
    "    run: 'echo ${{ ''it''''s'' == }}'", // 3: a value is missing at col 34
    "  dq:", // 4
    '    run: "echo ${{ \'a\\"b\' == }}"', // 5: at col 29
    "  multi:", // 6
    "    run: |", // 7
    "      echo ${{ 1 ==", // 8
    "        2 == }}", // 9: at col 13
    "  plain:", // 10
    "    run: echo ${{ 1 ==", // 11
    "      2 == }}", // 12: folded plain scalar, at col 11
  ].join("\n");
  const issues = await issuesOfText(text);
  assert.deepEqual(
    issues.map((i) => [i.taskId, i.location!.line, i.location!.col]),
    [["sq", 3, 34], ["dq", 5, 29], ["multi", 9, 13], ["plain", 12, 11]],
  );
});

Deno.test("`if:` positions count the whitespace the condition is trimmed of", async () => {
  const text = [
    "tasks:", // 1
    "  a:", // 2
    '    if: "  ${{ ) }}"', // 3: ")" at col 16
    "    run: echo", // 4
    "  b:", // 5
    '    if: "  1 == "', // 6: a value is missing after "==" (col 16)
    "    run: echo", // 7
    "  c:", // 8
    "    if: |", // 9
    "      params.x == 1 ==", // 10: a value is missing at col 23
    "    run: echo", // 11
    "  d:", // 12
    '    if: "  params.nope"', // 13: the reference at col 12
    "    run: echo", // 14
  ].join("\n");
  const issues = await issuesOfText(text);
  assert.deepEqual(
    issues.map((i) => `${i.taskId} ${i.location!.line}:${i.location!.col}`),
    ["a 3:16", "b 6:16", "c 10:23", "d 13:12"],
  );
  assert.match(issues[0].message, /^Expression error in `if`: /);
  assert.equal(issues[3].message, 'Unknown param "nope"');
});

Deno.test("expressions in a plugin's `with:` are checked at any depth", async () => {
  const text = [
    "tasks:", // 1
    "  a:", // 2
    "    uses: log", // 3
    "    with:", // 4
    "      message: ${{ params.nope }}", // 5
    '      data: ["${{ 1 == }}", { deep: "${{ tasks.b.result }}" }]', // 6
    "  b:", // 7
    "    run: echo", // 8
  ].join("\n");
  assert.deepEqual(
    (await issuesOfText(text)).map((i) => `${i.location!.line}:${i.location!.col} ${i.message}`),
    [
      '5:20 Unknown param "nope"',
      '6:23 Expression error: Unexpected end of the expression after "=="',
      '6:42 Task "a" reads tasks.b but does not need "b"',
    ],
  );
});

Deno.test("a bad default is one problem at `defaults`, not one per task", async () => {
  const text = [
    "defaults:",
    "  timeout: 5 parsecs",
    "tasks:",
    "  a: { run: echo a }",
    "  b: { run: echo b }",
  ].join("\n");
  assert.deepEqual(
    lines(await issuesOfText(text)),
    [
      'flow.yaml:2:12: defaults.timeout: expected a duration with its unit, such as "500ms", ' +
      '"30s", "10m" or "1h30m", got string "5 parsecs"',
    ].map((l) => `${displayPath(`file://${ROOT}/`)}${l}`),
  );
});

Deno.test("an unset anchor and an alias bomb are issues, not exceptions", async () => {
  const unset = await issuesOfText(
    "tasks:\n  a:\n    run: echo\n    env: *x\n  b: &x\n    run: echo\n",
  );
  assert.deepEqual(
    unset.map((i) => [i.location!.line, i.location!.col, i.message]),
    [[4, 10, "YAML error: Unresolved alias (the anchor must be set before the alias): x"]],
  );
  const bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    bomb.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
  }
  bomb.push("tasks: { t: { run: echo } }");
  const issues = await issuesOfText(bomb.join("\n"));
  assert.equal(issues.length, 1);
  assert.match(issues[0].message, /^YAML error: Excessive alias count/);
  assert.equal(issues[0].location!.line, 2);
});

Deno.test("keys named like Object.prototype members are issues, not crashes", async () => {
  const text = "tasks:\n  a:\n    run: echo\n    constructor: x\n    toString: y\n";
  assert.deepEqual(lines(await issuesOfText(text)).map((l) => l.replace(/^.*?:(\d+:\d+)/, "$1")), [
    '4:5: A key named "constructor" cannot be used in a flow file',
    '5:5: Unknown key "toString" in tasks.a',
  ]);
  // With no value, as the key of a template or a task: it crashed the schema library.
  const empty = "templates:\n  constructor:\ntasks:\n  constructor:\n  b: { run: echo }\n";
  assert.deepEqual(lines(await issuesOfText(empty)).map((l) => l.replace(/^.*?:(\d+:\d+)/, "$1")), [
    '2:3: A key named "constructor" cannot be used in a flow file',
    '4:3: A key named "constructor" cannot be used in a flow file',
  ]);
});

Deno.test("a YAML syntax error keeps the right line after a broken block scalar", async () => {
  // The parser's own line counter loses line breaks inside tokens it rejects.
  const text =
    "  tasks:\n  tasks:\nname: x\n  a:\n    run: >-\n      echo a\n      echo b\n  b: 1\n";
  const issues = await issuesOfText(text);
  const textLines = text.split("\n");
  assert.ok(issues.length > 0);
  for (const i of issues) {
    assert.ok(i.location!.line <= textLines.length, formatLocation(i.location!));
    assert.ok(i.location!.col <= textLines[i.location!.line - 1].length + 1, i.message);
  }
});

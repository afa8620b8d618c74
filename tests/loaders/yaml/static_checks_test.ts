// Checks beyond GitHub's (what actionlint adds), each on a pinned fixture in
// tests/fixtures/yaml/check_*.yaml, and through the CLI: errors exit 2, warnings are printed
// and the flow still validates and runs, `validate --json` gives each issue's severity.
import assert from "node:assert/strict";
import { formatLocation, type ValidationIssue } from "../../../src/core/errors.ts";
import { displayPath } from "../../../src/core/protocol.ts";
import { main } from "../../../src/cli/main.ts";
import { loadYamlFlow } from "../../../src/loaders/yaml_loader.ts";
import { fakeIo, ROOT } from "../../cli/_io.ts";

const FIXTURES = new URL("../../fixtures/yaml/", import.meta.url);
const path = (name: string) => new URL(name, FIXTURES).pathname;
const shown = (name: string) => displayPath(new URL(name, FIXTURES).href);

/** `line:col severity message` of every issue of a fixture, all in that file. */
async function issues(name: string): Promise<{ lines: string[]; all: ValidationIssue[] }> {
  const { graph } = await loadYamlFlow(path(name), ROOT, { env: () => undefined });
  const lines = graph.issues.map((i) => {
    const at = formatLocation(i.location!);
    assert.ok(at.startsWith(`${shown(name)}:`), at);
    return `${at.slice(shown(name).length + 1)} ${i.severity ?? "error"} ${i.message}`;
  });
  return { lines, all: graph.issues };
}

Deno.test("an `if:` that is text with expressions in it is always true: an error", async () => {
  const { lines, all } = await issues("check_if_always_true.yaml");
  assert.deepEqual(lines, [
    '9:9 error `if` of task "report" is always true: "${{ success() }} || ${{ failure() }}" is ' +
    "text with expressions in it, not one expression, and a non-empty text is true",
  ]);
  assert.equal(all[0].taskId, "report");
  assert.equal(
    all[0].hint,
    "write one expression: `if: ${{ success() || failure() }}` (or without ${{ }})",
  );
});

Deno.test("comparisons with a literal of another type, constant conditions, lists in text: warnings", async () => {
  const { lines, all } = await issues("check_warnings.yaml");
  assert.deepEqual(lines, [
    "13:9 warning params.dry == 'true' is always false: params.dry is a boolean and GitHub " +
    "compares a boolean and a text as numbers, and 'true' is no number",
    "17:13 warning params.retries > 'many' is always false: params.retries is a number and " +
    "GitHub compares a number and a text as numbers, and 'many' is no number",
    '21:19 warning params.tags is a list: in text it becomes "Array"',
    "23:13 warning `if` of task \"always\" is always true: 'false' is a non-empty text",
  ]);
  assert.deepEqual(all.map((i) => i.taskId), ["deploy", "retry", "label", "always"]);
  assert.deepEqual(all.map((i) => i.hint), [
    "compare with true (no quotes)",
    "compare with a number",
    "write ${{ toJSON(params.tags) }} or ${{ join(params.tags, ' ') }}",
    "a text is true unless it is empty; compare it, e.g. ${{ params.x == 'false' }}",
  ]);
});

Deno.test("an unknown output of a task is an error with did-you-mean; case does not matter", async () => {
  const { lines, all } = await issues("check_unknown_output.yaml");
  // tasks.BUILD.outputs.NAME is the declared output `name`, as on GitHub.
  assert.deepEqual(lines, ['10:19 error Task "build" has no output "nmae" (did you mean "name"?)']);
  assert.equal(all[0].taskId, "ship");
  assert.equal(all[0].hint, "its outputs: name");
});

Deno.test("contexts used where they do not exist are errors that say where they do", async () => {
  const { lines, all } = await issues("check_contexts.yaml");
  assert.deepEqual(lines, [
    '2:26 error "secrets" is not available in `name:` (shown in logs, the view and the run record)',
    '5:19 error "matrix" is only available in a task with strategy.matrix',
    '8:13 error "item" is not available in `if:` (evaluated before the task and its items)',
    '12:19 error Unknown function "always"',
  ]);
  assert.deepEqual(all.map((i) => i.hint), [
    "a name is shown everywhere; keep secrets in `env:` or `with:` of the task that uses them",
    "add `strategy: { matrix: … }`, or for one list use `foreach:` and ${{ item }}",
    "`item` and `index` exist in `run:`, `with:` and `env:` of a foreach task",
    "status functions work only in `if:`",
  ]);
});

// ---- through the CLI ----

Deno.test("validate: errors exit 2; warnings are printed and the flow is valid (exit 0)", async () => {
  const bad = fakeIo();
  assert.equal(await main(["validate", path("check_if_always_true.yaml")], bad), 2);
  assert.match(bad.err, /^error: flow "check_if_always_true" is invalid \(1 problem\):\n/);
  assert.match(bad.err, /check_if_always_true\.yaml:9:9: `if` of task "report" is always true/);

  const warned = fakeIo();
  assert.equal(await main(["validate", path("check_warnings.yaml")], warned), 0);
  assert.match(warned.err, /^warning: flow "check_warnings" has 4 warnings:\n/);
  assert.ok(
    warned.err.includes(
      `  ${shown("check_warnings.yaml")}:13:9: warning: params.dry == 'true' is always false`,
    ),
    warned.err,
  );
  assert.ok(warned.err.includes("\n      hint: compare with true (no quotes)\n"), warned.err);
  assert.match(
    warned.out,
    /^✓ flow "check_warnings" is valid: 5 tasks in 2 steps \(4 warnings\)\n$/,
  );
});

Deno.test("validate --json gives each issue's severity; valid is false only with errors", async () => {
  const io = fakeIo();
  assert.equal(await main(["validate", "--json", path("check_warnings.yaml")], io), 0);
  const doc = JSON.parse(io.out);
  assert.equal(doc.valid, true);
  assert.deepEqual(doc.issues.map((i: { severity: string }) => i.severity), [
    "warning",
    "warning",
    "warning",
    "warning",
  ]);
  assert.equal(doc.issues[0].location, `${shown("check_warnings.yaml")}:13:9`);
  assert.equal(doc.issues[0].taskId, "deploy");

  const bad = fakeIo();
  assert.equal(await main(["validate", "--json", path("check_contexts.yaml")], bad), 2);
  const invalid = JSON.parse(bad.out);
  assert.equal(invalid.valid, false);
  assert.deepEqual(
    new Set(invalid.issues.map((i: { severity: string }) => i.severity)),
    new Set(["error"]),
  );
});

Deno.test("run: a flow with only warnings runs, and says its warnings first", async () => {
  const state = await Deno.makeTempDir({ prefix: "orchestra-checks-" });
  try {
    const io = fakeIo();
    io.env = (n) => (n === "PATH" ? Deno.env.get("PATH") : n === "NO_COLOR" ? "1" : undefined);
    const code = await main([
      "run",
      path("check_warnings.yaml"),
      "--json",
      "-q",
      "--state-dir",
      state,
    ], io);
    assert.equal(code, 0, io.err);
    assert.match(io.err, /^warning: flow "check_warnings" has 4 warnings:\n/);
    const record = JSON.parse(io.out);
    const status = Object.fromEntries(
      record.tasks.map((t: { id: string; status: string }) => [t.id, t.status]),
    );
    // As the warnings say: the comparison is false, and 'false' is a true condition.
    assert.equal(status.deploy, "skipped");
    assert.equal(status.always, "succeeded");

    const refused = fakeIo();
    const stopped = await main(
      ["run", path("check_unknown_output.yaml"), "--state-dir", state],
      refused,
    );
    assert.equal(stopped, 2);
    assert.match(refused.err, /Task "build" has no output "nmae" \(did you mean "name"\?\)/);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

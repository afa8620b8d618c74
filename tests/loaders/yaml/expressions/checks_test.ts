// The checks beyond GitHub's, at the level of one expression: lint.ts, contexts.ts and
// flow_checks.ts. The same checks through a flow file and the CLI are in
// tests/loaders/yaml/static_checks_test.ts.
import assert from "node:assert/strict";
import { parseExpression, parseTemplate } from "../../../../src/loaders/yaml/expressions/mod.ts";
import { contextsAt, explainMissing } from "../../../../src/loaders/yaml/expressions/contexts.ts";
import {
  checkAgainstFlow,
  type FlowFacts,
  type Site,
  textIssues,
  typesIn,
} from "../../../../src/loaders/yaml/expressions/flow_checks.ts";
import {
  comparisonIssues,
  constantCondition,
  containerInText,
  type StaticType,
  staticType,
} from "../../../../src/loaders/yaml/expressions/lint.ts";

const facts: FlowFacts = {
  params: {
    dry: { type: "boolean" },
    n: "integer",
    name: "string",
    tags: { type: "array" },
    opts: "object",
  },
  env: ["MODE"],
  tasks: [{ id: "build", outputs: ["name", "Size"] }, { id: "ship", outputs: [] }],
};
const site: Site = { place: "task", task: { id: "ship", env: ["LOCAL"], shape: {} } };

function check(source: string, where: Site = site) {
  return checkAgainstFlow(parseExpression(source), where, facts);
}

const messages = (source: string, where: Site = site) =>
  check(source, where).issues.map((i) => `${i.severity} ${i.message}`);

Deno.test("staticType() knows literals, operators, functions and what the flow declares", () => {
  const typeOf = typesIn(facts, site);
  const t = (source: string): StaticType | undefined => {
    const expr = parseExpression(source);
    return staticType(expr, expr.tree, typeOf);
  };
  assert.equal(t("'x'"), "string");
  assert.equal(t("1 == 2"), "boolean");
  assert.equal(t("!x"), "boolean");
  assert.equal(t("format('{0}', x)"), "string");
  assert.equal(t("length(x)"), "number");
  assert.equal(t("params.dry"), "boolean");
  assert.equal(t("PARAMS.N"), "number");
  assert.equal(t("params.tags"), "array");
  assert.equal(t("params.tags.*"), "array");
  assert.equal(t("env.MODE"), "string");
  assert.equal(t("tasks.build.status"), "string");
  assert.equal(t("params.opts.deeper"), undefined);
  assert.equal(t("tasks.build.result"), undefined);
  assert.equal(t("fromJSON(x)"), undefined);
  assert.equal(t("params.name || 1"), undefined);
  assert.equal(t("params.name || 'x'"), "string");
});

Deno.test("comparing a known type with a literal of another type is a warning: it is constant", () => {
  assert.deepEqual(messages("params.dry == 'true'"), [
    "warning params.dry == 'true' is always false: params.dry is a boolean and GitHub compares " +
    "a boolean and a text as numbers, and 'true' is no number",
  ]);
  assert.equal(check("params.dry == 'true'").issues[0].hint, "compare with true (no quotes)");
  assert.match(messages("'yes' != params.dry")[0], /is always true/);
  assert.match(messages("params.n == 'abc'")[0], /params.n is a number/);
  assert.match(messages("params.n > 'abc'")[0], /is always false/);
  assert.match(messages("params.tags == 'a'")[0], /a list equals nothing but itself/);
  assert.equal(
    check("params.tags == 'a'").issues[0].hint,
    "to test for an item, write contains(…, 'a')",
  );
  assert.match(messages("env.MODE == true")[0], /env.MODE is a text/);
  assert.match(
    messages("tasks.build.status == false", { ...site, place: "if" })[0],
    /always false/,
  );
});

Deno.test("comparisons GitHub's coercion makes meaningful are not flagged", () => {
  for (
    const source of [
      "params.dry == true",
      "params.n == '3'", // a numeric text is compared as a number
      "params.n > 1",
      "params.dry == 1",
      "params.name == 'x'",
      "env.MODE == 1",
      "params.opts == null",
      "tasks.build.result == 'x'", // its type is not known
      "'a' == 'b'",
    ]
  ) {
    assert.deepEqual(messages(source), [], source);
  }
});

Deno.test("comparisonIssues() locates the comparison", () => {
  const expr = parseExpression("x && params.dry == 'no'", 10);
  const [issue] = comparisonIssues(expr, () => "boolean");
  assert.deepEqual([issue.start, issue.end], [15, 33]);
  assert.equal(issue.hint, "compare with true or false");
});

Deno.test("constantCondition() finds conditions that never change", () => {
  const c = (source: string) => constantCondition(parseExpression(source))?.message;
  assert.equal(c("'false'"), "The condition is always true: 'false' is a non-empty text");
  assert.equal(c("''"), "The condition is always false: '' is an empty text");
  assert.equal(c("1 == 1"), "The condition is always true: 1 == 1 is always true");
  assert.equal(c("0"), "The condition is always false: 0 is always 0");
  assert.equal(c("false"), undefined); // says what it means
  assert.equal(c("success()"), undefined);
  assert.equal(c("params.x"), undefined);
  assert.equal(c("fromJSON('x')"), undefined); // fails when it runs, and says so then
});

Deno.test("containerInText() warns about lists and objects written into text", () => {
  const issue = containerInText(parseExpression("params.tags", 4), () => "array");
  assert.equal(issue?.message, 'params.tags is a list: in text it becomes "Array"');
  assert.deepEqual([issue?.start, issue?.end], [4, 15]);
  assert.equal(containerInText(parseExpression("toJSON(params.tags)"), () => "array"), undefined);
  const t = parseTemplate("echo ${{ params.opts }} ${{ params.n }}");
  assert.deepEqual(textIssues(t, facts, site).map((i) => i.message), [
    'params.opts is an object: in text it becomes "Object"',
  ]);
  assert.deepEqual(textIssues(parseTemplate("${{ params.tags }}"), facts, site), []);
  // An env value is text even when it is one ${{ }}.
  const env = { ...site, place: "env" as const };
  assert.equal(textIssues(parseTemplate("${{ params.tags }}"), facts, env).length, 1);
});

Deno.test("checkAgainstFlow() checks names without regard to case and says what is read", () => {
  const found = check("TASKS.Build.Outputs.SIZE == PARAMS.Name && Env.local && secrets.TOKEN");
  assert.deepEqual(found.issues, []);
  assert.deepEqual(found.params, ["name"]);
  assert.deepEqual(found.secrets, ["TOKEN"]);
  assert.deepEqual(found.tasks.map((t) => t.id), ["build"]);
  assert.deepEqual(check("toJSON(params)").params, ["dry", "n", "name", "tags", "opts"]);
  assert.equal(check("tasks.build.status").tasks[0].status, true);
  assert.equal(check("tasks.build.status", { ...site, place: "if" }).tasks[0].status, false);
});

Deno.test("checkAgainstFlow() reports what does not exist, with did-you-mean", () => {
  assert.deepEqual(messages("tasks.build.outputs.nmae"), [
    'error Task "build" has no output "nmae" (did you mean "name"?)',
  ]);
  assert.equal(check("tasks.build.outputs.nmae").issues[0].hint, "its outputs: name, Size");
  assert.deepEqual(messages("tasks.biuld.result"), [
    'error Unknown task "biuld" (did you mean "build"?)',
  ]);
  assert.deepEqual(messages("tasks.ship.result"), ['error Task "ship" cannot read its own result']);
  assert.deepEqual(messages("tasks.build.reslt"), [
    'error tasks.build.reslt does not exist (did you mean "result"?)',
  ]);
  assert.deepEqual(messages("params.nme"), ['error Unknown param "nme" (did you mean "name"?)']);
  assert.deepEqual(messages("env.MOD"), [
    'error Unknown env variable "MOD" (did you mean "MODE"?)',
  ]);
});

Deno.test("a context used where it does not exist says where it does", () => {
  assert.deepEqual(messages("item"), ['error "item" is only available in a task with foreach']);
  const inIf = { ...site, place: "if" as const, task: { ...site.task!, shape: { foreach: true } } };
  assert.deepEqual(messages("item", inIf), [
    'error "item" is not available in `if:` (evaluated before the task and its items)',
  ]);
  assert.deepEqual(messages("matrix.os"), [
    'error "matrix" is only available in a task with strategy.matrix',
  ]);
  assert.deepEqual(messages("secrets.X", { place: "name" }), [
    'error "secrets" is not available in `name:` (shown in logs, the view and the run record)',
  ]);
  assert.deepEqual(messages("tasks.build.result", { place: "flow-env" }), [
    'error "tasks" is not available in the flow\'s `env:` (set before any task runs)',
  ]);
  assert.deepEqual(messages("result.x"), ['error "result" is only available in `outputs:`']);
  const status = check("failure()");
  assert.equal(status.issues[0].message, 'Unknown function "failure"');
  assert.equal(status.issues[0].hint, "status functions work only in `if:`");
  assert.deepEqual(messages("failure()", { ...site, place: "if" }), []);
});

Deno.test("contextsAt() and explainMissing() agree on every place", () => {
  const places = [
    "flow-env",
    "task",
    "env",
    "foreach",
    "if",
    "outputs",
    "name",
    "strategy",
    "continue-on-error",
    "step",
    "step-env",
    "step-if",
  ] as const;
  const names = [
    "params",
    "tasks",
    "needs",
    "env",
    "secrets",
    "run",
    "runner",
    "item",
    "index",
    "matrix",
    "strategy",
    "steps",
    "inputs",
    "result",
  ];
  const shapes = [{}, { foreach: true, matrix: true }, { steps: true, workflow: true }];
  for (const place of places) {
    for (const shape of shapes) {
      for (const name of names) {
        const available = contextsAt(place, shape).includes(name);
        assert.equal(
          explainMissing(name, place, shape) === undefined,
          available,
          `${name} in ${place}`,
        );
      }
    }
  }
  assert.equal(explainMissing("nope", "task"), undefined);
  // GitHub's contexts that Orchestra has not say what to use instead, wherever they stand.
  assert.match(explainMissing("github", "if")!.hint, /run\.id for github\.run_id/);
  assert.match(explainMissing("vars", "task")!.message, /no "vars" context/);
});

Deno.test("checkAgainstFlow() knows needs, matrix keys, steps and inputs", () => {
  const facts = {
    params: { region: "string" as const },
    env: [],
    tasks: [{ id: "build", outputs: ["name"] }, { id: "lint", outputs: [], open: true }, {
      id: "ship",
      outputs: [],
    }],
  };
  const at = (place: "task" | "if" | "step", extra: Record<string, unknown> = {}) => ({
    place,
    workflow: true,
    task: { id: "ship", env: [], shape: { matrix: true }, needs: ["build"], ...extra },
  });
  const issues = (source: string, site = at("task")) =>
    checkAgainstFlow(parseExpression(source), site, facts).issues.map((i) => i.message);
  assert.deepEqual(issues("needs.BUILD.outputs.name && inputs.region"), []);
  assert.deepEqual(issues("needs.lint.result"), [
    'Task "ship" reads needs.lint but does not need "lint" directly',
  ]);
  assert.deepEqual(issues("needs.build.status"), [
    "needs.build.status does not exist",
  ]);
  // An open task (a JSON result, or outputs written to $GITHUB_OUTPUT) may have any output.
  assert.deepEqual(issues("tasks.lint.outputs.anything"), []);
  assert.deepEqual(issues("matrix.oss", at("task", { matrixKeys: ["os"] })), [
    'The matrix has no key "oss" (did you mean "os"?)',
  ]);
  assert.deepEqual(issues("steps.tset.outputs.x", at("step", { steps: ["test"] })), [
    'No step "tset" runs before this (did you mean "test"?)',
  ]);
  // needs.X.result is a status: outside a task's `if:` the task must be told the statuses.
  const read = checkAgainstFlow(parseExpression("needs.build.result"), at("step"), facts);
  assert.deepEqual(read.tasks.map((t) => [t.id, t.status]), [["build", true]]);
  const inIf = checkAgainstFlow(parseExpression("needs.build.result"), at("if"), facts);
  assert.deepEqual(inIf.tasks.map((t) => [t.id, t.status]), [["build", false]]);
});

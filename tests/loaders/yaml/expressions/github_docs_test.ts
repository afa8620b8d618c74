// The examples of GitHub's documentation, "Evaluate expressions in workflows and actions"
// (docs.github.com: literals, operators, functions, object filters, status check functions),
// as fixed cases: each says what the documentation says the expression gives.
import assert from "node:assert/strict";
import { executeFlow } from "../../../../src/engine/execute.ts";
import { loadYamlFlowText } from "../../../../src/loaders/yaml_loader.ts";
import { isError } from "../../../../src/core/errors.ts";
import { parseTemplate, renderTemplate } from "../../../../src/loaders/yaml/expressions/mod.ts";
import { run } from "./_helpers.ts";

/** A value as written in a YAML value: `${{ … }}` alone keeps its type. */
function value(text: string, values: Record<string, unknown> = {}): unknown {
  return renderTemplate(parseTemplate(text), { values });
}

Deno.test("docs, literals: null, booleans, numbers in JSON's formats, strings in single quotes", () => {
  assert.equal(value("${{ null }}"), null);
  assert.equal(value("${{ false }}"), false);
  assert.equal(value("${{ 711 }}"), 711);
  assert.equal(value("${{ -9.2 }}"), -9.2);
  assert.equal(value("${{ 0xff }}"), 255);
  assert.equal(value("${{ -2.99e-2 }}"), -0.0299);
  assert.equal(value("Mona the Octocat"), "Mona the Octocat");
  assert.equal(value("${{ 'It''s open source!' }}"), "It's open source!");
});

Deno.test("docs, literals: falsy values in a condition are false, others true", () => {
  for (const falsy of ["false", "0", "-0", "''", "null"]) {
    assert.equal(run(`${falsy} && 'ran' || 'skipped'`), "skipped", falsy);
  }
  for (const truthy of ["true", "1", "'false'", "'0'", "fromJSON('[]')", "fromJSON('{}')"]) {
    assert.equal(run(`${truthy} && 'ran' || 'skipped'`), "ran", truthy);
  }
});

Deno.test("docs, operators: grouping, index, property, not, comparisons, and, or", () => {
  const github = {
    event: { issue: { labels: [{ name: "bug" }, { name: "help wanted" }] } },
    ref: "refs/heads/main",
  };
  assert.equal(run("github.event.issue.labels[1].name", { github }), "help wanted");
  assert.equal(run("github['ref']", { github }), "refs/heads/main");
  assert.equal(run("!(1 < 2)"), false);
  assert.equal(run("1 <= 1 && 2 >= 1 && 1 != 2"), true);
  assert.equal(run("(false || true) && !false"), true);
  // The documented way to choose a value: `condition && a || b`.
  const choose =
    "github.ref == 'refs/heads/main' && 'value_for_main_branch' || 'value_for_other_branches'";
  assert.equal(run(choose, { github }), "value_for_main_branch");
  assert.equal(run(choose, { github: { ref: "refs/heads/dev" } }), "value_for_other_branches");
});

Deno.test("docs, operators: strings are compared without regard to case", () => {
  assert.equal(run("'Mona' == 'mona'"), true);
  assert.equal(run("'a' < 'B'"), true);
});

Deno.test("docs, loose equality: types that differ are compared as numbers", () => {
  // Null is 0; true is 1 and false 0; a string is its JSON number (the empty one is 0) or NaN;
  // arrays and objects are NaN.
  assert.equal(run("null == 0"), true);
  assert.equal(run("true == 1"), true);
  assert.equal(run("false == 0"), true);
  assert.equal(run("'42' == 42"), true);
  assert.equal(run("'' == 0"), true);
  assert.equal(run("'forty-two' == 42"), false);
  assert.equal(run("fromJSON('[]') == 0"), false);
  assert.equal(run("fromJSON('{}') == 0"), false);
  // NaN is not equal to NaN; arrays and objects are equal only to the same instance.
  assert.equal(run("NaN == NaN"), false);
  const labels = [{ name: "bug" }];
  assert.equal(run("labels == labels", { labels }), true);
  assert.equal(run("fromJSON('[1]') == fromJSON('[1]')"), false);
});

Deno.test("docs, contains(): a substring, or an item of an array (also of a filter)", () => {
  const github = {
    event_name: "push",
    event: { issue: { labels: [{ name: "bug" }, { name: "help wanted" }] } },
  };
  assert.equal(run("contains('Hello world', 'llo')"), true);
  assert.equal(run("contains(github.event.issue.labels.*.name, 'bug')", { github }), true);
  assert.equal(
    run('contains(fromJSON(\'["push", "pull_request"]\'), github.event_name)', { github }),
    true,
  );
});

Deno.test("docs, startsWith() and endsWith()", () => {
  assert.equal(run("startsWith('Hello world', 'He')"), true);
  assert.equal(run("endsWith('Hello world', 'ld')"), true);
});

Deno.test("docs, format(): {N} placeholders, {{ and }} for braces", () => {
  assert.equal(
    run("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')"),
    "Hello Mona the Octocat",
  );
  assert.equal(
    run("format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')"),
    "{Hello Mona the Octocat!}",
  );
});

Deno.test("docs, join(): the items of an array as text, with a separator", () => {
  const github = { event: { issue: { labels: [{ name: "bug" }, { name: "help wanted" }] } } };
  assert.equal(run("join(github.event.issue.labels.*.name, ', ')", { github }), "bug, help wanted");
});

Deno.test("docs, toJSON() and fromJSON(): pretty JSON, and JSON read back as values", () => {
  const job = { status: "success" };
  assert.equal(run("toJSON(job)", { job }), '{\n  "status": "success"\n}');
  const matrix = run('fromJSON(\'{"include":[{"project":"foo","config":"Debug"}]}\')');
  assert.deepEqual(matrix, { include: [{ project: "foo", config: "Debug" }] });
  // An environment variable's text becomes a number (or a boolean) with fromJSON().
  assert.equal(value("${{ fromJSON(env.time) }}", { env: { time: "3" } }), 3);
  assert.equal(run("fromJSON(env.continue)", { env: { continue: "true" } }), true);
});

Deno.test("docs, case(): the value of the first true condition, else the default", () => {
  const expr = "case(github.ref == 'refs/heads/main', 'production', 'development')";
  assert.equal(run(expr, { github: { ref: "refs/heads/main" } }), "production");
  assert.equal(run(expr, { github: { ref: "refs/heads/feature" } }), "development");
});

Deno.test("docs, object filters: .* over an array of objects, and over an object", () => {
  const fruits = [
    { name: "apple", quantity: 1 },
    { name: "orange", quantity: 2 },
    { name: "pear", quantity: 1 },
  ];
  assert.deepEqual(run("fruits.*.name", { fruits }), ["apple", "orange", "pear"]);
  const vegetables = {
    scallions: { colors: ["green", "white", "red"], ediblePortions: ["roots", "stems", "leaves"] },
    beets: { colors: ["purple", "red"], ediblePortions: ["roots", "stems", "leaves"] },
    artichokes: { colors: ["green", "purple"], ediblePortions: ["hearts", "stems", "leaves"] },
  };
  // The result is an array, also when the filter is applied to an object.
  assert.deepEqual(run("vegetables.*.ediblePortions", { vegetables }), [
    ["roots", "stems", "leaves"],
    ["roots", "stems", "leaves"],
    ["hearts", "stems", "leaves"],
  ]);
});

Deno.test("docs, status check functions: success() by default, failure(), always(), !cancelled()", async () => {
  const text = [
    "tasks:",
    "  build:",
    "    run: exit 1",
    "  default:", // no status function: success() is implied
    "    needs: build",
    "    run: echo ran",
    "  on-failure:",
    "    needs: build",
    "    if: ${{ failure() }}",
    "    run: echo ran",
    "  with-status:",
    "    needs: build",
    "    if: ${{ failure() && tasks.build.status == 'failed' }}",
    "    run: echo ran",
    "  always:",
    "    needs: build",
    "    if: ${{ always() }}",
    "    run: echo ran",
    "  not-cancelled:",
    "    needs: build",
    "    if: ${{ !cancelled() }}",
    "    run: echo ran",
    "  on-success:",
    "    needs: build",
    "    if: success()",
    "    run: echo ran",
  ].join("\n");
  const { def, graph } = await loadYamlFlowText(text, `${Deno.cwd()}/docs.yaml`, {
    env: (n) => (n === "PATH" ? Deno.env.get("PATH") : undefined),
  });
  assert.deepEqual(graph.issues.filter(isError), []);
  const record = await executeFlow(def);
  const status = Object.fromEntries(record.tasks.map((t) => [t.id, t.status]));
  assert.deepEqual(status, {
    build: "failed",
    default: "skipped",
    "on-failure": "succeeded",
    "with-status": "succeeded",
    always: "succeeded",
    "not-cancelled": "succeeded",
    "on-success": "skipped",
  });
});

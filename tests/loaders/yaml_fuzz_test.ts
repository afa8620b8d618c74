import assert from "node:assert/strict";
import fc from "fast-check";
import type { ValidationIssue } from "../../src/core/errors.ts";
import { displayPath } from "../../src/core/protocol.ts";
import { loadYamlFlowText } from "../../src/loaders/yaml_loader.ts";
import { PluginInspector } from "../../src/plugins/inspect.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const SEEDS = [
  "examples/etl.yaml",
  "examples/params.yaml",
  "examples/conditions.yaml",
  "examples/templates.yaml",
  "examples/chestra/workflow.yaml",
  "examples/shared/steps.yaml",
];
const texts = await Promise.all(SEEDS.map((f) => Deno.readTextFile(`${ROOT}/${f}`)));

/** One edit of a flow file's lines; indexes are taken modulo the line count. */
type Mutation =
  | { kind: "delete"; at: number }
  | { kind: "duplicate"; at: number }
  | { kind: "swap"; at: number; with: number }
  | { kind: "indent"; at: number; by: number }
  | { kind: "replace"; at: number; col: number; char: string }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; text: string };

const FRAGMENTS = [
  "${{",
  "}}",
  "${{ }}",
  "${{ tasks. }}",
  "${{ tasks.rates.result[ }}",
  "${{ params.out ",
  "${{ item }}",
  "${{ failure() }}",
  "${{ 'unclosed }}",
  '${{ "a\\',
  "${{ ${{ 1 }} }}",
  "${{ a.b.c.d.e.f }}",
  "${{ toJSON( }}",
];
const KEYS = [
  "tasks",
  "needs",
  "run",
  "uses",
  "with",
  "if",
  "foreach",
  "include",
  "extends",
  "templates",
  "workflow",
  "outputs",
  "retries",
  "cache",
  "params",
  "env",
  "__proto__",
  "constructor",
  "toString",
  "- id",
  "- name",
  "? x",
  "&a x",
  "*a",
];
const VALUES = [
  "",
  "1",
  "-1",
  "true",
  "null",
  "[]",
  "{}",
  "[a, b]",
  "{ attempts: 0 }",
  "|",
  ">-",
  "'x''y'",
  '"x\\"y"',
  "rates",
  "report",
  "shared/steps.yaml",
  "*a",
  "!!binary AAAA",
  "1e999",
  "10m",
  "x: y: z",
];

const CHARS = [
  " ",
  "\t",
  ":",
  "-",
  "#",
  "'",
  '"',
  "{",
  "}",
  "[",
  "]",
  "$",
  "|",
  ">",
  "&",
  "*",
  "!",
  "x",
  "\u00e9",
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
  fc.record({
    kind: fc.constant("indent" as const),
    at: fc.nat(),
    by: fc.integer({ min: -4, max: 4 }),
  }),
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(),
    col: fc.nat(),
    char: fc.oneof(
      fc.constantFrom(...CHARS),
      fc.string({ maxLength: 3 }),
      fc.string({ maxLength: 3, unit: "binary" }),
    ),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(...FRAGMENTS),
      fc.string({ maxLength: 12, unit: "binary" }),
      fc.tuple(
        fc.nat({ max: 8 }),
        fc.constantFrom(...KEYS),
        fc.constantFrom(...VALUES, ...FRAGMENTS),
      )
        .map(([indent, key, value]) => `${" ".repeat(indent)}${key}: ${value}`),
    ),
  }),
);

function mutate(text: string, edits: readonly Mutation[]): string {
  let lines = text.split("\n");
  for (const m of edits) {
    const n = lines.length;
    const i = m.at % n;
    switch (m.kind) {
      case "delete":
        if (n > 1) lines.splice(i, 1);
        break;
      case "duplicate":
        lines.splice(i, 0, lines[i]);
        break;
      case "swap": {
        const j = m.with % n;
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case "indent":
        lines[i] = m.by >= 0
          ? " ".repeat(m.by) + lines[i]
          : lines[i].replace(new RegExp(`^ {0,${-m.by}}`), "");
        break;
      case "replace": {
        const line = lines[i];
        const col = line.length ? m.col % line.length : 0;
        lines[i] = line.slice(0, col) + m.char + line.slice(col + 1);
        break;
      }
      case "truncate": {
        // Cut the text at a character offset: often in the middle of a line.
        const joined = lines.join("\n");
        lines = joined.slice(0, m.at % (joined.length + 1)).split("\n");
        break;
      }
      case "insert": {
        // Either a new line, or the fragment spliced into an existing line.
        if (/^ *[^ ]+: /.test(m.text)) lines.splice(i, 0, m.text);
        else lines[i] = lines[i] + m.text;
        break;
      }
    }
  }
  return lines.join("\n");
}

const lineCounts = new Map<string, string[]>();
async function linesOf(shown: string): Promise<string[]> {
  let lines = lineCounts.get(shown);
  if (!lines) {
    const path = shown.startsWith("/") ? shown : `${Deno.cwd()}/${shown}`;
    lines = (await Deno.readTextFile(path)).split("\n");
    lineCounts.set(shown, lines);
  }
  return lines;
}

async function checkIssues(
  issues: readonly ValidationIssue[],
  mainShown: string,
  mainText: string,
): Promise<void> {
  for (const issue of issues) {
    const loc = issue.location;
    assert.ok(loc, `issue without a location: ${issue.message}`);
    const lines = loc.file === mainShown ? mainText.split("\n") : await linesOf(loc.file);
    const where = `${loc.file}:${loc.line}:${loc.col} (${issue.message})`;
    assert.ok(Number.isInteger(loc.line) && loc.line >= 1, `line < 1 at ${where}`);
    assert.ok(Number.isInteger(loc.col) && loc.col >= 1, `col < 1 at ${where}`);
    assert.ok(loc.line <= lines.length, `line past the end (${lines.length} lines) at ${where}`);
    assert.ok(
      loc.col <= lines[loc.line - 1].length + 1,
      `col past the end of its line at ${where}`,
    );
    assert.equal(typeof issue.message, "string");
    assert.ok(issue.message.length > 0);
  }
}

Deno.test("loadYamlFlowText() never throws on mutated examples and locates every issue in the file", async () => {
  let invalid = 0;
  let runs = 0;
  // One inspector for the whole property: plugin modules load once, not once per run.
  const inspector = new PluginInspector();
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: SEEDS.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      async (seed, edits) => {
        runs++;
        const file = `${ROOT}/${SEEDS[seed]}`;
        const text = mutate(texts[seed], edits);
        const { graph, def } = await loadYamlFlowText(text, file, {
          env: () => undefined,
          plugins: { inspector },
        });
        assert.ok(def, "a definition is returned even for an invalid flow");
        if (graph.issues.length) invalid++;
        await checkIssues(graph.issues, displayPath(new URL(`file://${file}`).href), text);
      },
    ),
    { numRuns: 8000 },
  ).finally(() => inspector.close());
  // The mutations must actually break files, or the property says little.
  assert.ok(invalid > runs / 4, `only ${invalid} of ${runs} mutated files were invalid`);
});

Deno.test("the unmutated examples load without issues (the property's baseline)", async () => {
  for (const [i, seed] of SEEDS.entries()) {
    const { graph } = await loadYamlFlowText(texts[i], `${ROOT}/${seed}`, {
      env: () => undefined,
    });
    // steps.yaml only holds templates: it is not a flow by itself.
    if (seed.endsWith("steps.yaml")) {
      assert.deepEqual(graph.issues.map((x) => x.message), ['Flow "steps" has no tasks']);
    } else assert.deepEqual(graph.issues, [], seed);
  }
});

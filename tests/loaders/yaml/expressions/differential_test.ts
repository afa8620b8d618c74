// Differential tests: generated expressions over generated contexts must give what
// `@actions/expressions` (GitHub's own evaluator) gives when it evaluates the same expression
// directly. Orchestra evaluates with that library too, so what these tests can find are the
// differences of Orchestra's adapter: its contexts (lazy, case-insensitive, over plain values),
// its conversion of values in and out, its templates (`${{ }}` alone or inside text), the
// value a task finally sees, and how `if:` decides.
//
// Kept out of the generators, because they are documented differences (README, "Expressions"):
// strings with more than one doubled quote (the library keeps all but the first ''), keys named
// like Object.prototype members (the library drops them), keys that differ only in case in one
// object (a whole value keeps them all here), and invalid literal format() templates (refused
// when the flow is read here, as GitHub's newest parser does).
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { isError } from "../../../../src/core/errors.ts";
import { executeFlow } from "../../../../src/engine/execute.ts";
import type { TaskRecord } from "../../../../src/engine/types.ts";
import { compileFlow } from "../../../../src/loaders/yaml/compile.ts";
import { loadFlowSpec } from "../../../../src/loaders/yaml/load.ts";
import type { PluginUse } from "../../../../src/loaders/yaml/plugins.ts";
import {
  ExpressionError,
  ExpressionSyntaxError,
  isTruthy,
  parseTemplate,
  renderTemplate,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { definePlugin } from "../../../../src/plugins/contract.ts";
import { checkPlugin } from "../../../../src/plugins/inspect_check.ts";
import { builtinPlugin } from "../../../../src/plugins/resolve.ts";
import { github, type GitHubResult, kindOf } from "./_helpers.ts";

// ---- generated data ----

const KEYS = ["a", "b", "name", "items", "x-y", "n"];
const STRINGS = [
  "",
  "a",
  "A",
  "abc",
  "ABC",
  "1",
  " 1 ",
  "0x10",
  "1e2",
  "true",
  "false",
  "null",
  "ß",
  "ς",
  "Σ",
  "x y",
  "it's",
];
const NUMBERS = [0, 1, -1, 2, 1.5, 0.1, 100, 1e21, 123456789.123];

const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false),
    fc.constantFrom(...NUMBERS),
    fc.constantFrom(...STRINGS),
    fc.array(tie("json"), { maxLength: 3 }),
    fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie("json")), {
      maxLength: 4,
      selector: ([k]) => k,
    })
      .map((pairs) => Object.fromEntries(pairs)),
  ),
}));

/** What a task of the generated flows can read. */
interface World {
  params: Record<string, unknown>;
  up: unknown;
  env: string;
}

const world: fc.Arbitrary<World> = fc.record({
  params: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), json), {
    maxLength: 4,
    selector: ([k]) => k,
  })
    .map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== null))),
  up: json,
  env: fc.constantFrom(...STRINGS),
});

/** The contexts as the task sees them, for the library. */
function contextsOf(w: World): Record<string, unknown> {
  return {
    params: w.params,
    tasks: { up: { result: { v: w.up }, status: "succeeded", outputs: {} } },
    env: { E: w.env },
  };
}

// ---- generated expressions ----

/** A name in any case, as GitHub accepts it. */
function anyCase(name: string): fc.Arbitrary<string> {
  return fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((up) =>
    [...name].map((c, i) => (up[i] ? c.toUpperCase() : c)).join("")
  );
}

const STRING_LITERALS = [
  ...STRINGS.map((s) => `'${s.replaceAll("'", "''")}'`),
  "'{0}'",
  "'[1, \"a\"]'",
  "'{\"a\": 1}'",
];
const NUMBER_LITERALS = [
  "0",
  "1",
  "-1",
  "2",
  "1.5",
  ".5",
  "-0",
  "0xff",
  "0o17",
  "1e3",
  "2.5e-3",
  "NaN",
  "Infinity",
  "-Infinity",
  "123456.789",
];

const literal = fc.oneof(
  fc.constantFrom("null", "true", "false"),
  fc.constantFrom(...NUMBER_LITERALS),
  fc.constantFrom(...STRING_LITERALS),
);

const step = fc.oneof(
  fc.constantFrom(...KEYS).chain((k) => anyCase(k)).map((k) => `.${k}`),
  fc.constantFrom(...KEYS).map((k) => `['${k}']`),
  fc.constantFrom("[0]", "[1]", "[-1]", "['1']", "[true]", "[null]"),
  fc.constantFrom(".*", "[*]"),
);

const ROOTS = [
  fc.tuple(anyCase("params"), fc.constantFrom(...KEYS).chain(anyCase)).map(([r, k]) => `${r}.${k}`),
  fc.tuple(anyCase("tasks"), anyCase("up"), anyCase("result")).map(([t, u, r]) =>
    `${t}.${u}.${r}.v`
  ),
  fc.tuple(anyCase("tasks"), anyCase("up"), anyCase("status")).map(([t, u, s]) => `${t}.${u}.${s}`),
  fc.tuple(anyCase("env"), anyCase("E")).map(([e, k]) => `${e}.${k}`),
  // `params` itself, or a declared param read with [] (an undeclared one is refused here).
  fc.tuple(anyCase("params"), fc.constantFrom("", ".*", "[*]", ...KEYS.map((k) => `['${k}']`)))
    .map(([p, s]) => p + s),
];

const reference = fc.tuple(fc.oneof(...ROOTS), fc.array(step, { maxLength: 3 })).map((
  [root, steps],
) => root + steps.join(""));

const COMPARE = ["==", "!=", "<", "<=", ">", ">="];

const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal,
    reference,
    reference,
    fc.tuple(tie("expr"), fc.constantFrom(...COMPARE), tie("expr")).map(([a, op, b]) =>
      `${a} ${op} ${b}`
    ),
    fc.tuple(tie("expr"), fc.constantFrom("&&", "||"), tie("expr")).map(([a, op, b]) =>
      `${a} ${op} ${b}`
    ),
    tie("expr").map((e) => `!${e}`),
    tie("expr").map((e) => `(${e})`),
    fc.tuple(
      fc.constantFrom("contains", "startsWith", "endsWith", "CONTAINS", "startswith"),
      tie("expr"),
      tie("expr"),
    )
      .map(([f, a, b]) => `${f}(${a}, ${b})`),
    fc.tuple(tie("expr"), fc.option(tie("expr"), { nil: undefined })).map(([a, sep]) =>
      sep === undefined ? `join(${a})` : `join(${a}, ${sep})`
    ),
    tie("expr").map((e) => `toJSON(${e})`),
    fc.oneof(fc.constantFrom(...STRING_LITERALS), tie("expr")).map((e) => `fromJSON(${e})`),
    fc.tuple(
      fc.constantFrom("'{0}'", "'<{0}|{1}>'", "'{{{0}}}'", "'{1}{0}'"),
      tie("expr"),
      tie("expr"),
    )
      .map(([t, a, b]) => `format(${t}, ${a}, ${b})`),
    fc.tuple(tie("expr"), tie("expr"), tie("expr"), tie("expr")).map(([a, x, b, y]) =>
      `case(${a} == ${b}, ${x}, ${y})`
    ),
    fc.tuple(tie("expr"), tie("expr"), tie("expr")).map(([c, x, y]) => `case(${c}, ${x}, ${y})`),
  ),
}));

// ---- comparing ----

type Outcome = { value: unknown } | { error: "syntax" | "evaluation"; message: string };

function attempt(f: () => unknown): Outcome {
  try {
    return { value: f() };
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) return { error: "syntax", message: e.message };
    if (e instanceof ExpressionError) return { error: "evaluation", message: e.message };
    throw e;
  }
}

const jsonOf = (v: unknown) => JSON.parse(JSON.stringify(v) ?? "null");

/** Whether a whole `${{ }}` gave what GitHub's evaluator gives. */
function sameValue(ours: Outcome, theirs: GitHubResult): string | undefined {
  if ("error" in theirs) {
    return "error" in ours && ours.error === theirs.error
      ? undefined
      : `expected a ${theirs.error} error`;
  }
  const nonFinite = theirs.kind === "Number" && !Number.isFinite(theirs.value as number) &&
    theirs.value === null;
  if (nonFinite || (theirs.kind === "Number" && /^(NaN|-?Infinity)$/.test(theirs.text))) {
    // No JSON value holds it: a whole value of NaN or an infinity is an error here.
    return "error" in ours && ours.error === "evaluation"
      ? undefined
      : "expected an error for a non-finite number";
  }
  if ("error" in ours) return `unexpected ${ours.error} error: ${ours.message}`;
  if (kindOf(ours.value) !== theirs.kind) {
    return `kind ${kindOf(ours.value)}, expected ${theirs.kind}`;
  }
  try {
    assert.deepStrictEqual(jsonOf(ours.value), theirs.value);
  } catch {
    return `value ${JSON.stringify(ours.value)}, expected ${JSON.stringify(theirs.value)}`;
  }
  return undefined;
}

function explain(problem: string | undefined, source: string, w: unknown): void {
  if (problem !== undefined) {
    throw new Error(`${problem}\n  expression: ${source}\n  contexts: ${JSON.stringify(w)}`);
  }
}

Deno.test("templates over plain values give what GitHub's evaluator gives", () => {
  fc.assert(
    fc.property(expr, world, (source, w) => {
      const contexts = contextsOf(w);
      const theirs = github(source, contexts);
      const whole = attempt(() =>
        renderTemplate(parseTemplate(`\${{ ${source} }}`), { values: contexts })
      );
      explain(sameValue(whole, theirs), source, contexts);
      const text = attempt(() =>
        renderTemplate(parseTemplate(`<\${{ ${source} }}>`), { values: contexts })
      );
      if ("error" in theirs) return;
      explain(
        "error" in text
          ? `unexpected ${text.error} error in text: ${text.message}`
          : text.value === `<${theirs.text}>`
          ? undefined
          : `text ${JSON.stringify(text.value)}, expected <${theirs.text}>`,
        source,
        contexts,
      );
    }),
    { numRuns: 3000 },
  );
});

// ---- the whole pipeline: a flow file, its params, an upstream task, the value a task sees ----

const probe = definePlugin<{ v?: unknown }>({
  name: "probe",
  version: "1.0.0",
  description: "Gives back the value it was given",
  pure: true,
  params: z.object({ v: z.unknown() }),
  run: (p) => ({ v: p.v ?? null }),
});

function paramType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v;
}

const DIR = await Deno.makeTempDir({ prefix: "orchestra-differential-" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

// The value a task sees through `with:` (alone and in text), and whether `if:` lets it run.
async function throughFlow(
  source: string,
  w: World,
): Promise<{ issues: string[] } | { tasks: Record<string, TaskRecord> }> {
  const q = (text: string) => JSON.stringify(text);
  const lines = [
    "params:",
    // Every key is declared (reading an undeclared param is refused here); some have no value.
    ...KEYS.map((k) => `  ${q(k)}: { type: ${k in w.params ? paramType(w.params[k]) : "string"} }`),
    "env:",
    `  E: ${q(w.env)}`,
    "tasks:",
    "  up:",
    "    uses: probe",
    `    with: { v: ${JSON.stringify(w.up)} }`,
    "  whole:",
    "    needs: up",
    "    uses: probe",
    `    with: { v: ${q(`\${{ ${source} }}`)} }`,
    "  text:",
    "    needs: up",
    "    uses: probe",
    `    with: { v: ${q(`<\${{ ${source} }}>`)} }`,
    "  cond:",
    "    needs: up",
    `    if: ${q(`\${{ ${source} }}`)}`,
    "    uses: probe",
    "    with: { v: ran }",
  ];
  const file = `${DIR}/flow.yaml`;
  const spec = await loadFlowSpec(file, "flow.yaml", lines.join("\n"));
  const plugins = new Map<string, PluginUse>(
    ["up", "whole", "text", "cond"].map((id) => [id, {
      resolved: builtinPlugin("probe", probe),
      check: checkPlugin(probe, {}, { dir: DIR }),
    }]),
  );
  const { def, graph } = compileFlow(spec, { flowDir: DIR, plugins, env: () => undefined });
  const errors = graph.issues.filter(isError);
  if (errors.length) return { issues: errors.map((i) => i.message) };
  const record = await executeFlow(def, w.params);
  return { tasks: Object.fromEntries(record.tasks.map((t) => [t.id, t])) };
}

Deno.test("the whole pipeline: the value a task sees is what GitHub's evaluator gives", async () => {
  await fc.assert(
    fc.asyncProperty(expr, world, async (source, w) => {
      // The flow declares its params in KEYS order, and a run's params object has the order of
      // its declaration: GitHub is given the same object.
      const declared = Object.fromEntries(
        KEYS.filter((k) => k in w.params).map((k) => [k, w.params[k]]),
      );
      const theirs = github(source, contextsOf({ ...w, params: declared }));
      const flow = await throughFlow(source, w);
      if ("issues" in flow) {
        // Only what GitHub's parser refuses may stop a flow from being read.
        // Reading a param the flow does not declare is refused by Orchestra's own static
        // checks, a documented difference (GitHub reads it as null).
        const undeclared = flow.issues.every((i) => i.startsWith("Unknown param "));
        explain(
          ("error" in theirs && theirs.error === "syntax") || undeclared
            ? undefined
            : `refused: ${flow.issues.join("; ")}`,
          source,
          w,
        );
        return;
      }
      const { whole, text, cond } = flow.tasks;
      const outcome = (t: typeof whole): Outcome =>
        t.status === "succeeded"
          ? { value: (t.result as { v: unknown }).v }
          : { error: "evaluation", message: t.error ?? t.status };
      explain(sameValue(outcome(whole), theirs), source, w);
      if ("error" in theirs) {
        explain(
          text.status === "failed" && cond.status === "failed"
            ? undefined
            : "expected the tasks to fail",
          source,
          w,
        );
        return;
      }
      explain(
        sameValue(outcome(text), {
          ...theirs,
          kind: "String",
          value: `<${theirs.text}>`,
          text: "",
        }),
        source,
        w,
      );
      const ran = cond.status === "succeeded";
      explain(
        ran === theirs.truthy
          ? undefined
          : `if: ${cond.status}, expected it ${theirs.truthy ? "to run" : "skipped"}`,
        source,
        w,
      );
      assert.equal(isTruthy(ran), theirs.truthy);
    }),
    { numRuns: 250 },
  );
});

// Measures how Orchestra's expressions agree with GitHub's cross-implementation test cases
// (the `expressions/testdata/*.json` files of github.com/actions/languageservices), which are
// not copied into this repository. Run it on a directory holding them:
//
//   deno run -A tests/loaders/yaml/expressions/github_cases.ts path/to/testdata
//
// Each case is evaluated as a flow does: `${{ expr }}` as a whole YAML value, over its contexts
// as plain values. A value agrees when its kind and JSON are the same; an error agrees when it
// happens at the same stage (a lexing or parsing error is a syntax error here, found when the
// flow is read; an evaluation error happens when the task runs). Prints each disagreement and
// the figure; exits 1 below 99%.
import {
  ExpressionError,
  ExpressionSyntaxError,
  parseTemplate,
  renderTemplate,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { kindOf } from "./_helpers.ts";

interface Case {
  expr: string;
  contexts?: Record<string, unknown>;
  result?: { kind: string; value: unknown };
  err?: { kind: "lexing" | "parsing" | "evaluation"; value: string };
  options?: { skip?: string[] };
}

function outcome(c: Case): string {
  try {
    const v = renderTemplate(parseTemplate(`\${{ ${c.expr} }}`), { values: c.contexts ?? {} });
    return `${kindOf(v)} ${JSON.stringify(v)}`;
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) return `syntax error: ${e.message}`;
    if (e instanceof ExpressionError) return `evaluation error: ${e.message}`;
    return `crash: ${(e as Error).stack}`;
  }
}

function expected(c: Case): string {
  if (c.err) return `${c.err.kind === "evaluation" ? "evaluation" : "syntax"} error`;
  return `${c.result!.kind} ${JSON.stringify(c.result!.value)}`;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: deno run -A github_cases.ts DIRECTORY_OF_TESTDATA_JSON");
    Deno.exit(2);
  }
  let total = 0;
  let agree = 0;
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).map((e) =>
    e.name
  )
    .sort();
  for (const file of files) {
    const groups = JSON.parse(await Deno.readTextFile(`${dir}/${file}`)) as Record<string, Case[]>;
    for (const [group, cases] of Object.entries(groups)) {
      for (const c of cases) {
        if (c.options?.skip?.includes("typescript")) continue;
        total++;
        const want = expected(c);
        const got = outcome(c);
        const ok = c.err ? got.startsWith(want) : got === want;
        if (ok) agree++;
        else console.log(`${file} ${group}: ${c.expr}\n  expected ${want}\n  got      ${got}`);
      }
    }
  }
  const share = total ? (100 * agree) / total : 0;
  console.log(`${agree} of ${total} cases agree (${share.toFixed(1)}%) in ${files.length} files`);
  Deno.exit(share >= 99 ? 0 : 1);
}

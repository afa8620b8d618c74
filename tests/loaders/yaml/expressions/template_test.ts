import assert from "node:assert/strict";
import {
  parseTemplate,
  renderTemplate,
  shellQuote,
  type TemplatePart,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { evalError, syntaxError } from "./_helpers.ts";

const ctx = {
  values: {
    params: { n: 2, name: "etl", tags: ["a", "b"], obj: { k: "v" }, nothing: null, yes: true },
  },
};

function render(text: string, options?: { quote?: (v: unknown) => string }): unknown {
  return renderTemplate(parseTemplate(text), ctx, options);
}

function part(p: string | TemplatePart): TemplatePart {
  if (typeof p === "string") {
    throw new Error(`expected an expression, got text ${JSON.stringify(p)}`);
  }
  return p;
}

Deno.test("parseTemplate() keeps text without ${{ as one part", () => {
  for (
    const text of ["", "plain", "cost ${ 5 }", "$x ${x} $ {{x}}", "${ {a}}", "}} ${", "a $ {{ b }}"]
  ) {
    const t = parseTemplate(text);
    assert.deepEqual(t.parts, [text], text);
    assert.equal(t.whole, false);
    assert.equal(renderTemplate(t, ctx), text);
  }
});

Deno.test("parseTemplate() splits text and expressions, with offsets in the text", () => {
  const text = "a ${{ params.n }} b ${{params.name}}";
  const t = parseTemplate(text);
  assert.equal(t.parts.length, 4);
  assert.deepEqual([t.parts[0], t.parts[2]], ["a ", " b "]);
  const [first, second] = [part(t.parts[1]), part(t.parts[3])];
  assert.deepEqual([first.start, first.end, first.source], [2, 17, " params.n "]);
  assert.deepEqual([second.start, second.end, second.source], [20, 36, "params.name"]);
  assert.equal(first.expr.offset, 5);
  assert.equal(render(text), "a 2 b etl");
});

Deno.test("an expression ends at the first }} outside a string", () => {
  assert.equal(render("${{ '}}' }}"), "}}");
  assert.equal(render("<${{ 'it''s }}' }}>"), "<it's }}>");
  assert.equal(render("${{ params.n }}}"), "2}");
  assert.equal(render("${{ params.n }}${{ params.name }}"), "2etl");
  assert.equal(render("$${{ params.n }}"), "$2");
  // The way to write ${{ literally, as on GitHub.
  assert.equal(render("${{ '${{ x }}' }}"), "${{ x }}");
});

Deno.test("only a value that is exactly one ${{ }} keeps its type", () => {
  assert.equal(parseTemplate("${{ params.n }}").whole, true);
  assert.equal(render("${{ params.n }}"), 2);
  assert.deepEqual(render("${{ params.tags }}"), ["a", "b"]);
  assert.equal(render("${{ params.yes }}"), true);
  assert.equal(render("${{ params.nothing }}"), null);
  // Anything around it, even a space, makes text — as GitHub reads `format(' {0}', …)`.
  assert.equal(parseTemplate(" ${{ params.n }}").whole, false);
  assert.equal(render(" ${{ params.n }}"), " 2");
  assert.equal(render("${{ params.n }}\n"), "2\n");
});

Deno.test("in text, values are written as GitHub writes them", () => {
  assert.equal(
    render("n=${{ params.n }} yes=${{ params.yes }} none=${{ params.nothing }}."),
    "n=2 yes=true none=.",
  );
  assert.equal(render("tags=${{ params.tags }} obj=${{ params.obj }}"), "tags=Array obj=Object");
  assert.equal(render("${{ toJSON(params.tags) }}!"), '[\n  "a",\n  "b"\n]!');
  assert.equal(render("${{ 0.1 }}-${{ 1.0 }}"), "0.1-1");
});

Deno.test("an empty ${{ }} and an unclosed ${{ are syntax errors at their place", () => {
  const empty = syntaxError(() => parseTemplate("echo ${{ }} done"));
  assert.equal(empty.reason, "An expression was expected");
  assert.equal(empty.offset, 8);
  const unclosed = syntaxError(() => parseTemplate("echo ${{ params.n "));
  assert.equal(unclosed.reason, 'Unclosed "${{"');
  assert.equal(unclosed.offset, 5);
  assert.equal(syntaxError(() => parseTemplate("${{ 'a }}")).reason, 'Unclosed "${{"');
  const inner = syntaxError(() => parseTemplate("x ${{ 1 == }}"));
  assert.equal(inner.offset, 10);
});

Deno.test("a whole value of NaN or an infinity is an error: no JSON value holds it", () => {
  const e = evalError(() => render("${{ NaN }}"));
  assert.match(e.message, /is NaN, which is not a JSON value/);
  assert.match(e.hint!, /format\('\{0\}', …\)/);
  assert.equal(render("${{ format('{0}', Infinity) }}"), "Infinity");
  assert.equal(render("x${{ NaN }}"), "xNaN");
});

Deno.test("a quote function turns every value into text, even a whole one", () => {
  assert.equal(render("${{ params.n }}", { quote: shellQuote }), "'2'");
  assert.equal(
    render("echo ${{ params.name }} ${{ params.tags }}", { quote: shellQuote }),
    "echo 'etl' 'Array'",
  );
  const e = evalError(() =>
    render("x ${{ params.name }}", {
      quote: () => {
        throw new TypeError("no");
      },
    })
  );
  assert.equal(e.message, "Cannot put the value of ${{ params.name }} into text: no");
  assert.deepEqual([e.offset, e.length], [2, 18]);
});

Deno.test("an evaluation error keeps its place in the template", () => {
  const e = evalError(() => render("a ${{ fromJSON('x') }}"));
  assert.equal(e.offset, 6);
});

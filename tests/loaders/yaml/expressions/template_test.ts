import assert from "node:assert/strict";
import {
  parseExpression,
  parseTemplate,
  renderTemplate,
  type TemplatePart,
} from "../../../../src/loaders/yaml/expressions/mod.ts";
import { evalError, show, syntaxError } from "./_helpers.ts";

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

Deno.test("parseTemplate() splits text and expressions with their offsets", () => {
  const text = "a ${{ params.n }} b ${{params.name}}";
  const t = parseTemplate(text);
  assert.equal(t.text, text);
  assert.equal(t.whole, false);
  assert.equal(t.parts.length, 4);
  assert.deepEqual([t.parts[0], t.parts[2]], ["a ", " b "]);
  const [first, second] = [part(t.parts[1]), part(t.parts[3])];
  assert.deepEqual([first.start, first.end, first.source], [2, 17, " params.n "]);
  assert.deepEqual([second.start, second.end, second.source], [20, 36, "params.name"]);
  assert.equal(text.slice(first.expr.start, first.expr.end), "params.n");
  assert.equal(text.slice(second.expr.start, second.expr.end), "params.name");
  assert.deepEqual(parseExpression(first.source, first.start + 3), first.expr);
  assert.equal(render(text), "a 2 b etl");
});

Deno.test("parseTemplate() handles adjacent expressions and $ before ${{", () => {
  const t = parseTemplate("${{ params.n }}${{ params.name }}");
  assert.equal(t.parts.length, 2);
  assert.equal(t.whole, false);
  assert.equal(renderTemplate(t, ctx), "2etl");
  assert.equal(render("$${{ params.n }}"), "$2");
  assert.equal(render("${{ params.n }}}"), "2}");
  assert.equal(render("${ ${{ params.n }}"), "${ 2");
});

Deno.test("parseTemplate() does not end an expression at }} inside strings or objects", () => {
  assert.equal(render("${{ '}}' }}"), "}}");
  assert.equal(render('x${{ "a}}b" }}'), "xa}}b");
  assert.deepEqual(render("${{ {a: {b: 1}} }}"), { a: { b: 1 } });
  assert.equal(show(part(parseTemplate("${{ {a: {b: 1}}}}").parts[0]).expr), "{a: {b: 1}}");
  assert.equal(render("${{ format('{{0}}', 1) }}!"), "{0}!");
});

Deno.test("a whole template keeps the value's type", () => {
  assert.equal(render("${{ params.n }}"), 2);
  assert.equal(render("  ${{ params.yes }}\n"), true);
  assert.equal(render("${{ params.nothing }}"), null);
  assert.deepEqual(render("${{ params.tags }}"), ["a", "b"]);
  assert.deepEqual(render("${{ params.obj }}"), { k: "v" });
  assert.equal(parseTemplate(" ${{ 1 }} ").whole, true);
  assert.equal(parseTemplate("x${{ 1 }}").whole, false);
  assert.equal(parseTemplate("${{ 1 }} ${{ 2 }}").whole, false);
});

Deno.test("an interpolated template renders values as text", () => {
  assert.equal(render("n=${{ params.n }}"), "n=2");
  assert.equal(render("[${{ params.nothing }}]"), "[]");
  assert.equal(render("${{ params.yes }}!"), "true!");
  assert.equal(render("tags=${{ params.tags }}"), 'tags=["a","b"]');
  assert.equal(render("obj=${{ params.obj }}"), 'obj={"k":"v"}');
  assert.equal(render("${{ 1.5 }} ${{ -0 }}"), "1.5 0");
});

Deno.test("renderTemplate() applies quote to each value, never to the literal text", () => {
  const quote = (v: unknown) => `<${JSON.stringify(v)}>`;
  assert.equal(
    render("'a' ${{ params.name }} \"b\" ${{ params.n }}", { quote }),
    `'a' <"etl"> "b" <2>`,
  );
  assert.equal(render("${{ params.n }}", { quote }), "<2>");
  assert.equal(render("no expressions", { quote }), "no expressions");
});

Deno.test("renderTemplate() reports values that cannot become text at the ${{ … }}", () => {
  const t = parseTemplate("run ${{ f }}");
  const err = evalError(() => renderTemplate(t, { values: { f: () => 1 } }));
  assert.match(
    err.message,
    /^Cannot put the value of \$\{\{ f \}\} into text: A function is not a JSON value/,
  );
  assert.deepEqual([err.offset, err.length], [4, 8]);
  const cause = new Error("no");
  const quoted = evalError(() =>
    renderTemplate(parseTemplate("x ${{ 1 }}"), ctx, {
      quote: () => {
        throw cause;
      },
    })
  );
  assert.equal(quoted.cause, cause);
  assert.deepEqual([quoted.offset, quoted.length], [2, 8]);
});

Deno.test("renderTemplate() reports evaluation errors at offsets in the text", () => {
  const text = "echo ${{ params.name - 1 }}";
  const err = evalError(() => render(text));
  assert.equal(text.slice(err.offset, err.offset + err.length), "params.name - 1");
  assert.match(err.message, /Cannot subtract string and number/);
});

Deno.test("parseTemplate() reports an unclosed ${{ at its offset", () => {
  for (const text of ["echo ${{ params.n", "echo ${{ params.n }", "echo ${{", "echo ${{ it's"]) {
    const err = syntaxError(() => parseTemplate(text));
    assert.equal(err.message, 'Unclosed "${{"; end the expression with "}}"', text);
    assert.deepEqual([err.offset, err.length], [5, 3], text);
  }
});

Deno.test("parseTemplate() reports errors inside expressions at offsets in the text", () => {
  const cases: [string, number, string][] = [
    ["ab ${{ a + }}", 11, 'Expected a value after "+"'],
    ["ab ${{ }}", 3 + 3, "Empty expression"],
    ["x ${{ a = 1 }}", 8, 'Unexpected character "="'],
    ["${{ ${{ a }} }}", 4, 'Unexpected character "$"'],
    ["${{ 'it }} }}", 4, "Unterminated string"],
    ["${{ 'it }} }}'", 0, 'Unclosed "${{"'],
    ["${{ a } b }}", 6, 'Unexpected "}"; end the expression with "}}"'],
    ["ok ${{ a }} then ${{ (b }}", 21, 'Unclosed "("'],
  ];
  for (const [text, offset, message] of cases) {
    const err = syntaxError(() => parseTemplate(text));
    assert.equal(err.offset, offset, `${text}: ${err.message}`);
    assert.ok(err.message.startsWith(message), `${text}: ${err.message}`);
    assert.ok(err.offset + err.length <= text.length);
  }
});

import assert from "node:assert/strict";
import fc from "fast-check";
import { maskValue, secretMasker } from "../../src/permissions/masking.ts";

Deno.test("secretMasker() searches values literally: pattern syntax is just text", () => {
  const mask = secretMasker(["a.b", "(x", "$&", "\\d+", "[z"]);
  assert.equal(mask("a.b axb"), "*** axb");
  assert.equal(mask("open (x then $& and \\d+ and [z"), "open *** then *** and *** and ***");
  assert.equal(mask("12345"), "12345", "\\d+ is not a pattern");
});

Deno.test("secretMasker() masks a short value as a whole string or a whole token only", () => {
  const mask = secretMasker(["e", "42", ":"]);
  assert.equal(mask("e"), "***");
  assert.equal(mask("Bearer e"), "Bearer ***");
  assert.equal(mask("Bearer"), "Bearer", "a letter of a word is not the secret");
  assert.equal(mask("pin=42;"), "pin=***;");
  assert.equal(mask("1420"), "1420");
  assert.equal(mask("a:b"), "a:b");
  assert.equal(mask("key : value"), "key *** value");
  assert.equal(mask(":"), "***");
});

Deno.test("secretMasker() masks a value of four characters or more wherever it occurs", () => {
  const mask = secretMasker(["abcd"]);
  assert.equal(mask("xxabcdyy abcd"), "xx***yy ***");
});

Deno.test("secretMasker() masks the longest value first and twice changes nothing", () => {
  const mask = secretMasker(["admin", "admin123", "*"]);
  assert.equal(mask("user=admin pass=admin123"), "user=*** pass=***");
  assert.equal(mask("a * b"), "a *** b");
  assert.equal(mask(mask("a * b")), "a *** b");
});

Deno.test("maskValue() masks string leaves and keys and keeps the shape and types", () => {
  const mask = secretMasker(['"', "{", "tok3n"]);
  const value = {
    attempts: 1,
    ok: true,
    none: null,
    quote: '"',
    brace: "{",
    text: "Bearer tok3n",
    tok3n: ["{", 2, { deep: '"' }],
    dropped: undefined,
  };
  assert.deepEqual(maskValue(value, mask), {
    attempts: 1,
    ok: true,
    none: null,
    quote: "***",
    brace: "***",
    text: "Bearer ***",
    "***": ["***", 2, { deep: "***" }],
  });
  assert.deepEqual(value.tok3n, ["{", 2, { deep: '"' }], "the input is not changed");
});

Deno.test("maskValue() does what JSON.stringify does with dates, functions and cycles", () => {
  const mask = secretMasker(["2020"]);
  const cyclic: Record<string, unknown> = { at: new Date(0), f: () => 1, list: [() => 1] };
  cyclic.self = cyclic;
  assert.deepEqual(maskValue(cyclic, mask), {
    at: "1970-01-01T00:00:00.000Z",
    list: [null],
    self: "[Circular]",
  });
});

Deno.test("maskValue() always leaves valid JSON and never shows a value as a whole string", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 3 }), fc.jsonValue(), (secret, json) => {
      const mask = secretMasker([secret]);
      const out = maskValue({ json, secret, list: [secret] }, mask);
      const text = JSON.stringify(out);
      assert.equal(JSON.stringify(JSON.parse(text)), text, "the copy is valid JSON");
      assert.equal(out.secret, "***");
      assert.deepEqual(out.list, ["***"]);
    }),
    { numRuns: 300 },
  );
});

import assert from "node:assert/strict";
import { didYouMean, editDistance, suggest } from "../../src/core/suggest.ts";

Deno.test("editDistance() counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", "abc"), 0);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("extrct", "extract"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("flaw", "lawn"), 2);
});

Deno.test("editDistance() is symmetric", () => {
  for (const [a, b] of [["needs", "need"], ["retries", "retires"], ["abc", "xyz"]]) {
    assert.equal(editDistance(a, b), editDistance(b, a));
  }
});

Deno.test("suggest() returns the closest candidate when it is a likely typo", () => {
  assert.equal(suggest("extrct", ["extract", "load", "transform"]), "extract");
  assert.equal(suggest("retires", ["retries", "timeout"]), "retries");
  assert.equal(suggest("need", ["needs", "with", "env"]), "needs");
});

Deno.test("suggest() ignores case when comparing but returns the candidate's spelling", () => {
  assert.equal(suggest("EXTRACT", ["extract"]), "extract");
  assert.equal(suggest("loadData", ["LoadData", "save"]), "LoadData");
});

Deno.test("suggest() returns undefined when nothing is close enough", () => {
  assert.equal(suggest("zzz", ["extract", "load"]), undefined);
  assert.equal(suggest("timeout", ["priority"]), undefined);
  assert.equal(suggest("x", []), undefined);
});

Deno.test("suggest() allows more edits for longer names", () => {
  // Short names tolerate one edit, a 9-letter name three.
  assert.equal(suggest("ab", ["xy"]), undefined);
  assert.equal(suggest("ab", ["ax"]), "ax");
  assert.equal(suggest("transfrom", ["transform"]), "transform");
  assert.equal(suggest("concurrency", ["concurency"]), "concurency");
});

Deno.test("suggest() prefers the first of equally close candidates", () => {
  assert.equal(suggest("cat", ["bat", "hat"]), "bat");
});

Deno.test("didYouMean() formats a suggestion or returns an empty string", () => {
  assert.equal(didYouMean("extrct", ["extract"]), ' (did you mean "extract"?)');
  assert.equal(didYouMean("zzz", ["extract"]), "");
});

Deno.test("suggest() accepts any iterable of candidates", () => {
  assert.equal(suggest("lod", new Set(["load", "save"])), "load");
  assert.equal(suggest("lod", new Map([["load", 1]]).keys()), "load");
});

Deno.test("editDistance() counts swapping two neighbouring letters as one edit", () => {
  assert.equal(editDistance("rnu", "run"), 1);
  assert.equal(editDistance("retires", "retries"), 1);
  assert.equal(suggest("ned", ["den", "end"]), "end");
});

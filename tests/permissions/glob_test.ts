import assert from "node:assert/strict";
import {
  compileGlob,
  globMatches,
  globMatchesEveryExtension,
  globMatchesSomeExtension,
  matchesGlob,
} from "../../src/permissions/_glob.ts";

Deno.test("globMatches() without a separator: * matches any run of characters", () => {
  assert.ok(matchesGlob("etl-*", "etl-"));
  assert.ok(matchesGlob("*-daily", "etl-x-daily"));
  assert.ok(matchesGlob("a*b*c", "aXXbYYc"));
  assert.ok(!matchesGlob("a*b*c", "aXXbYY"));
  assert.ok(matchesGlob("*", ""));
  assert.ok(!matchesGlob("etl", "etl2"));
});

Deno.test("globMatches() with a separator: * stays in a segment, ** crosses them", () => {
  const one = compileGlob("/home/*/data", "/");
  assert.ok(globMatches(one, "/home/ana/data"));
  assert.ok(!globMatches(one, "/home/ana/x/data"));
  const any = compileGlob("/home/**/data", "/");
  assert.ok(globMatches(any, "/home/ana/x/data"));
  assert.ok(globMatches(compileGlob("**", "/"), "/any/path"));
});

Deno.test("glob extension questions answer overlap and cover for prefixes", () => {
  const g = compileGlob("AWS_SECRET*");
  assert.ok(globMatchesSomeExtension(g, "AWS_"));
  assert.ok(!globMatchesSomeExtension(g, "GCP_"));
  assert.ok(!globMatchesEveryExtension(g, "AWS_"));
  assert.ok(globMatchesEveryExtension(g, "AWS_SECRET_"));
  assert.ok(!globMatchesEveryExtension(compileGlob("/data/*", "/"), "/data/"));
  assert.ok(globMatchesEveryExtension(compileGlob("/data/**", "/"), "/data/"));
});

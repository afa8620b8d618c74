import assert from "node:assert/strict";
import { maskPassword, maskPasswordIn } from "../../src/core/connection_url.ts";

Deno.test("maskPassword() replaces only the password, keeping the rest as written", () => {
  const cases: [string, string][] = [
    ["postgres://ada:s3cret@db:5432/app", "postgres://ada:***@db:5432/app"],
    [
      "postgresql://ada:s3cret@db/app?sslmode=require",
      "postgresql://ada:***@db/app?sslmode=require",
    ],
    ["postgres://ada:p%40ss@db/app", "postgres://ada:***@db/app"],
    ["postgres://ada:p@ss@db/app", "postgres://ada:***@db/app"],
    ["postgres://ada:@db/app", "postgres://ada:***@db/app"],
    ["postgres://ada@db/app", "postgres://ada@db/app"],
    ["postgres://db:5432/app", "postgres://db:5432/app"],
    ["postgres://ada:s3cret@db", "postgres://ada:***@db"],
    ["postgres://ada:s3cret@[nope", "postgres://ada:***@[nope"],
    ["not a url", "not a url"],
  ];
  for (const [url, shown] of cases) assert.equal(maskPassword(url), shown, url);
});

Deno.test("maskPasswordIn() masks the URL and its password, encoded or not, in a message", () => {
  const url = "postgres://ada:p%40ss@db/app";
  assert.equal(
    maskPasswordIn(`connecting to ${url} with p@ss and p%40ss failed`, url),
    "connecting to postgres://ada:***@db/app with *** and *** failed",
  );
  assert.equal(maskPasswordIn("no secret here", "postgres://ada@db/app"), "no secret here");
});

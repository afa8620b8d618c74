import assert from "node:assert/strict";
import { parseDuration } from "../../src/core/duration.ts";

Deno.test("parseDuration() returns a number of milliseconds unchanged", () => {
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration(1.5), 1.5);
});

Deno.test("parseDuration() reads every unit", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("10m"), 600_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("1d"), 86_400_000);
});

Deno.test("parseDuration() adds up compound durations", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1s500ms"), 1500);
  assert.equal(parseDuration("1d2h3m4s5ms"), 86_400_000 + 7_200_000 + 180_000 + 4000 + 5);
});

Deno.test("parseDuration() accepts fractions and surrounding whitespace", () => {
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0.5h"), 1_800_000);
  assert.equal(parseDuration("  30s  "), 30_000);
});

Deno.test("parseDuration() reads a bare number string as milliseconds", () => {
  assert.equal(parseDuration("1500"), 1500);
  assert.equal(parseDuration("2.5"), 2.5);
});

Deno.test("parseDuration() does not confuse minutes with milliseconds", () => {
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("5ms"), 5);
  assert.equal(parseDuration("5m5ms"), 300_005);
});

Deno.test("parseDuration() rejects negative and non-finite numbers with a RangeError", () => {
  for (const bad of [-1, Number.NaN, Infinity, -Infinity]) {
    assert.throws(() => parseDuration(bad), RangeError, String(bad));
  }
  assert.throws(() => parseDuration(-5), /non-negative number of milliseconds/);
});

Deno.test("parseDuration() rejects malformed strings and says what the format is", () => {
  for (const bad of ["", "   ", "30x", "s", "-5s", "1h 30m", "5 s", "1h30", "ms", "1.s"]) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes(`"${bad}"`) &&
        e.message.includes('"500ms", "30s"'),
      `expected ${JSON.stringify(bad)} to be rejected`,
    );
  }
});

Deno.test("parseDuration() rejects values that are neither numbers nor strings with a TypeError", () => {
  assert.throws(() => parseDuration(true as never), TypeError);
  assert.throws(() => parseDuration(null as never), TypeError);
  assert.throws(() => parseDuration({} as never), /use milliseconds or a string like "30s"/);
});

Deno.test("parseDuration() gives the same answer when called repeatedly", () => {
  // The parser keeps a sticky regular expression between calls; a failed parse must not
  // leave it in a state that breaks the next one.
  assert.throws(() => parseDuration("1h30x"));
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
});

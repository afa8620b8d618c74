import assert from "node:assert/strict";
import { NotJsonError, RunCancelledError, TaskTimeoutError } from "../../src/core/errors.ts";
import type { RetryPolicy } from "../../src/core/model.ts";
import { isRetryable, retryDelay } from "../../src/engine/retry.ts";

const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 5,
  delayMs: 100,
  backoff: 2,
  maxDelayMs: 300_000,
  jitter: 0,
  ...p,
});

Deno.test("retryDelay() grows by the backoff factor", () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(policy(), n)), [100, 200, 400, 800]);
  assert.deepEqual([1, 2, 3].map((n) => retryDelay(policy({ backoff: 3 }), n)), [100, 300, 900]);
});

Deno.test("retryDelay() stays constant with a backoff of 1", () => {
  assert.deepEqual([1, 2, 3].map((n) => retryDelay(policy({ backoff: 1 }), n)), [100, 100, 100]);
});

Deno.test("retryDelay() never exceeds maxDelay", () => {
  const p = policy({ maxDelayMs: 300 });
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(p, n)), [100, 200, 300, 300]);
  assert.equal(retryDelay(p, 10_000), 300);
});

Deno.test("retryDelay() spreads by at most the jitter fraction", () => {
  const p = policy({ jitter: 0.2 });
  assert.equal(retryDelay(p, 1, () => 0), 80);
  assert.equal(retryDelay(p, 1, () => 0.5), 100);
  assert.equal(retryDelay(p, 1, () => 0.999999), 120);
  assert.equal(retryDelay(p, 2, () => 0), 160);
  for (let i = 0; i < 200; i++) {
    const d = retryDelay(p, 3);
    assert.ok(d >= 320 && d <= 480, `${d} is outside 400 ± 20%`);
  }
});

Deno.test("retryDelay() with jitter still respects maxDelay and stays non-negative", () => {
  const p = policy({ delayMs: 1000, maxDelayMs: 1000, jitter: 1 });
  assert.equal(retryDelay(p, 1, () => 0.999), 1000);
  assert.equal(retryDelay(p, 1, () => 0), 0);
});

Deno.test("isRetryable() retries every error by default", () => {
  assert.equal(isRetryable(policy(), new Error("x")), true);
  assert.equal(isRetryable(policy(), "a string"), true);
  assert.equal(isRetryable(policy(), new TaskTimeoutError("t", 10)), true);
});

Deno.test("isRetryable() never retries invalid data or cancellation", () => {
  const always = policy({ retryOn: () => true });
  for (const p of [policy(), always]) {
    assert.equal(isRetryable(p, new NotJsonError("t", "result", "a Date", "x")), false);
    assert.equal(isRetryable(p, new RunCancelledError("run")), false);
  }
});

Deno.test("isRetryable() matches error names and constructor names", () => {
  class RateLimited extends Error {}
  const p = policy({ retryOn: ["TypeError", "RateLimited", "Custom"] });
  assert.equal(isRetryable(p, new TypeError("x")), true);
  assert.equal(isRetryable(p, new RateLimited("x")), true);
  assert.equal(isRetryable(p, Object.assign(new Error("x"), { name: "Custom" })), true);
  assert.equal(isRetryable(p, new RangeError("x")), false);
  assert.equal(isRetryable(p, new Error("TypeError")), false);
  assert.equal(isRetryable(p, null), false);
  assert.equal(isRetryable(p, undefined), false);
});

Deno.test("isRetryable() matches classes including subclasses", () => {
  class HttpError extends Error {}
  class ServerError extends HttpError {}
  const p = policy({ retryOn: [HttpError] });
  assert.equal(isRetryable(p, new HttpError()), true);
  assert.equal(isRetryable(p, new ServerError()), true);
  assert.equal(isRetryable(p, new Error()), false);
});

Deno.test("isRetryable() asks a predicate and treats a throwing predicate as no", () => {
  const seen: unknown[] = [];
  const p = policy({
    retryOn: (e) => {
      seen.push(e);
      return (e as Error).message.startsWith("503");
    },
  });
  const err = new Error("503 unavailable");
  assert.equal(isRetryable(p, err), true);
  assert.equal(isRetryable(p, new Error("400 bad request")), false);
  assert.equal(seen[0], err);
  assert.equal(
    isRetryable(
      policy({
        retryOn: () => {
          throw new Error("bug");
        },
      }),
      err,
    ),
    false,
  );
});

Deno.test("isRetryable() retries nothing with an empty list", () => {
  assert.equal(isRetryable(policy({ retryOn: [] }), new Error("x")), false);
});

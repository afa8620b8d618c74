/**
 * Retry decisions: which errors are retried, and how long to wait before each retry.
 *
 * @module
 */

import { NotJsonError, RunCancelledError } from "../core/errors.ts";
import type { RetryPolicy } from "../core/model.ts";

/**
 * The delay before retry number `retry` (1 for the first retry): exponential backoff, capped by
 * `maxDelayMs`, spread by `jitter` using `random()` in [0, 1).
 *
 * @example
 * ```ts
 * import { retryDelay } from "./retry.ts";
 * const policy = { attempts: 5, delayMs: 100, backoff: 2, maxDelayMs: 300, jitter: 0 };
 * console.assert([1, 2, 3].map((n) => retryDelay(policy, n)).join() === "100,200,300");
 * ```
 */
export function retryDelay(policy: RetryPolicy, retry: number, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * policy.backoff ** (retry - 1));
  if (!policy.jitter) return base;
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base + spread)));
}

/** Whether `error` may be retried under `policy`. Invalid data and cancellation never are. */
export function isRetryable(policy: RetryPolicy, error: unknown): boolean {
  if (error instanceof NotJsonError || error instanceof RunCancelledError) return false;
  const filter = policy.retryOn;
  if (filter === undefined) return true;
  if (typeof filter === "function") {
    try {
      return !!filter(error);
    } catch {
      return false;
    }
  }
  return filter.some((f) =>
    typeof f === "string"
      ? (error as { name?: unknown })?.name === f ||
        (error as { constructor?: { name?: unknown } })?.constructor?.name === f
      : error instanceof f
  );
}

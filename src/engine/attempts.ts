/**
 * Attempts: what happens to one task call between its start and its end. The cache is looked
 * up first; then, once per call, its encrypted arguments are decrypted and its permissions
 * authorized; then each attempt runs on the executor its `executor` setting names (inside the
 * hooks and middleware, if the run has any), under its timeout, and a failed attempt is retried
 * with backoff while its policy allows. The outcome goes back to the scheduler.
 *
 * An inline task without hooks, middleware or timeout stays synchronous where the task is: no
 * promise and no closure per attempt.
 *
 * @module
 */

import { errorMessage, NotJsonError, TaskTimeoutError } from "../core/errors.ts";
import { findNonJson } from "../core/json.ts";
import type { PermissionSet } from "../core/permissions.ts";
import type { Logger } from "@logtape/logtape";
import { decryptDeep, holdsEncrypted } from "../permissions/encrypted.ts";
import { requestsAny } from "./calls.ts";
import { type ContextScope, Ctx } from "./context.ts";
import type { ExecutorRegistry } from "./executor.ts";
import type { HookRunner } from "./hooks.ts";
import { CACHED, type Node, RUNNING } from "./node.ts";
import { isRetryable, retryDelay } from "./retry.ts";
import type { Launcher, Scheduler } from "./scheduler.ts";
import type { TaskCache } from "./task_cache.ts";
import type { PriorAttempts, RunOptions } from "./types.ts";

/** What the attempts of one run work with. */
export interface AttemptParts {
  /** The run's contexts' shared part (ids, params, clock, secrets, events). */
  scope: ContextScope;
  /** Executors by name. */
  executors: ExecutorRegistry;
  /** Hooks and middleware. */
  hooks: HookRunner;
  /** The result cache, with cache identity. */
  cache: TaskCache;
  /** Grants a task that requests permissions what it may have. */
  authorize: RunOptions["authorize"];
  /** Decrypts `enc:v1:` values in arguments. */
  decrypt: RunOptions["decrypt"];
  /** Random numbers for jitter. */
  random: () => number;
  /** The engine's logger. */
  log: () => Logger;
  /** Attempts calls made before the run was restarted. */
  prior?: ReadonlyMap<string, PriorAttempts>;
}

/**
 * Runs the attempts of each call the scheduler starts.
 *
 * @example
 * ```ts ignore
 * const attempts = new Attempts(parts, scheduler);
 * scheduler.launcher = attempts;
 * ```
 */
export class Attempts implements Launcher {
  readonly #p: AttemptParts;
  readonly #sched: Scheduler;

  /** Attempts that report to `sched`. */
  constructor(parts: AttemptParts, sched: Scheduler) {
    this.#p = parts;
    this.#sched = sched;
  }

  /** Starts a call: the cache first (if it is cached), then its first attempt. */
  start(node: Node): void {
    const prior = this.#p.prior?.get(node.id);
    if (prior !== undefined) {
      this.#continue(node, prior);
      return;
    }
    if (node.config.cache === undefined) {
      this.#launch(node);
      return;
    }
    // A cache lookup hashes its key, and a persistent cache answers later: the task keeps its
    // slot meanwhile.
    this.#p.cache.lookup(node, node.startedAt).then(
      (found) => {
        if (node.state !== RUNNING) return;
        node.cacheKey = found.key;
        if (found.hit) this.#cacheHit(node, found.value);
        else {
          this.#p.log().debug("Cache miss: {why} (key {key})", {
            taskId: node.id,
            why: found.why,
            key: found.key,
          });
          this.#launch(node);
        }
        this.#sched.drain();
      },
      (e) => {
        if (node.state !== RUNNING) return;
        this.#sched.release(node);
        this.#sched.fail(node, e);
        this.#sched.drain();
      },
    );
  }

  #cacheHit(node: Node, value: unknown): void {
    this.#sched.release(node);
    this.#p.log().debug("Cache hit (key {key})", { taskId: node.id, key: node.cacheKey });
    // afterTask sees cached results too; no attempt was made, so the context's is 0.
    if (this.#p.hooks.slow) node.ctx = new Ctx(this.#p.scope, node, 0);
    this.#sched.succeed(node, value, CACHED);
  }

  /**
   * A call that made attempts before the run was restarted (its flow isolate was stopped):
   * it goes on from its last attempt, which failed (the retry policy decides), or was cut
   * short by the restart (it runs again as the same attempt).
   */
  #continue(node: Node, prior: PriorAttempts): void {
    node.attempts = prior.attempts;
    if (prior.error === undefined) {
      this.#launch(node);
      return;
    }
    node.ctx = new Ctx(this.#p.scope, node, prior.attempts);
    if (prior.final) {
      this.#sched.release(node);
      this.#sched.fail(node, prior.error);
      this.#sched.drain();
      return;
    }
    this.#launch(node, () => this.#failed(node, node.token, prior.error));
  }

  /** Authorizes and decrypts if needed, then makes the first attempt (or `next`). */
  #launch(node: Node, next?: () => void): void {
    const request = node.config.permissions;
    const p = this.#p;
    const authorize = p.authorize !== undefined && requestsAny(request) ? p.authorize : undefined;
    // Encrypted params are decrypted only when a task that uses them starts.
    const decrypt = p.decrypt !== undefined && holdsEncrypted(node.args) ? p.decrypt : undefined;
    if (authorize === undefined && decrypt === undefined) {
      if (next !== undefined) next();
      else this.#attempt(node);
      return;
    }
    // Once per task, before its first attempt: decryption, then the ceiling, the policy, the
    // service and the audit log.
    Promise.resolve()
      .then(async (): Promise<PermissionSet | undefined> => {
        if (decrypt) {
          const secrets = p.scope.secrets;
          node.args = await decryptDeep(node.args, decrypt, (v) => secrets.reveal(v)) as unknown[];
        }
        if (authorize === undefined) return undefined;
        const { runId } = p.scope;
        return await authorize({
          runId,
          taskId: node.id,
          name: node.config.name,
          request: request!,
          ...(node.task.plugin ? { plugin: node.task.plugin } : {}),
        });
      })
      .then(
        (grant) => {
          if (node.state !== RUNNING) return;
          if (grant !== undefined) node.grant = grant;
          if (next !== undefined) next();
          else this.#attempt(node);
        },
        (e) => {
          if (node.state !== RUNNING) return;
          this.#sched.release(node);
          this.#sched.fail(node, e);
          this.#sched.drain();
        },
      );
  }

  #attempt(node: Node): void {
    const p = this.#p;
    const attempt = ++node.attempts;
    const token = ++node.token;
    const ctx = new Ctx(p.scope, node, attempt);
    node.ctx = ctx;
    const { clock, events } = p.scope;
    if (events.observed) {
      events.emit({
        type: "task.started",
        runId: p.scope.runId,
        time: clock.now(),
        taskId: node.id,
        name: node.config.name,
        attempt,
      });
    }
    const timeoutMs = node.config.timeoutMs;
    if (timeoutMs !== undefined) {
      ctx.startedAt = clock.now();
      node.cancelTimer = clock.setTimer(() => {
        if (token !== node.token) return;
        const err = new TaskTimeoutError(node.id, timeoutMs);
        ctx.abort(err);
        this.#failed(node, token, err);
      }, timeoutMs);
    }
    const executor = p.executors.get(node.config.executor);
    if (executor === undefined) {
      this.#failed(node, token, new Error(`No executor "${node.config.executor}" in this run`));
      return;
    }
    if (p.hooks.slow) {
      p.hooks.around(ctx, () => executor.run(node)).then(
        (v) => this.#succeeded(node, token, v),
        (e) => this.#failed(node, token, e),
      );
      return;
    }
    let r: unknown;
    try {
      r = executor.run(node);
    } catch (e) {
      this.#failed(node, token, e);
      return;
    }
    if (
      r !== null && typeof r === "object" && typeof (r as PromiseLike<unknown>).then === "function"
    ) {
      (r as PromiseLike<unknown>).then(
        (v) => this.#succeeded(node, token, v),
        (e) => this.#failed(node, token, e),
      );
    } else {
      this.#succeeded(node, token, r);
    }
  }

  /** The timeout error of an attempt that returned after its timeout, or undefined. */
  #overran(node: Node): TaskTimeoutError | undefined {
    const timeoutMs = node.config.timeoutMs;
    if (timeoutMs === undefined) return undefined;
    const elapsed = this.#p.scope.clock.now() - node.ctx!.startedAt;
    return elapsed > timeoutMs ? new TaskTimeoutError(node.id, timeoutMs, elapsed) : undefined;
  }

  #succeeded(node: Node, token: number, value: unknown): void {
    if (token !== node.token || node.state !== RUNNING) return;
    // An attempt that could not be stopped (inline: the timer cannot fire while a synchronous
    // task holds the thread) and returned late did not meet its timeout.
    const late = this.#overran(node);
    if (late !== undefined) {
      this.#failed(node, token, late);
      return;
    }
    if (node.cancelTimer !== undefined) node.cancelTimer();
    const sched = this.#sched;
    if (value !== null && value !== undefined && typeof value !== "string") {
      const p = findNonJson(value, "result");
      if (p) {
        sched.release(node);
        sched.fail(node, new NotJsonError(node.id, p.path, p.what, p.hint));
        sched.drain();
        return;
      }
    }
    sched.release(node);
    if (node.config.cache !== undefined) this.#store(node, value);
    sched.succeed(node, value);
    sched.drain();
  }

  #store(node: Node, value: unknown): void {
    // A cache that cannot store costs a later hit, not this result.
    this.#p.cache.store(node, node.cacheKey!, value, node.startedAt).catch((e) =>
      this.#p.log().warn("Caching the result of {taskId} failed: {error}", {
        taskId: node.id,
        error: errorMessage(e),
      })
    );
  }

  #failed(node: Node, token: number, error: unknown): void {
    if (token !== node.token || node.state !== RUNNING) return;
    node.cancelTimer?.();
    node.cancelTimer = undefined;
    // A task that threw after overrunning its timeout timed out all the same.
    if (!(error instanceof TaskTimeoutError)) error = this.#overran(node) ?? error;
    const policy = node.config.retry;
    const p = this.#p;
    if (node.attempts < policy.attempts && !this.#sched.cancelled && isRetryable(policy, error)) {
      const delayMs = retryDelay(policy, node.attempts, p.random);
      const { clock, events, runId } = p.scope;
      if (events.observed) {
        events.emit({
          type: "task.retrying",
          runId,
          time: clock.now(),
          taskId: node.id,
          name: node.config.name,
          attempt: node.attempts,
          delayMs,
          error: errorMessage(error),
        });
      }
      if (p.hooks.slow) p.hooks.taskRetry(node.ctx!, error, delayMs);
      const retryToken = ++node.token;
      node.cancelTimer = clock.setTimer(() => {
        if (retryToken !== node.token || node.state !== RUNNING) return;
        node.cancelTimer = undefined;
        this.#attempt(node);
      }, delayMs);
      return;
    }
    this.#sched.release(node);
    this.#sched.fail(node, error);
    this.#sched.drain();
  }
}

/**
 * A run's hooks and middleware. A hook that throws is logged, never fatal; hooks about a task's
 * end run in the background and the run ends only after they have. Middleware wraps every
 * attempt, outermost first; a run with task hooks or middleware leaves the synchronous hot path.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { RunStatus } from "../core/events.ts";
import type { Logger } from "@logtape/logtape";
import type { Hooks, Middleware, RunRecord, TaskContext } from "./types.ts";

/**
 * Runs the hooks of a flow and of a run.
 *
 * @example
 * ```ts ignore
 * const hooks = new HookRunner([flowHooks, runHooks], middleware, log);
 * const value = await hooks.around(ctx, () => executor.run(call));
 * ```
 */
export class HookRunner {
  /** Whether attempts need {@linkcode HookRunner.around} (task hooks or middleware). */
  readonly slow: boolean;
  readonly #hooks: Hooks[];
  readonly #middleware: readonly Middleware[];
  readonly #log: () => Logger;
  readonly #pending: Promise<unknown>[] = [];

  /** Hooks in the order given (flow first), middleware outermost first. */
  constructor(
    hooks: readonly (Hooks | undefined)[],
    middleware: readonly Middleware[],
    log: () => Logger,
  ) {
    this.#hooks = hooks.filter((h): h is Hooks => !!h);
    this.#middleware = middleware;
    this.#log = log;
    this.slow = middleware.length > 0 ||
      this.#hooks.some((h) => h.beforeTask || h.afterTask || h.onTaskRetry || h.onTaskError);
  }

  /** `onFlowStart` of each, in turn. */
  async flowStart(
    info: { runId: string; flow: string; params: Record<string, unknown> },
  ): Promise<void> {
    for (const h of this.#hooks) {
      if (h.onFlowStart) await this.#guard("onFlowStart", () => h.onFlowStart!(info));
    }
  }

  /** Runs an attempt: `beforeTask` hooks, then `run` inside the middleware. */
  async around(ctx: TaskContext, run: () => unknown): Promise<unknown> {
    for (const h of this.#hooks) {
      if (h.beforeTask) await this.#guard("beforeTask", () => h.beforeTask!(ctx));
    }
    let next = async () => await run();
    for (let i = this.#middleware.length - 1; i >= 0; i--) {
      const mw = this.#middleware[i];
      const inner = next;
      next = () => mw(ctx, inner);
    }
    return await next();
  }

  /** `afterTask` of each, in the background. */
  afterTask(ctx: TaskContext, value: unknown): void {
    for (const h of this.#hooks) {
      if (h.afterTask) this.#later("afterTask", () => h.afterTask!(ctx, value));
    }
  }

  /** `onTaskRetry` of each, in the background. */
  taskRetry(ctx: TaskContext, error: unknown, delayMs: number): void {
    for (const h of this.#hooks) {
      if (h.onTaskRetry) this.#later("onTaskRetry", () => h.onTaskRetry!(ctx, error, delayMs));
    }
  }

  /** `onTaskError` of each, in the background. */
  taskError(ctx: TaskContext, error: unknown): void {
    for (const h of this.#hooks) {
      if (h.onTaskError) this.#later("onTaskError", () => h.onTaskError!(ctx, error));
    }
  }

  /** Resolves once the background hooks started so far have ended. */
  async settled(): Promise<void> {
    if (this.#pending.length) await Promise.allSettled(this.#pending);
  }

  /** The hook of each for how the run ended, in turn. */
  async flowEnd(status: Exclude<RunStatus, "running">, record: RunRecord): Promise<void> {
    for (const h of this.#hooks) {
      const hook = status === "succeeded"
        ? h.onFlowSuccess
        : status === "failed"
        ? h.onFlowFailure
        : h.onFlowCancel;
      if (hook) await this.#guard("flow hook", () => hook.call(h, record));
    }
  }

  async #guard(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.#log().warn("The {hook} hook failed: {error}", { hook: what, error: errorMessage(e) });
    }
  }

  #later(what: string, fn: () => unknown): void {
    this.#pending.push(this.#guard(what, fn));
  }
}

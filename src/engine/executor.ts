/**
 * How a task attempt is run: an {@linkcode Executor} takes one {@linkcode TaskCall} and returns
 * its result. The engine picks the executor named by the task's `executor` setting from an
 * {@linkcode ExecutorRegistry}, so a new way of running tasks (a host bridge, a remote queue) is
 * one more implementation, not a branch inside the scheduler.
 *
 * @module
 */

import type { TaskConfig } from "../core/model.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { taskContextStorage, type TaskDefinition } from "../core/protocol.ts";
import type { TaskContext } from "./types.ts";

/**
 * One attempt of one task call, as an executor sees it. It is valid while the attempt runs: an
 * executor that needs its fields later (a queue, a remote worker) copies them.
 */
export interface TaskCall {
  /** The call's id within its run (`load`, `load#2`, `square[3]`). */
  readonly id: string;
  /** The task. */
  readonly task: TaskDefinition;
  /** Its settings, with the flow's defaults applied. */
  readonly config: TaskConfig;
  /** Its arguments, references resolved (and encrypted values decrypted). */
  readonly args: unknown[];
  /**
   * The attempt's context: run, flow, attempt number, params, the signal that aborts on timeout
   * or cancellation, the logger, and `secret(name)` for the secrets it declared.
   */
  readonly context: TaskContext;
  /** What authorization granted, when it was asked; otherwise `config.permissions` apply. */
  readonly grant: PermissionSet | undefined;
}

/**
 * Runs task attempts. A synchronous result keeps the engine's hot path synchronous; a promise
 * is awaited. An executor that can stop a running attempt does so when `context.signal`
 * aborts (a timeout, a cancellation); one that cannot (inline) has its attempt recorded as
 * timed out when it returns late.
 */
export interface Executor {
  /** Runs one attempt; returns (or resolves with) the result, throws (or rejects) on failure. */
  run(call: TaskCall): unknown;
  /** Releases what it holds (workers, connections) when the run that made it ends. */
  close?(): Promise<void>;
}

// Calls without spreading for the common arities: no arguments array per call.
function invoke(fn: (...a: unknown[]) => unknown, args: unknown[], ctx: TaskContext): unknown {
  switch (args.length) {
    case 0:
      return fn(ctx);
    case 1:
      return fn(args[0], ctx);
    case 2:
      return fn(args[0], args[1], ctx);
    case 3:
      return fn(args[0], args[1], args[2], ctx);
    default:
      return fn(...args, ctx);
  }
}

/**
 * Runs a task's function in the engine's own isolate, with the context after its arguments.
 * It cannot stop a function that does not return: an inline attempt that overruns its timeout
 * is recorded as timed out when it returns.
 *
 * @example
 * ```ts
 * import { InlineExecutor } from "./executor.ts";
 * import { task } from "../../mod.ts";
 * const double = task("double", (n: number) => n * 2);
 * const call = { id: "double", task: double, args: [21], context: {} } as never;
 * console.assert(new InlineExecutor().run(call) === 42);
 * ```
 */
export class InlineExecutor implements Executor {
  readonly #contextual: boolean;

  /**
   * With `contextual`, the task runs inside the ambient task context, so `context()` finds
   * it (entering it costs about half a microsecond: only when it can be needed).
   */
  constructor(contextual = false) {
    this.#contextual = contextual;
  }

  /** Calls the task's function. */
  run(call: TaskCall): unknown {
    const fn = call.task.fn as (...a: unknown[]) => unknown;
    return this.#contextual
      ? taskContextStorage().run(call.context, invoke, fn, call.args, call.context)
      : invoke(fn, call.args, call.context);
  }
}

/**
 * The executors of one run, by the names tasks choose them with. Executors the registry made
 * itself (`own`) are closed with it; those it was given belong to the caller.
 *
 * @example
 * ```ts
 * import { ExecutorRegistry, InlineExecutor } from "./executor.ts";
 * const registry = new ExecutorRegistry({ inline: new InlineExecutor() });
 * console.assert(registry.get("inline") !== undefined && registry.get("remote") === undefined);
 * await registry.close();
 * ```
 */
export class ExecutorRegistry {
  readonly #executors = new Map<string, Executor>();
  readonly #lazy = new Map<string, () => Executor>();
  readonly #own: Executor[] = [];

  /** A registry of the given executors (not closed by it). */
  constructor(executors: Readonly<Record<string, Executor>> = {}) {
    for (const [name, ex] of Object.entries(executors)) this.#executors.set(name, ex);
  }

  /** Adds an executor made on first use, and closed with the registry. */
  provide(name: string, make: () => Executor): void {
    if (!this.#executors.has(name)) this.#lazy.set(name, make);
  }

  /** The executor called `name`, if there is one. */
  get(name: string): Executor | undefined {
    const ex = this.#executors.get(name);
    if (ex !== undefined) return ex;
    const make = this.#lazy.get(name);
    if (make === undefined) return undefined;
    const made = make();
    this.#lazy.delete(name);
    this.#executors.set(name, made);
    this.#own.push(made);
    return made;
  }

  /** Closes the executors it made. */
  async close(): Promise<void> {
    const own = this.#own.splice(0);
    await Promise.all(own.map((ex) => ex.close?.()));
  }
}

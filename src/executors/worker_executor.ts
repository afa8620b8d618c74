/**
 * The worker executor: the engine's {@linkcode Executor} over a {@linkcode WorkerPool}. It turns
 * a task call into the pool's message (arguments prepared, the grant, the declared secrets'
 * values, the abort signal, log lines back into the task's log); the pool starts workers with
 * exactly that grant and terminates the one running an attempt that is aborted, so a timeout
 * stops even a CPU-bound loop.
 *
 * @module
 */

import type { LogLevel } from "../core/events.ts";
import type { Executor, TaskCall } from "../engine/executor.ts";
import type { TaskContext } from "../engine/types.ts";
import { type WorkerCall, WorkerPool } from "./worker_pool.ts";

/** What the worker executor needs of a pool. */
export interface WorkerRunner {
  /** Runs one call in a worker; resolves with its result. */
  run(call: WorkerCall): Promise<unknown>;
  /** Stops its workers. */
  close?(): Promise<void>;
}

const METHODS = { debug: "debug", info: "info", warning: "warn", error: "error" } as const;

/**
 * Runs task attempts in permission-scoped workers.
 *
 * @example
 * ```ts ignore
 * const executor = new WorkerExecutor(new WorkerPool({ size: 2 }), { own: true });
 * await executeFlow(def, {}, { executors: { worker: executor } });
 * await executor.close();
 * ```
 */
export class WorkerExecutor implements Executor {
  readonly #pool: WorkerRunner;
  readonly #own: boolean;

  /**
   * Runs calls through `pool` (a new {@linkcode WorkerPool} by default). With `own`, closing
   * the executor closes the pool; a pool that was given is otherwise left to its owner.
   */
  constructor(pool?: WorkerRunner, options: { own?: boolean } = {}) {
    this.#pool = pool ?? new WorkerPool();
    this.#own = pool === undefined || options.own === true;
  }

  /** Runs one attempt in a worker of the task's module and grant. */
  async run(call: TaskCall): Promise<unknown> {
    const ctx = call.context;
    const prepare = call.task.prepare as
      | ((args: unknown[], ctx: TaskContext) => unknown[] | Promise<unknown[]>)
      | undefined;
    const args = prepare ? await prepare(call.args, ctx) : call.args;
    return await this.#pool.run({
      task: call.task,
      args,
      info: {
        runId: ctx.runId,
        flow: ctx.flow,
        taskId: call.id,
        attempt: ctx.attempt,
        params: ctx.params as Record<string, unknown>,
      },
      grant: call.grant ?? call.config.permissions,
      // Only what it declared: reading them through the context also masks them from now on.
      secrets: Object.fromEntries(call.config.secrets.map((name) => [name, ctx.secret(name)])),
      signal: ctx.signal,
      onLog: (level: LogLevel, message, props) => ctx.log[METHODS[level]](message, props),
    });
  }

  /** Closes the pool when the executor owns it. */
  async close(): Promise<void> {
    if (this.#own) await this.#pool.close?.();
  }
}

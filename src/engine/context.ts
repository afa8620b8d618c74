/**
 * The task context: what a running attempt knows about itself (run, call, attempt, params),
 * its abort signal, its logger and its secrets. One per attempt; its signal and logger are made
 * only when the task asks for them.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { LogLevel, RunEvent } from "../core/events.ts";
import { type Clock, sleep } from "./clock.ts";
import type { RunEvents } from "./journal.ts";
import type { Node } from "./node.ts";
import { iso } from "./record.ts";
import type { RunSecrets } from "./secrets.ts";
import type { TaskContext, TaskLogger, TaskLogLine } from "./types.ts";

/** What the contexts of one run share. */
export interface ContextScope {
  /** The run's id. */
  readonly runId: string;
  /** The flow's name. */
  readonly flow: string;
  /** The run's params. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The run's clock. */
  readonly clock: Clock;
  /** The run's secrets (and masking). */
  readonly secrets: RunSecrets;
  /** The run's events. */
  readonly events: RunEvents;
}

/** A task context as the engine holds it: it can also abort the attempt. */
export interface AttemptContext extends TaskContext {
  /** When the attempt started, where its timeout needs it; -1 otherwise. */
  startedAt: number;
  /** Aborts the attempt's signal with `reason` (a timeout, a cancellation). */
  abort(reason: unknown): void;
}

/**
 * The context of one attempt of a task call.
 *
 * @example
 * ```ts ignore
 * const ctx = new Ctx(scope, node, 1);
 * ctx.log.info("hello"); // kept with the task, sent to LogTape and as a task.log event
 * ```
 */
export class Ctx implements AttemptContext {
  readonly #scope: ContextScope;
  readonly #node: Node;
  /** The attempt number, from 1 (0 for a result from the cache). */
  readonly attempt: number;
  /** When the attempt started, where its timeout needs it; -1 otherwise. */
  startedAt = -1;
  #controller: AbortController | undefined;
  #log: TaskLogger | undefined;

  /** The context of attempt `attempt` of `node`. */
  constructor(scope: ContextScope, node: Node, attempt: number) {
    this.#scope = scope;
    this.#node = node;
    this.attempt = attempt;
  }

  /** The run's id. */
  get runId(): string {
    return this.#scope.runId;
  }
  /** The flow's name. */
  get flow(): string {
    return this.#scope.flow;
  }
  /** The call's id. */
  get taskId(): string {
    return this.#node.id;
  }
  /** The task's name. */
  get name(): string {
    return this.#node.config.name;
  }
  /** The run's params. */
  get params(): Readonly<Record<string, unknown>> {
    return this.#scope.params;
  }
  /** Aborted on timeout or cancellation. */
  get signal(): AbortSignal {
    // Created on first use: most tasks never look at their signal.
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }
  /** The task's logger. */
  get log(): TaskLogger {
    return (this.#log ??= taskLogger(this.#scope, this.#node));
  }
  /** Waits on the run's clock; rejects when the signal aborts. */
  sleep(ms: number): Promise<void> {
    return sleep(this.#scope.clock, ms, this.signal);
  }
  /** A secret the task declared. */
  secret(name: string): string {
    return this.#scope.secrets.read(this.#node, name);
  }
  /** Aborts the attempt's signal. */
  abort(reason: unknown): void {
    this.#controller ??= new AbortController();
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }
}

const LEVELS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

/** The logger of a task: lines kept with the task, sent to LogTape and as `task.log` events. */
export function taskLogger(scope: ContextScope, node: Node): TaskLogger {
  const logger = getLogger(["orchestra", "task"]).with({ runId: scope.runId, taskId: node.id });
  const { clock, secrets, events } = scope;
  const emit =
    (method: "debug" | "info" | "warn" | "error") =>
    (message: string, props?: Record<string, unknown>) => {
      const time = clock.now();
      const level = LEVELS[method];
      if (secrets.masking) {
        message = secrets.mask(message);
        if (props) props = secrets.maskValue(props);
      }
      const line: TaskLogLine = { time: iso(time), level, message };
      if (props) line.props = props;
      (node.logs ??= []).push(line);
      // A task's line is text, not a LogTape template: `{…}` (JSON, say) stays as it is.
      logger[method](message.replaceAll("{", "{{").replaceAll("}", "}}"), props ?? {});
      if (events.observed) {
        const e: RunEvent = {
          type: "task.log",
          runId: scope.runId,
          time,
          taskId: node.id,
          name: node.config.name,
          level,
          message,
        };
        if (props) e.props = props;
        events.emit(e);
      }
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/**
 * The remote executor where there is no PostgreSQL store: its error, and the executor that
 * stands in for it (every run has one, so a remote task fails saying what it needs, not "no
 * executor"). Apart from the queue, so that loading it never loads the PostgreSQL driver.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import type { Executor, TaskCall } from "../engine/executor.ts";

/** The message of a remote executor without a PostgreSQL store. */
export const REMOTE_NEEDS_POSTGRES = "remote needs a PostgreSQL store: --store postgres://…";

/** A remote task where there is no PostgreSQL store to queue it in. */
export class RemoteUnavailableError extends OrchestraError {
  /** Creates the error. */
  constructor(what: string) {
    super(`${what}: ${REMOTE_NEEDS_POSTGRES}`);
    this.name = "RemoteUnavailableError";
  }
}

/** Stands in for the remote executor where the store is not PostgreSQL: each attempt fails. */
export class NoRemoteExecutor implements Executor {
  /** Fails the attempt with the reason. */
  run(call: TaskCall): never {
    throw new RemoteUnavailableError(`Task "${call.id}" has executor "remote"`);
  }

  /** Holds nothing. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

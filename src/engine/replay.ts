/**
 * Replay (resume): calls that completed before are restored from the journal instead of run
 * again, and each restored call must be the call the run made: the same task under its id.
 * Anything else raises {@linkcode NonDeterminismError} instead of handing an old result to a
 * call that is no longer the one it belonged to.
 *
 * @module
 */

import { NonDeterminismError } from "../core/errors.ts";
import type { RestoredTask } from "./types.ts";

/** What replay needs of a call. */
export interface ReplayedCall {
  /** The call's id. */
  readonly id: string;
  /** Its task's settings (the name). */
  readonly config: { readonly name: string };
  /** Its map state, if it is a map group (groups are never restored: their items are). */
  readonly map: unknown;
}

/** Checks each call of a resumed run against what the run recorded. */
export class ReplayCheck {
  readonly #runId: string;
  readonly #restore: ReadonlyMap<string, RestoredTask>;

  /** Checks calls of run `runId` against `restore`. */
  constructor(runId: string, restore: ReadonlyMap<string, RestoredTask>) {
    this.#runId = runId;
    this.#restore = restore;
  }

  /**
   * The restored result of `call`, or undefined when it runs. Throws
   * {@linkcode NonDeterminismError} when it is not the call the run made.
   */
  check(call: ReplayedCall): RestoredTask | undefined {
    if (call.map !== null) return undefined;
    const restored = this.#restore.get(call.id);
    if (restored === undefined) return undefined;
    if (restored.name !== call.config.name) {
      throw new NonDeterminismError(this.#runId, call.id, restored.name, call.config.name);
    }
    return restored;
  }
}

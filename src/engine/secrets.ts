/**
 * A run's secrets: a task reads only the secrets it declared, and every value read (or
 * decrypted) is masked as `***` in logs, events, the run record and error messages from then
 * on.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { maskValue, secretMasker } from "../permissions/secrets.ts";

/** Looks a secret up by name; undefined when it is not set. */
export type SecretLookup = (name: string, taskId: string) => string | undefined;

/**
 * The secrets of one run.
 *
 * @example
 * ```ts
 * import { RunSecrets } from "./secrets.ts";
 * const secrets = new RunSecrets(() => "hunter22");
 * const task = { id: "login", config: { secrets: ["PASSWORD"] } };
 * console.assert(secrets.read(task, "PASSWORD") === "hunter22");
 * console.assert(secrets.mask("password hunter22") === "password ***");
 * ```
 */
export class RunSecrets {
  readonly #lookup: SecretLookup;
  readonly #revealed = new Set<string>();
  #masker: ((text: string) => string) | undefined;

  /** Reads secrets through `lookup`. */
  constructor(lookup: SecretLookup) {
    this.#lookup = lookup;
  }

  /** Whether any value is masked (so text must go through {@linkcode RunSecrets.mask}). */
  get masking(): boolean {
    return this.#masker !== undefined;
  }

  /** A secret for a task that declared it; remembered, so its value is masked from now on. */
  read(task: { id: string; config: { secrets: readonly string[] } }, name: string): string {
    if (!task.config.secrets.includes(name)) {
      throw new OrchestraError(
        `Task "${task.id}" reads secret "${name}" but does not declare it; add secrets: ` +
          `["${name}"] to the task's options`,
      );
    }
    const value = this.#lookup(name, task.id);
    if (value === undefined) {
      throw new OrchestraError(
        `Secret "${name}" of task "${task.id}" is not set: set it in the environment or in the ` +
          `secrets file`,
      );
    }
    this.reveal(value);
    return value;
  }

  /** Masks `value` from now on (a secret read, or a value decrypted). */
  reveal(value: string): void {
    if (value !== "" && !this.#revealed.has(value)) {
      this.#revealed.add(value);
      this.#masker = secretMasker(this.#revealed);
    }
  }

  /** Replaces revealed secret values with `***`. */
  mask(text: string): string {
    return this.#masker === undefined ? text : this.#masker(text);
  }

  /** A JSON value with revealed secret values masked (itself when nothing is masked). */
  maskValue<T>(value: T): T {
    return this.#masker === undefined ? value : maskValue(value, this.#masker);
  }
}

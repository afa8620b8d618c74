/**
 * Keeping secrets off the disk: the host knows every secret value it hands a run (its
 * `secrets` and `decrypt` callbacks are the only way values enter one), so it wraps what the
 * run writes to the state store.
 *
 * - {@linkcode SecretJournal}: every string of every event (log lines, errors, reasons, cache
 *   keys, params) is masked before it is written. A task result that holds a secret is stored
 *   masked and marked `masked: true` on its event; with a key (`ORCHESTRA_SECRET_KEY`) the
 *   true value is also stored sealed (encrypted, `sealed: "enc:v1:…"`).
 * - {@linkcode SecretCache}: cache keys are stored as a hash (they are built from a task's
 *   arguments); a result that holds a secret is cached sealed with a key, and not cached
 *   without one.
 * - {@linkcode unsealRestored}: on `resume`/`retry`, a masked result is restored from its sealed
 *   value, or, without the key, its task runs again.
 *
 * @module
 */

import type { CacheHit, ResultCache } from "../engine/cache.ts";
import type { RunEvent } from "../core/events.ts";
import type { Journal, JournalEvent, RestoredTask, RunRecord } from "../engine/types.ts";
import type { Sealer } from "../permissions/encrypted.ts";
import { MASK } from "../permissions/secrets.ts";
import type { SecretValues } from "../permissions/secret_values.ts";
import type { Store } from "../store/store.ts";

/** The fields {@linkcode SecretJournal} adds to an event whose result held a secret. */
export interface MaskedResultFields {
  /** The stored result is masked: it is not the task's true value. */
  masked?: true;
  /** The true value and the secrets in it, sealed with the configured key. */
  sealed?: string;
}

/**
 * A journal that masks what it writes (see the module documentation).
 *
 * @example
 * ```ts
 * import { SecretJournal } from "./secret_journal.ts";
 * import { SecretValues } from "../permissions/secret_values.ts";
 * const written: unknown[] = [];
 * const secrets = new SecretValues();
 * const journal = new SecretJournal({ append: async (e) => void written.push(...e) }, secrets);
 * secrets.add("t0k3n");
 * await journal.append([{
 *   type: "task.succeeded", runId: "r", time: 0, taskId: "t", name: "t", attempt: 1,
 *   durationMs: 1, result: "Bearer t0k3n",
 * }]);
 * console.assert(JSON.stringify(written) .includes('"result":"Bearer ***","masked":true'));
 * ```
 */
export class SecretJournal implements Journal {
  readonly #inner: Journal;
  readonly #secrets: SecretValues;
  readonly #sealer: Sealer | undefined;

  /** Wraps `inner`; `sealer`, when given, keeps true values of masked results sealed. */
  constructor(inner: Journal, secrets: SecretValues, sealer?: Sealer) {
    this.#inner = inner;
    this.#secrets = secrets;
    this.#sealer = sealer;
  }

  /** Masks the batch, then appends it. */
  async append(events: readonly JournalEvent[]): Promise<void> {
    if (this.#secrets.size === 0) return await this.#inner.append(events);
    const out: JournalEvent[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) out[i] = await this.#event(events[i]);
    await this.#inner.append(out);
  }

  async #event(event: JournalEvent): Promise<JournalEvent> {
    const { value, masked } = maskFields(this.#secrets, event);
    if (!masked.includes("result")) return value;
    if (event.type === "task.succeeded" || event.type === "task.cached") {
      const e = value as MaskedResultFields;
      e.masked = true;
      if (this.#sealer) {
        e.sealed = await this.#sealer.seal(
          (event as { result?: unknown }).result,
          this.#secrets.values(),
        );
      }
    }
    return value;
  }
}

/** A copy of `o` with its user-data fields masked (see STRUCTURAL), and which were. */
function maskFields<T extends object>(
  secrets: SecretValues,
  o: T,
): { value: T; masked: string[] } {
  let out: Record<string, unknown> | undefined;
  const masked: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (STRUCTURAL.has(k)) continue;
    const m = secrets.maskValue(v);
    if (!m.masked) continue;
    (out ??= { ...o } as Record<string, unknown>)[k] = m.value;
    masked.push(k);
  }
  return { value: (out ?? o) as T, masked };
}

/**
 * An event with every secret masked in its data (messages, errors, results, params), never
 * in the fields the engine writes itself (ids, times, counts).
 *
 * @example
 * ```ts
 * import { maskEvent } from "./secret_journal.ts";
 * import { SecretValues } from "../permissions/secret_values.ts";
 * const secrets = new SecretValues();
 * secrets.add("1");
 * const e = maskEvent(secrets, {
 *   type: "task.retrying", runId: "r", time: 1, taskId: "t", name: "t", attempt: 1,
 *   delayMs: 1, error: "code 1",
 * });
 * console.assert(e.type === "task.retrying" && e.attempt === 1 && e.error === "code ***");
 * ```
 */
export function maskEvent<E extends RunEvent>(secrets: SecretValues, event: E): E {
  return secrets.size ? maskFields(secrets, event).value : event;
}

/** A run record with every secret masked in its data, and in each task's. */
export function maskRecord(secrets: SecretValues, record: RunRecord): RunRecord {
  if (secrets.size === 0) return record;
  const { value } = maskFields(secrets, record);
  return { ...value, tasks: record.tasks.map((t) => maskFields(secrets, t).value) };
}

/**
 * Fields of events the engine writes itself (ids, times, counts, statuses): never user data,
 * and never masked, so a short secret cannot damage the journal's shape.
 */
const STRUCTURAL = new Set([
  "type",
  "runId",
  "time",
  "taskId",
  "name",
  "attempt",
  "attempts",
  "durationMs",
  "delayMs",
  "needs",
  "kind",
  "group",
  "items",
  "level",
  "status",
  "flow",
  "id",
  "startedAt",
  "finishedAt",
  "tasks",
]);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The prefix of the keys task results are cached under: `task:` and the key's SHA-256. */
export const RESULT_KEY_PREFIX = "task:";

/**
 * A result cache that never stores a key or a secret in clear (see the module documentation).
 *
 * @example
 * ```ts
 * import { SecretCache } from "./secret_journal.ts";
 * import { MemoryCache } from "../engine/cache.ts";
 * import { SecretValues } from "../permissions/secret_values.ts";
 * const inner = new MemoryCache();
 * const cache = new SecretCache(inner, new SecretValues());
 * await cache.set('sum:[1,2]', 3, 1000);
 * console.assert((await cache.get('sum:[1,2]', 0))?.value === 3);
 * ```
 */
export class SecretCache implements ResultCache {
  readonly #inner: ResultCache;
  readonly #secrets: SecretValues;
  readonly #sealer: Sealer | undefined;

  /** Wraps `inner`. */
  constructor(inner: ResultCache, secrets: SecretValues, sealer?: Sealer) {
    this.#inner = inner;
    this.#secrets = secrets;
    this.#sealer = sealer;
  }

  /** The entry under the key's hash, unsealed if it was sealed; a damaged entry is a miss. */
  async get(key: string, now: number): Promise<CacheHit> {
    const hit = await this.#inner.get(RESULT_KEY_PREFIX + await sha256Hex(key), now);
    const entry = hit?.value as { value?: unknown; sealed?: unknown } | undefined;
    if (entry === null || typeof entry !== "object") return undefined;
    if ("value" in entry) return { value: entry.value };
    if (typeof entry.sealed !== "string" || !this.#sealer) return undefined;
    try {
      const { value, secrets } = await this.#sealer.unseal(entry.sealed);
      for (const s of secrets) this.#secrets.add(s);
      return { value };
    } catch {
      return undefined; // sealed with another key: run the task again
    }
  }

  /** Stores the entry under the key's hash: sealed if it holds a secret, or not at all. */
  async set(key: string, value: unknown, expiresAt: number): Promise<void> {
    const k = RESULT_KEY_PREFIX + await sha256Hex(key);
    if (!this.#secrets.maskValue(value).masked) {
      return await this.#inner.set(k, { value }, expiresAt);
    }
    if (!this.#sealer) return; // a masked copy would be a wrong hit later
    await this.#inner.set(
      k,
      { sealed: await this.#sealer.seal(value, this.#secrets.values()) },
      expiresAt,
    );
  }

  /** Empties the inner cache. */
  clear(): void | number | Promise<void | number> {
    return this.#inner.clear();
  }
}

/** What {@linkcode unsealRestored} decided. */
export interface Unsealing {
  /** The calls to restore, with their true values where they were sealed. */
  restore: Map<string, RestoredTask>;
  /** Calls whose stored result is masked and could not be unsealed: they run again. */
  rerun: string[];
}

/**
 * Restores masked results from their sealed value, learning the secrets they hold; a masked
 * result that cannot be unsealed (no key, another key) is not restored: its task runs again.
 * Only results that show `***` are looked up in the journal.
 */
export async function unsealRestored(
  store: Pick<Store, "events">,
  runId: string,
  restore: ReadonlyMap<string, RestoredTask>,
  secrets: SecretValues,
  sealer?: Sealer,
): Promise<Unsealing> {
  const out = new Map(restore);
  const rerun: string[] = [];
  for (const [taskId, task] of restore) {
    if (!JSON.stringify(task.value ?? null).includes(MASK)) continue;
    const events = await store.events(runId, {
      taskId,
      types: ["task.succeeded", "task.cached"],
    });
    const last = events.at(-1)?.event as (JournalEvent & MaskedResultFields) | undefined;
    if (!last?.masked) continue; // a result that shows *** of its own
    let value: unknown;
    try {
      if (!sealer || typeof last.sealed !== "string") throw new Error("not sealed");
      const opened = await sealer.unseal(last.sealed);
      for (const s of opened.secrets) secrets.add(s);
      value = opened.value;
    } catch {
      out.delete(taskId);
      rerun.push(taskId);
      continue;
    }
    out.set(taskId, { ...task, value });
  }
  return { restore: out, rerun };
}

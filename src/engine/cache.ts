/**
 * The result cache: a cached task whose key is fresh is not run again; its status is `cached`.
 *
 * @module
 */

/** Where cached results live. */
export interface ResultCache {
  /** The value stored under `key`, if it has not expired at `now`. */
  get(key: string, now: number): { value: unknown } | undefined;
  /** Stores `value` under `key` until `expiresAt`. */
  set(key: string, value: unknown, expiresAt: number): void;
  /** Removes every entry. */
  clear(): void;
}

/**
 * An in-memory cache, shared by the runs of one process.
 *
 * @example
 * ```ts
 * import { MemoryCache } from "./cache.ts";
 * const cache = new MemoryCache();
 * cache.set("k", 42, 1000);
 * console.assert(cache.get("k", 999)?.value === 42 && cache.get("k", 1000) === undefined);
 * ```
 */
export class MemoryCache implements ResultCache {
  #entries = new Map<string, { value: unknown; expiresAt: number }>();

  /** Looks up a fresh entry; drops it when expired. */
  get(key: string, now: number): { value: unknown } | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return { value: e.value };
  }

  /** Stores an entry. */
  set(key: string, value: unknown, expiresAt: number): void {
    this.#entries.set(key, { value, expiresAt });
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear();
  }
}

/** The cache runs use unless given another. */
export const defaultCache: MemoryCache = new MemoryCache();

/** A stable JSON text: object keys sorted, so equal inputs give equal keys. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = v[k];
      return out;
    }
    return v;
  }) ?? "undefined";
}

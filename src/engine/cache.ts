/**
 * The result cache: a cached task whose key is fresh is not run again; its status is `cached`.
 *
 * @module
 */

/** A cache lookup: the entry (present even when its value is `undefined`) or a miss. */
export type CacheHit = { value: unknown } | undefined;

/**
 * Where cached results live. An in-memory cache answers at once; a persistent one may answer
 * with a promise, which the engine awaits only then (the in-memory path never waits).
 */
export interface ResultCache {
  /** The value stored under `key`, if it has not expired at `now`. */
  get(key: string, now: number): CacheHit | Promise<CacheHit>;
  /** Stores `value` under `key` until `expiresAt`. */
  set(key: string, value: unknown, expiresAt: number): void | Promise<void>;
  /** Removes every entry; may tell how many there were. */
  clear(): void | number | Promise<void | number>;
}

/** The part of a `Store` a {@linkcode StoreCache} uses. */
export interface CacheStore {
  /** The value cached under `key` if it has not expired at `now` (ms since the epoch). */
  cacheGet(key: string, now: number): Promise<CacheHit>;
  /** Caches `value` under `key` until `expiresAt` (ms since the epoch). */
  cacheSet(key: string, value: unknown, expiresAt: number): Promise<void>;
  /** Removes every cache entry; resolves with how many there were. */
  cacheClear(): Promise<number>;
}

/**
 * A persistent cache over a state store (`Store.cacheGet`/`cacheSet`/`cacheClear`): results
 * are shared by every run and process that uses the same store.
 *
 * @example
 * ```ts
 * import { StoreCache } from "@orchestra/orchestra";
 * import { MemoryStore } from "@orchestra/orchestra";
 * const cache = new StoreCache(new MemoryStore());
 * await cache.set("k", 42, 1000);
 * console.assert((await cache.get("k", 999))?.value === 42);
 * console.assert(await cache.clear() === 1);
 * ```
 */
export class StoreCache implements ResultCache {
  readonly #store: CacheStore;

  /** Wraps `store`. */
  constructor(store: CacheStore) {
    this.#store = store;
  }

  /** Looks up a fresh entry in the store. */
  get(key: string, now: number): Promise<CacheHit> {
    return this.#store.cacheGet(key, now);
  }

  /** Stores an entry in the store. */
  set(key: string, value: unknown, expiresAt: number): Promise<void> {
    return this.#store.cacheSet(key, value, expiresAt);
  }

  /** Removes every entry; resolves with how many there were. */
  clear(): Promise<number> {
    return this.#store.cacheClear();
  }
}

/**
 * An in-memory cache, shared by the runs of one process.
 *
 * @example
 * ```ts
 * import { MemoryCache } from "@orchestra/orchestra";
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

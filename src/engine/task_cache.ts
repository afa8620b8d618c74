/**
 * Cache identity: which cached result a task call may reuse, and why a miss missed.
 *
 * An entry is found by the call's key: the flow's name, the task's name and a hash of its
 * arguments, or a hash of the task's explicit `cache.key(args)` (which tasks of other flows may
 * compute too: the only way two flows share results). Beside the value the entry keeps what the
 * task was when it was stored: a hash of its code (its `identity` string, else its function's
 * source) and its `cache.version`. A lookup reuses the value only when the entry is fresh and
 * both still match; otherwise it says why not (no entry, expired, the code or the version
 * changed). Keys and entries hold hashes, never raw argument values (they may hold secrets).
 *
 * @module
 */

import type { CachePolicy } from "../core/model.ts";
import type { TaskDefinition } from "../core/protocol.ts";
import { formatMs } from "../core/errors.ts";
import { type ResultCache, stableJson } from "./cache.ts";

/** The format of the entries this code writes. */
const ENTRY_FORMAT = 2;

/** What an entry holds beside the value. */
interface Entry {
  orchestra: typeof ENTRY_FORMAT;
  value: unknown;
  /** The hash of the task's code when it was stored ("" for an explicit key). */
  code: string;
  /** The task's `cache.version` then ("" for none). */
  version: string;
  /** When it expires (ms); the store keeps it a while longer, to explain a miss. */
  expiresAt: number;
}

/** The outcome of a lookup. */
export type CacheLookup =
  | { hit: true; key: string; value: unknown }
  | { hit: false; key: string; why: string };

/** What a lookup needs of a call. */
export interface CachedCall {
  /** The task. */
  readonly task: TaskDefinition;
  /** Its settings (name, cache policy). */
  readonly config: { readonly name: string; readonly cache?: CachePolicy };
  /** Its arguments, resolved. */
  readonly args: readonly unknown[];
}

const encoder = new TextEncoder();

async function sha256(text: string, chars: number): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (let i = 0; hex.length < chars; i++) hex += digest[i].toString(16).padStart(2, "0");
  return hex.slice(0, chars);
}

const codes = new WeakMap<TaskDefinition, Promise<string>>();

/**
 * A hash of what a task is: its `identity` string when a front end gave one, otherwise its
 * function's source. Computed once per task definition.
 *
 * @example
 * ```ts
 * import { codeHash } from "./task_cache.ts";
 * import { task } from "../../mod.ts";
 * const a = task("t", () => 1);
 * const b = task("t", () => 2);
 * console.assert((await codeHash(a)) !== (await codeHash(b)));
 * ```
 */
export function codeHash(task: TaskDefinition): Promise<string> {
  let code = codes.get(task);
  if (code === undefined) {
    const what = task.identity !== undefined ? `identity:${task.identity}` : `fn:${task.fn}`;
    code = sha256(what, 12);
    codes.set(task, code);
  }
  return code;
}

/**
 * What a cached task's key is made of, for `describe` and `--dry-run`.
 *
 * @example
 * ```ts
 * import { describeCacheKey } from "./task_cache.ts";
 * const text = describeCacheKey("etl", "load", { ttlMs: 60_000, version: "2", code: "abc" });
 * console.assert(text.includes('flow "etl"') && text.includes('version "2"'));
 * ```
 */
export function describeCacheKey(flow: string, task: string, policy: CachePolicy): string {
  const version = policy.version === undefined ? "" : ` + version "${policy.version}"`;
  const ttl = `; kept ${formatMs(policy.ttlMs)}`;
  if (policy.key) return `key(args) (hashed)${version}${ttl}`;
  const code = policy.code === undefined ? "its code" : `code ${policy.code}`;
  return `flow "${flow}" + task "${task}" + ${code}${version} + its arguments (hashed)${ttl}`;
}

function isEntry(v: unknown): v is Entry {
  return typeof v === "object" && v !== null && (v as Entry).orchestra === ENTRY_FORMAT;
}

/** The cache of one run's tasks over a {@linkcode ResultCache}. */
export class TaskCache {
  readonly #cache: ResultCache;
  readonly #flow: string;

  /** Task results of flow `flow`, kept in `cache`. */
  constructor(cache: ResultCache, flow: string) {
    this.#cache = cache;
    this.#flow = flow;
  }

  /** The call's key: the flow, the task and its arguments, or its explicit key, hashed. */
  async key(call: CachedCall): Promise<string> {
    const policy = call.config.cache!;
    if (policy.key) return `key:${await sha256(`key\0${policy.key(call.args)}`, 32)}`;
    const name = call.config.name;
    const what = `call\0${this.#flow}\0${name}\0${stableJson(call.args)}`;
    return `${name}:${await sha256(what, 32)}`;
  }

  /** Looks the call up at `now`: the value to reuse, or why there is none. */
  async lookup(call: CachedCall, now: number): Promise<CacheLookup> {
    const policy = call.config.cache!;
    const key = await this.key(call);
    const code = policy.key ? "" : await codeHash(call.task);
    const found = await this.#cache.get(key, now);
    const entry = found?.value;
    if (found === undefined || !isEntry(entry)) {
      return { hit: false, key, why: "no entry for this key" };
    }
    if (entry.expiresAt <= now) {
      return { hit: false, key, why: `the entry expired ${formatMs(now - entry.expiresAt)} ago` };
    }
    if (entry.code !== code) {
      return {
        hit: false,
        key,
        why: "the key changed: the task's code changed since the entry was stored",
      };
    }
    const version = policy.version ?? "";
    if (entry.version !== version) {
      return {
        hit: false,
        key,
        why: `the key changed: cache.version is ${show(version)}, the entry's is ${
          show(entry.version)
        }`,
      };
    }
    return { hit: true, key, value: entry.value };
  }

  /** Stores the call's result under `key` until `now` + its TTL. */
  async store(call: CachedCall, key: string, value: unknown, now: number): Promise<void> {
    const policy = call.config.cache!;
    const entry: Entry = {
      orchestra: ENTRY_FORMAT,
      value,
      code: policy.key ? "" : await codeHash(call.task),
      version: policy.version ?? "",
      expiresAt: now + policy.ttlMs,
    };
    // Kept one more TTL (at most a day) past its expiry, so a miss can say it expired.
    const grace = Math.min(policy.ttlMs, 86_400_000);
    await this.#cache.set(key, entry, entry.expiresAt + grace);
  }
}

function show(version: string): string {
  return version === "" ? "not set" : `"${version}"`;
}

/**
 * The external authorization service: Orchestra POSTs each task's permissions and the
 * service answers whether they are allowed. Decisions are cached for a TTL, keyed by the
 * question (service, flow, task, plugin and its version, permissions, user; not the run), in
 * memory and, when a state store is given, in the store's cache under `authz:` and a hash of
 * the question, so that other processes sharing the store reuse them too. A service that does
 * not answer, answers an HTTP error or answers something malformed gets the configured
 * `onError` decision, which by default denies (fails closed); such decisions are not cached.
 *
 * The request body is `{ flow, task, plugin, pluginVersion, permissions, user, runId }`
 * (absent values are `null`); the answer must be `{ "allow": boolean, "reason"?: string }`.
 *
 * @module
 */

import { type Duration, parseDuration } from "../core/duration.ts";
import { errorMessage, formatMs } from "../core/errors.ts";
import { PERMISSION_NAMES, type PermissionSet } from "../core/permissions.ts";
import { didYouMean } from "../core/suggest.ts";
import type { ExternalDecision } from "./grant.ts";

/** How to reach the authorization service. */
export interface AuthorizationConfig {
  /** The URL decisions are POSTed to (`http:` or `https:`). */
  url: string;
  /** How long to wait for an answer. @default "5s" */
  timeout?: Duration;
  /** How long a decision is reused for the same question; 0 never reuses. @default "1m" */
  cacheTtl?: Duration;
  /** The decision when the service fails: `deny` fails closed. @default "deny" */
  onError?: "deny" | "allow";
}

/** The keys an authorization config accepts. */
export const AUTHORIZATION_KEYS: readonly string[] = ["url", "timeout", "cacheTtl", "onError"];

/** One problem in an authorization config: the key it concerns, if any, and what is wrong. */
export interface AuthorizationConfigProblem {
  /** The key concerned, if the problem is in one. */
  key?: string;
  /** What is wrong, as a sentence. */
  message: string;
  /** How to fix it. */
  hint?: string;
}

/**
 * Checks an authorization config as read from a file; returns the config, or every problem.
 *
 * @example
 * ```ts
 * import { checkAuthorizationConfig } from "./authorization.ts";
 * const ok = checkAuthorizationConfig({ url: "https://authz.example.com/check", timeout: "2s" });
 * console.assert(ok.config?.url === "https://authz.example.com/check");
 * const bad = checkAuthorizationConfig({ url: "https://x", timout: "2s" });
 * console.assert(bad.problems[0].message === 'Unknown key "timout" (did you mean "timeout"?)');
 * ```
 */
export function checkAuthorizationConfig(
  value: unknown,
): { config?: AuthorizationConfig; problems: AuthorizationConfigProblem[] } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      problems: [{
        message: "The authorization config must be a mapping",
        hint: "write authorization: { url: https://…, timeout: 5s, cacheTtl: 1m, onError: deny }",
      }],
    };
  }
  const problems: AuthorizationConfigProblem[] = [];
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!AUTHORIZATION_KEYS.includes(k)) {
      problems.push({
        key: k,
        message: `Unknown key "${k}"${didYouMean(k, AUTHORIZATION_KEYS)}`,
        hint: `the keys are ${AUTHORIZATION_KEYS.join(", ")}`,
      });
    }
  }
  let url: URL | undefined;
  try {
    url = typeof o.url === "string" ? new URL(o.url) : undefined;
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    problems.push({
      ...(o.url === undefined ? {} : { key: "url" }),
      message: o.url === undefined
        ? `The authorization config needs a "url"`
        : `"url" must be an http: or https: URL, got ${JSON.stringify(o.url)}`,
    });
  }
  for (const k of ["timeout", "cacheTtl"] as const) {
    if (o[k] === undefined) continue;
    try {
      const ms = parseDuration(o[k] as Duration);
      if (k === "timeout" && ms <= 0) throw new RangeError("must be more than 0");
    } catch (e) {
      problems.push({
        key: k,
        message: `"${k}" is not a valid duration: ${errorMessage(e)}`,
        hint: `write a duration such as "500ms", "5s" or "1m"`,
      });
    }
  }
  if (o.onError !== undefined && o.onError !== "deny" && o.onError !== "allow") {
    problems.push({
      key: "onError",
      message: `"onError" must be deny or allow, got ${JSON.stringify(o.onError)}`,
    });
  }
  if (problems.length) return { problems };
  return { config: o as unknown as AuthorizationConfig, problems };
}

/** The question put to the service. */
export interface AuthorizationRequest {
  /** The flow's name. */
  flow: string;
  /** The task's id. */
  task: string;
  /** The plugin the task runs, if any. */
  plugin?: string;
  /** The version of that plugin, when known. */
  pluginVersion?: string;
  /** The permissions asked for (normally the grant left after ceiling and policy). */
  permissions: PermissionSet;
  /** Who runs the flow. */
  user?: string;
  /** The run's id; not part of the cache key. */
  runId?: string;
}

/** The service's answer, or the error policy's. */
export interface AuthorizationDecision extends ExternalDecision {
  /** Whether the request is allowed. */
  allow: boolean;
  /** The service's reason, or what went wrong. */
  reason?: string;
  /** `service` (asked now), `cache` (asked before, within the TTL) or `onError`. */
  source: "service" | "cache" | "onError";
}

/** Where decisions are shared between processes: the part of a `Store` the client uses. */
export interface DecisionStore {
  /** The value cached under `key` if it has not expired at `now` (ms since the epoch). */
  cacheGet(key: string, now: number): Promise<{ value: unknown } | undefined>;
  /** Caches `value` under `key` until `expiresAt` (ms since the epoch). */
  cacheSet(key: string, value: unknown, expiresAt: number): Promise<void>;
}

/** The prefix of the keys decisions are stored under in a {@linkcode DecisionStore}. */
export const DECISION_KEY_PREFIX = "authz:";

/** Options of {@linkcode AuthorizationClient}. */
export interface AuthorizationClientOptions {
  /** The `fetch` used to call the service. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The clock for cache expiry. @default Date */
  clock?: { now(): number };
  /** How many decisions the in-memory cache keeps; the oldest go first. @default 10000 */
  maxEntries?: number;
  /**
   * A state store whose cache keeps decisions for their TTL, shared by every process that
   * uses it; a store that fails is passed over (the service is asked). @default none
   */
  store?: DecisionStore;
}

/** Canonical form of a permission set: names in Deno's order, values sorted. */
function canonical(set: PermissionSet): PermissionSet {
  const out: Record<string, true | string[]> = {};
  for (const name of PERMISSION_NAMES) {
    const v = set[name];
    if (v === true) out[name] = true;
    else if (Array.isArray(v) && v.length) out[name] = [...new Set(v)].sort();
  }
  return out;
}

class ServiceError extends Error {}

/**
 * A client of the authorization service, with its decision cache. One client should serve a
 * whole process, so that the cache is shared; identical questions asked at the same time
 * share one call.
 *
 * @example
 * ```ts
 * import { AuthorizationClient } from "./authorization.ts";
 * const fakeFetch = () => Promise.resolve(Response.json({ allow: false, reason: "not on Sundays" }));
 * const client = new AuthorizationClient({ url: "http://authz.test/check" }, { fetch: fakeFetch });
 * const d = await client.authorize({ flow: "etl", task: "load", permissions: { net: ["db:5432"] } });
 * console.assert(!d.allow && d.reason === "not on Sundays" && d.source === "service");
 * ```
 */
export class AuthorizationClient {
  /** The config in use. */
  readonly config: AuthorizationConfig;
  readonly #fetch: typeof fetch;
  readonly #clock: { now(): number };
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, { decision: AuthorizationDecision; expires: number }>();
  readonly #inFlight = new Map<string, Promise<AuthorizationDecision>>();
  readonly #store: DecisionStore | undefined;

  /** Creates a client; throws a `TypeError` naming every problem of an invalid config. */
  constructor(config: AuthorizationConfig, options: AuthorizationClientOptions = {}) {
    const { problems } = checkAuthorizationConfig(config);
    if (problems.length) {
      throw new TypeError(
        `Invalid authorization config: ${problems.map((p) => p.message).join("; ")}`,
      );
    }
    this.config = config;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#clock = options.clock ?? Date;
    this.#timeoutMs = parseDuration(config.timeout ?? "5s");
    this.#ttlMs = parseDuration(config.cacheTtl ?? "1m");
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#store = options.store;
  }

  /** Forgets every decision cached in memory (those in the store stay until their TTL). */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * Asks the service (or the cache) whether `request` is allowed. Never rejects for a service
   * failure: that yields the `onError` decision. Rejects only when `signal` aborts.
   */
  authorize(
    request: AuthorizationRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<AuthorizationDecision> {
    const permissions = canonical(request.permissions);
    const key = JSON.stringify([
      this.config.url,
      request.flow,
      request.task,
      request.plugin ?? null,
      request.pluginVersion ?? null,
      permissions,
      request.user ?? null,
    ]);
    const hit = this.#cache.get(key);
    if (hit && hit.expires > this.#clock.now()) {
      return Promise.resolve({ ...hit.decision, source: "cache" });
    }
    if (hit) this.#cache.delete(key);
    let call = this.#inFlight.get(key);
    if (!call) {
      call = this.#decide({ ...request, permissions }, key)
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, call);
    }
    const signal = options.signal;
    if (!signal) return call;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      call.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /** The store's decision if it has a fresh one, else the service's. */
  async #decide(request: AuthorizationRequest, key: string): Promise<AuthorizationDecision> {
    if (this.#store === undefined || this.#ttlMs <= 0) return await this.#ask(request, key);
    const storeKey = DECISION_KEY_PREFIX + await sha256Hex(key);
    let stored: unknown;
    try {
      stored = (await this.#store.cacheGet(storeKey, this.#clock.now()))?.value;
    } catch {
      // A store that fails costs a call to the service, never a wrong decision.
    }
    const o = stored as { allow?: unknown; reason?: unknown; expires?: unknown } | undefined;
    if (o && typeof o.allow === "boolean" && typeof o.expires === "number") {
      const decision: AuthorizationDecision = {
        allow: o.allow,
        ...(typeof o.reason === "string" ? { reason: o.reason } : {}),
        source: "service",
      };
      this.#remember(key, decision, o.expires);
      return { ...decision, source: "cache" };
    }
    const decision = await this.#ask(request, key);
    if (decision.source === "service") {
      const expires = this.#clock.now() + this.#ttlMs;
      const value = { allow: decision.allow, reason: decision.reason, expires };
      await this.#store.cacheSet(storeKey, value, expires).catch(() => {});
    }
    return decision;
  }

  async #ask(request: AuthorizationRequest, key: string): Promise<AuthorizationDecision> {
    const { url } = this.config;
    const body = JSON.stringify({
      flow: request.flow,
      task: request.task,
      plugin: request.plugin ?? null,
      pluginVersion: request.pluginVersion ?? null,
      permissions: request.permissions,
      user: request.user ?? null,
      runId: request.runId ?? null,
    });
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException("The authorization service timed out", "TimeoutError"));
    }, this.#timeoutMs);
    try {
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body,
          signal: controller.signal,
        });
      } catch (e) {
        throw new ServiceError(
          timedOut
            ? `did not answer within ${formatMs(this.#timeoutMs)}`
            : `could not be reached: ${errorMessage(e)}`,
        );
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ServiceError(
          `answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`,
        );
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        throw new ServiceError(
          timedOut
            ? `did not answer within ${formatMs(this.#timeoutMs)}`
            : `broke off its answer: ${errorMessage(e)}`,
        );
      }
      const decision = parseAnswer(text);
      if (this.#ttlMs > 0) this.#remember(key, decision);
      return decision;
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      return this.#onError(e.message);
    } finally {
      clearTimeout(timer);
    }
  }

  #remember(key: string, decision: AuthorizationDecision, expires?: number): void {
    this.#cache.set(key, { decision, expires: expires ?? this.#clock.now() + this.#ttlMs });
    while (this.#cache.size > this.#maxEntries) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
  }

  #onError(problem: string): AuthorizationDecision {
    const what = `the authorization service at ${this.config.url} ${problem}`;
    return this.config.onError === "allow"
      ? { allow: true, reason: `${what}; allowed because onError is "allow"`, source: "onError" }
      : { allow: false, reason: `${what}; failing closed (onError: deny)`, source: "onError" };
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function parseAnswer(text: string): AuthorizationDecision {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError(`answered with something that is not JSON: ${shown}`);
  }
  const o = value as Record<string, unknown>;
  if (value === null || typeof value !== "object" || typeof o.allow !== "boolean") {
    throw new ServiceError(`answered without a boolean "allow": ${shown}`);
  }
  if (o.reason !== undefined && o.reason !== null && typeof o.reason !== "string") {
    throw new ServiceError(`answered with a "reason" that is not a string: ${shown}`);
  }
  return {
    allow: o.allow,
    ...(typeof o.reason === "string" && o.reason !== "" ? { reason: o.reason } : {}),
    source: "service",
  };
}

/**
 * `http`: sends one HTTP request and returns `{ status, headers, body }`. JSON and text
 * bodies, query params, headers (values may come from secrets), retries on 5xx responses and
 * network errors with a backoff, and a time limit per attempt. Its worker may reach the URL's
 * host and port and nothing else.
 *
 * @module
 */

import { z } from "zod";
import { parseDuration } from "../src/core/duration.ts";
import type { PermissionSet } from "../src/core/permissions.ts";
import type { TaskLogger } from "../src/engine/types.ts";
import { definePlugin, type PluginDefinition, type WithDefaults } from "../src/plugins/contract.ts";

/** A param that takes milliseconds or a duration string (`10s`), checked when parsed. */
export function durationParam(what: string): z.ZodType<number | string, number | string> {
  return z.union([z.number().nonnegative(), z.string()], {
    error: 'expected milliseconds or a duration such as "10s"',
  }).superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }).describe(what);
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** An HTTP method the plugin sends. */
export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

const METHODS: readonly HttpMethod[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** A query parameter's value. */
export type QueryValue = string | number | boolean;

/** The params of the `http` plugin, defaults applied. */
export interface HttpParams {
  /** The URL. */
  url: string;
  /** The method; GET, or POST with a body. */
  method?: HttpMethod;
  /** Request headers. */
  headers: Record<string, string>;
  /** Query parameters added to the URL. */
  query: Record<string, QueryValue | QueryValue[]>;
  /** A JSON body. */
  json?: unknown;
  /** A text body. */
  body?: string;
  /** A secret sent as a bearer token. */
  bearerSecret?: string;
  /** Headers whose values are secrets: header name → secret name. */
  headerSecrets: Record<string, string>;
  /** The statuses that count as success (any 2xx when not given). */
  expect?: number[];
  /** Extra attempts after a 5xx, a network error or a timeout. */
  retries: number;
  /** Wait before the first retry. */
  retryDelay: number | string;
  /** Time limit of each attempt. */
  timeout: number | string;
  /** How to read the response body. */
  response: "auto" | "json" | "text";
}

/** The params of the `http` plugin as a task passes them (those with defaults optional). */
export type HttpInput = WithDefaults<
  HttpParams,
  "headers" | "query" | "headerSecrets" | "retries" | "retryDelay" | "timeout" | "response"
>;

const params: z.ZodType<HttpParams, HttpInput> = z.strictObject({
  url: z.string().superRefine((url, ctx) => {
    if (url.includes("${{")) return; // known when the task runs
    try {
      checkUrl(url);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }).describe("The URL to request: `http://` or `https://`"),
  method: z.enum(METHODS).optional().describe(
    "The HTTP method; GET, or POST when `json` or `body` is given",
  ),
  headers: z.record(z.string(), z.string()).default({}).describe("Request headers, by name"),
  query: z.record(z.string(), z.union([scalar, z.array(scalar)])).default({}).describe(
    "Query parameters added to the URL; a list repeats the parameter",
  ),
  json: z.unknown().optional().describe(
    "A JSON body; sets `content-type: application/json` unless a header sets it",
  ),
  body: z.string().optional().describe("A text body, sent as it is (exclusive with `json`)"),
  bearerSecret: z.string().optional().describe(
    "The name of a secret sent as `Authorization: Bearer <value>`",
  ),
  headerSecrets: z.record(z.string(), z.string()).default({}).describe(
    "Headers whose values are secrets: header name → secret name",
  ),
  expect: z.array(z.number().int().min(100).max(599)).optional().describe(
    "The statuses that count as success; any 2xx when not given",
  ),
  retries: z.number().int().min(0).max(10).default(2).describe(
    "Extra attempts after a 5xx response (not listed in `expect`), a network error or a timeout",
  ),
  retryDelay: durationParam("Wait before the first retry; it doubles for each next one")
    .default("500ms"),
  timeout: durationParam("Time limit of each attempt, body included: milliseconds or `10s`")
    .default("30s"),
  response: z.enum(["auto", "json", "text"]).default("auto").describe(
    "How to read the response body: `auto` parses JSON when the content type says JSON",
  ),
}).superRefine((p, ctx) => {
  if (p.json !== undefined && p.body !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["body"],
      message: "give either `json` or `body`, not both",
    });
  }
});

/** What a response became: the `http` plugin's result. */
export interface HttpResult {
  /** The status code. */
  status: number;
  /** The response headers, names in lower case. */
  headers: Record<string, string>;
  /** The body: parsed JSON, text, or null when empty. */
  body: unknown;
}

function checkUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`"${url}" is not a URL: write it in full, like "https://example.com/x"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`"${url}" is not an http:// or https:// URL`);
  }
  return u;
}

/**
 * The `net` permission value for a URL: `host:port`, with the scheme's default port when the
 * URL has none, so a grant covers that one port only.
 *
 * @example
 * ```ts
 * import { netHost } from "./http.ts";
 * console.assert(netHost("https://api.example.com/v1") === "api.example.com:443");
 * console.assert(netHost("http://127.0.0.1:8080/") === "127.0.0.1:8080");
 * ```
 */
export function netHost(url: string): string {
  if (url.includes("${{")) {
    throw new TypeError(`they depend on the URL "${url}", known only when the task runs`);
  }
  const u = checkUrl(url);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

/** Options of {@linkcode sendWithRetries}. */
export interface SendOptions {
  /** Extra attempts after a 5xx (not accepted), a network error or a timeout. */
  retries: number;
  /** Wait before the first retry, in ms; doubles for each next one. */
  retryDelayMs: number;
  /** Time limit of each attempt (body included), in ms. */
  timeoutMs: number;
  /** Statuses that are an answer, not a failure to retry (e.g. a 503 the caller expects). */
  accept: (status: number) => boolean;
  /** Stops everything (cancellation, the task's timeout). */
  signal: AbortSignal;
  /** Waits between attempts; rejects when the signal aborts. */
  sleep: (ms: number) => Promise<void>;
  /** Where retries are reported. */
  log: TaskLogger;
  /** How messages name the request. @default the method and the URL */
  label?: string;
}

/** A response, read in full within the attempt's time limit. */
export interface SentResponse {
  /** The status code. */
  status: number;
  /** Its status text. */
  statusText: string;
  /** Its headers. */
  headers: Headers;
  /** Its body as text. */
  text: string;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no complete response within ${ms}ms`);
    this.name = "TimeoutError";
  }
}

async function attempt(
  url: string,
  init: RequestInit,
  options: SendOptions,
): Promise<SentResponse> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeout(options.timeoutMs)),
    options.timeoutMs,
  );
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const text = await res.text();
    return { status: res.status, statusText: res.statusText, headers: res.headers, text };
  } catch (e) {
    // fetch rejects with the abort reason, or with an AbortError when it lost it.
    if (controller.signal.aborted) throw controller.signal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", onAbort);
  }
}

function retriable(e: unknown): boolean {
  // Network failures are TypeErrors; a missing permission (NotCapable) is not retried.
  return e instanceof AttemptTimeout || (e instanceof TypeError && e.name === "TypeError");
}

/**
 * Sends a request, retrying after a 5xx response the caller does not accept, a network error
 * or a timeout, with an exponential backoff that honours the signal. Resolves with the last
 * response (which may still be a 5xx once the retries are spent); rejects with the last error.
 *
 * @example
 * ```ts ignore
 * const res = await sendWithRetries("https://example.com/", { method: "GET" }, {
 *   retries: 2, retryDelayMs: 500, timeoutMs: 10_000, accept: () => false,
 *   signal: ctx.signal, sleep: ctx.sleep, log: ctx.log,
 * });
 * ```
 */
export async function sendWithRetries(
  url: string,
  init: RequestInit,
  options: SendOptions,
): Promise<SentResponse> {
  const label = options.label ?? `${init.method ?? "GET"} ${url}`;
  for (let n = 0;; n++) {
    options.signal.throwIfAborted();
    const last = n >= options.retries;
    let why: string;
    try {
      const res = await attempt(url, init, options);
      if (res.status < 500 || options.accept(res.status) || last) return res;
      why = `status ${res.status} ${res.statusText}`.trimEnd();
    } catch (e) {
      if (options.signal.aborted) throw options.signal.reason;
      if (last || !retriable(e)) {
        const reason = e instanceof Error ? e.message : String(e);
        const tries = n + 1 === 1 ? "" : ` (after ${n + 1} attempts)`;
        throw new Error(`${label} failed${tries}: ${reason}`, { cause: e });
      }
      why = e instanceof Error ? e.message : String(e);
    }
    const delay = options.retryDelayMs * 2 ** n;
    options.log.warn(
      `${label}: ${why}; retry ${n + 1} of ${options.retries} in ${delay}ms`,
    );
    await options.sleep(delay);
  }
}

/** An HTTP response with a status the task did not expect. */
class HttpStatusError extends Error {
  constructor(method: string, url: string, res: SentResponse, expected: string) {
    const tail = res.text.trim().slice(0, 500);
    super(
      `${method} ${url} answered ${res.status} ${res.statusText}`.trimEnd() +
        ` (expected ${expected})${tail ? `: ${tail}` : ""}`,
    );
    this.name = "HttpStatusError";
  }
}

function parseBody(res: SentResponse, mode: "auto" | "json" | "text", what: string): unknown {
  if (res.text === "") return null;
  const type = res.headers.get("content-type") ?? "";
  const json = mode === "json" ||
    (mode === "auto" && /^application\/(?:[\w.+-]*\+)?json\b/i.test(type));
  if (!json) return res.text;
  try {
    return JSON.parse(res.text);
  } catch (e) {
    throw new SyntaxError(
      `${what}: the response body is not JSON (${(e as Error).message}); ` +
        `set \`response: text\` to receive it as text`,
    );
  }
}

/** The `http` plugin. */
const http: PluginDefinition<HttpParams, HttpInput, HttpResult> = definePlugin<
  HttpParams,
  HttpInput,
  HttpResult
>({
  name: "http",
  version: "1.0.0",
  description: "Sends an HTTP request; its result is { status, headers, body }.",
  params,
  secrets: (p) => [
    ...(p.bearerSecret ? [p.bearerSecret] : []),
    ...Object.values(p.headerSecrets ?? {}),
  ],
  permissions: (p: { url?: unknown }): PermissionSet => {
    if (typeof p.url !== "string") throw new TypeError("`url` must be a string");
    return { net: [netHost(p.url)] };
  },
  result: "{ status, headers, body }: body is parsed JSON, text, or null when empty",
  docs: `Sends one HTTP request to \`url\` and returns the response as
\`{ status, headers, body }\`. The method is \`GET\`, or \`POST\` when a body is given.

**Body.** \`json\` sends any JSON value (and sets \`content-type: application/json\`);
\`body\` sends text as it is. \`query\` adds query parameters to the URL (a list repeats
one). \`headers\` are sent as given.

**Secrets.** \`bearerSecret: NAME\` sends \`Authorization: Bearer <secret NAME>\`;
\`headerSecrets\` maps header names to secret names (\`X-Api-Key: API_KEY\`). The values
never appear in the params, the run record or the logs; the task declares the secrets
these params name, so only they reach its worker. In YAML, a header may also be written with
an expression
(\`Authorization: "Bearer \${{ secrets.TOKEN }}"\`), which declares the secret.

**Response.** With \`response: auto\` (the default) the body is parsed as JSON when the
content type is JSON (\`application/json\`, \`application/*+json\`), kept as text otherwise,
and \`null\` when empty. Header names are in lower case.

**Errors and retries.** A status outside \`expect\` (any 2xx by default) fails the task,
with the status and the start of the body in the message. A 5xx response (unless listed in
\`expect\`), a network error or a timeout is retried \`retries\` times (default 2), waiting
\`retryDelay\` (default 500ms) and twice as long before each next retry; cancellation stops
the wait. Set \`retries: 0\` for a request that must not be repeated. \`timeout\` (default
30s) limits each attempt, reading the body included; the task's own \`timeout:\` limits all of
them together.

**Permissions.** The worker may connect to the URL's host and port only (\`net:
["host:port"]\`), computed from \`url\`. A redirect to another host is refused. When \`url\`
is an expression known only at run time, give the task \`permissions: { net: [...] }\`.`,
  example: `fetch:
  uses: http
  with:
    url: https://api.example.com/v1/items
    query: { page: 1 }
    bearerSecret: API_TOKEN
    expect: [200]
    timeout: 10s
`,
  run: async (p, ctx): Promise<HttpResult> => {
    const u = checkUrl(p.url);
    for (const [k, v] of Object.entries(p.query)) {
      for (const x of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(x));
    }
    const url = u.href;
    const headers = new Headers(p.headers);
    for (const [name, secret] of Object.entries(p.headerSecrets)) {
      headers.set(name, ctx.secret(secret));
    }
    if (p.bearerSecret !== undefined) {
      headers.set("authorization", `Bearer ${ctx.secret(p.bearerSecret)}`);
    }
    let body: string | undefined;
    if (p.json !== undefined) {
      body = JSON.stringify(p.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    } else if (p.body !== undefined) body = p.body;
    const method = p.method ?? (body === undefined ? "GET" : "POST");
    const expected = p.expect;
    const ok = (s: number) => expected ? expected.includes(s) : s >= 200 && s < 300;
    const res = await sendWithRetries(url, { method, headers, body }, {
      retries: p.retries,
      retryDelayMs: parseDuration(p.retryDelay),
      timeoutMs: parseDuration(p.timeout),
      accept: ok,
      signal: ctx.signal,
      sleep: ctx.sleep,
      log: ctx.log,
    });
    if (!ok(res.status)) {
      throw new HttpStatusError(method, url, res, expected ? expected.join(", ") : "2xx");
    }
    ctx.log.debug(`${method} ${url}: ${res.status}`);
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: method === "HEAD" ? null : parseBody(res, p.response, `${method} ${url}`),
    };
  },
});

export default http;

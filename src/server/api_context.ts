/**
 * What the API's handlers work with: the server's parts, and the small readers every handler
 * shares (a JSON body that must be an object, a bounded list of params).
 *
 * @module
 */

import type { Context } from "hono";
import type { Store } from "../store/store.ts";
import type { Catalog } from "./catalog.ts";
import type { Metrics } from "./metrics.ts";
import { problem } from "./problem.ts";
import type { RunService } from "./run_service.ts";
import type { Scheduler } from "./scheduler.ts";
import type { Role, WebhookEntry } from "./tokens.ts";

/** The server's parts, as the handlers see them. */
export interface ApiContext {
  /** The state store. */
  store: Store;
  /** The flows. */
  catalog: Catalog;
  /** The runs. */
  runs: RunService;
  /** The schedules. */
  scheduler: Scheduler;
  /** The metrics. */
  metrics: Metrics;
  /** Webhook secrets by flow. */
  webhooks: Record<string, WebhookEntry>;
  /** A secret's value (secrets file, then the environment). */
  secret(name: string): string | undefined;
  /** Whether the server is ready: the store answers and the schedules are loaded. */
  ready(): Promise<{ ok: boolean; checks: Record<string, string> }>;
}

/** Who made a request (set by the auth middleware). */
export interface Caller {
  /** The token's name, or `anonymous` when no tokens are configured. */
  name: string;
  /** Its role. */
  role: Role;
}

/** Hono's variables of a request. */
export type Env = { Variables: { caller: Caller } };

/** The most params a request may carry. */
export const MAX_PARAMS = 256;

/** A request body that must be a JSON object (an empty body is `{}`), or a problem. */
export async function jsonObject(c: Context<Env>): Promise<Record<string, unknown> | Response> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    return problem(
      415,
      `Send the body as JSON with Content-Type: application/json (got "${type}")`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return problem(400, `The body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return problem(400, 'The body must be a JSON object, e.g. { "params": { … } }');
  }
  return value as Record<string, unknown>;
}

/** `body.params`: an object of at most {@linkcode MAX_PARAMS} params, or a problem. */
export function paramsOf(body: Record<string, unknown>): Record<string, unknown> | Response {
  const params = body.params ?? {};
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    return problem(422, "params must be an object of param name → value", [{
      message: `params is ${Array.isArray(params) ? "a list" : typeof params}`,
      hint: 'send { "params": { "region": "eu" } }',
    }]);
  }
  if (Object.keys(params).length > MAX_PARAMS) {
    return problem(413, `At most ${MAX_PARAMS} params may be sent at once`);
  }
  return params as Record<string, unknown>;
}

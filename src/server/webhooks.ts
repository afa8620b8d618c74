/**
 * Webhooks: `POST /hooks/{flow}` starts a run of the flow with the delivery's JSON body. Each
 * flow has its own secret (named in the tokens file, valued in the secrets file or the
 * environment), presented as `Authorization: Bearer SECRET` or, as GitHub sends it, an
 * `X-Hub-Signature-256: sha256=HMAC` of the body. An `Idempotency-Key` (or GitHub's
 * `X-GitHub-Delivery`) header is remembered for a day in the state store, so a delivery
 * retried does not start a second run.
 *
 * @module
 */

import type { ParamsSchema } from "../core/params.ts";
import { constantTimeEqual } from "./tokens.ts";

/** How long a delivery's key is remembered. */
export const DELIVERY_TTL_MS = 24 * 60 * 60 * 1000;

/** The state store scope of delivery keys. */
export const DELIVERY_SCOPE = "delivery";

/** Whether the request proves it knows `secret`: a bearer token or an HMAC of the body. */
export async function verifyDelivery(
  headers: Headers,
  body: Uint8Array,
  secret: string,
): Promise<"ok" | "missing" | "wrong"> {
  const signature = headers.get("x-hub-signature-256");
  if (signature) {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body as BufferSource));
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
    return constantTimeEqual(signature.trim().toLowerCase(), `sha256=${hex}`) ? "ok" : "wrong";
  }
  const auth = headers.get("authorization");
  if (!auth) return "missing";
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  if (!m) return "wrong";
  return constantTimeEqual(m[1], secret) ? "ok" : "wrong";
}

/** The delivery's idempotency key, if it has one. */
export function deliveryKey(headers: Headers): string | undefined {
  const key = headers.get("idempotency-key") ?? headers.get("x-github-delivery") ?? undefined;
  return key?.trim() || undefined;
}

/**
 * The params a delivery gives the flow: each top-level key of the body that is a declared
 * param, by name, and the whole body as `event` when the flow declares that param (YAML flows
 * that read `${{ event }}` do). Other keys are the sender's business and are not params.
 *
 * @example
 * ```ts
 * import { deliveryParams } from "./webhooks.ts";
 * const schema = { ref: { type: "string" }, event: { type: "object" } } as const;
 * const p = deliveryParams(schema, { ref: "main", action: "push" });
 * console.assert(p.ref === "main" && (p.event as { action: string }).action === "push");
 * ```
 */
export function deliveryParams(
  schema: ParamsSchema,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) {
    if (name !== "event" && Object.hasOwn(body, name)) out[name] = body[name];
  }
  if (Object.hasOwn(schema, "event")) out.event = body;
  return out;
}

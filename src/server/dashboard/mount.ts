/**
 * Serving the dashboard: the page at `/` and its files under `/ui/`, from the program itself
 * (see {@linkcode ASSETS}), with headers that make hostile data inert even if something slipped
 * through: a Content-Security-Policy that runs only this server's own scripts (no inline
 * script or style, no `eval`) and connects only to it, no framing, no MIME sniffing, no
 * referrer. The files hold no data; the data comes from the API, which checks tokens.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Env as HonoEnv } from "hono";
import { problem } from "../problem.ts";
import { type Asset, ASSETS } from "./assets.ts";

/** The dashboard's Content-Security-Policy. */
export const CONTENT_SECURITY_POLICY: string = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  // Revalidated on each load (304 when unchanged): a new server version is never half-cached.
  "cache-control": "no-cache",
};

function answer(req: Request, a: Asset): Response {
  const headers = { ...HEADERS, "content-type": a.type, etag: a.etag };
  if (req.headers.get("if-none-match") === a.etag) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(a.body, { headers });
}

/**
 * Registers the dashboard's routes on the application: `GET /` and `GET /ui/{file}`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { mountDashboard } from "./mount.ts";
 * const app = new Hono();
 * mountDashboard(app);
 * const page = await app.request("/");
 * console.assert(page.headers.get("content-security-policy")?.includes("script-src 'self'"));
 * ```
 */
export function mountDashboard<E extends HonoEnv>(app: Hono<E>): void {
  app.get("/", (c) => answer(c.req.raw, ASSETS.get("index.html")!));
  app.get("/ui/:file", (c) => {
    const file = c.req.param("file");
    const a = ASSETS.get(file);
    if (!a) {
      return problem(
        404,
        `The dashboard has no file "${file}"; it is served at / (its files: ${
          [...ASSETS.keys()].join(", ")
        })`,
      );
    }
    return answer(c.req.raw, a);
  });
}

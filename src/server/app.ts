/**
 * The HTTP application: the route table registered on Hono, behind what every request goes
 * through — its size bounded (413), who calls it (a bearer token of the tokens file, with a
 * role; or anyone on loopback when no tokens are configured), cross-site protection for every
 * state-changing request (a token header, which a form or a plain cross-site fetch cannot
 * send, and a same-origin `Origin`/`Sec-Fetch-Site`), counted in the metrics, and errors as
 * problem documents without stack traces.
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ApiContext, Caller, Env } from "./api_context.ts";
import { openApiDocument } from "./openapi.ts";
import { mountDashboard } from "./dashboard/mount.ts";
import { problem } from "./problem.ts";
import { type Access, honoPath, type Route, ROUTES } from "./routes.ts";
import { findToken, type TokenEntry } from "./tokens.ts";

/** How the application is protected. */
export interface AppOptions {
  /** The API tokens; none: anyone may call (only allowed on loopback). */
  tokens: readonly TokenEntry[];
  /** The largest request body, in bytes. @default 1048576 */
  maxBodyBytes?: number;
  /** Log an unexpected error (the client gets a problem without details). */
  onError?(error: unknown, path: string): void;
}

/** The header a state-changing request carries when no tokens are configured. */
export const CSRF_HEADER = "x-orchestra-request";

const LOOPBACK_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

function allowed(access: Access, caller: Caller | undefined): boolean {
  if (access === "public" || access === "webhook") return true;
  if (!caller) return false;
  return access === "viewer" || caller.role === "operator";
}

/** Refuses a state-changing request that a page of another site could have sent. */
function crossSite(req: Request, hasToken: boolean): string | undefined {
  const headers = req.headers;
  if (!hasToken && !headers.has(CSRF_HEADER)) {
    return `State-changing requests need a token header: Authorization: Bearer TOKEN, or ${CSRF_HEADER}: 1 when the server has no tokens`;
  }
  const site = headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") {
    return `Refused a ${site} request: actions are taken from this server's own pages or from clients`;
  }
  const origin = headers.get("origin");
  if (origin && origin !== "null") {
    const host = headers.get("host");
    let same = false;
    try {
      same = new URL(origin).host === host;
    } catch { /* not a URL */ }
    if (!same) return `Refused a request from origin ${origin}: only ${host} may take actions`;
  } else if (origin === "null") return "Refused a request from an opaque origin";
  return undefined;
}

/**
 * The application over the server's parts.
 *
 * @example
 * ```ts ignore
 * const app = createApp(api, { tokens: [] });
 * Deno.serve({ hostname: "127.0.0.1", port: 0 }, app.fetch);
 * ```
 */
export function createApp(api: ApiContext, options: AppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const open = options.tokens.length === 0;
  const route = new Map<string, Route>();
  app.use("*", async (c, next) => {
    await next();
    const r = c.req.routePath ?? "unmatched";
    api.metrics.requests.inc({ method: c.req.method, route: r, code: String(c.res.status) });
  });
  app.use("*", async (c, next) => {
    // Without tokens only loopback may call; a name that is not loopback is DNS rebinding.
    const host = c.req.header("host") ?? "";
    if (open && !LOOPBACK_HOSTS.test(host)) {
      return problem(
        403,
        `Refused a request for host "${host}": this server has no tokens, so it answers only on loopback names (127.0.0.1, localhost)`,
      );
    }
    const auth = c.req.header("authorization");
    let caller: Caller | undefined = open ? { name: "anonymous", role: "operator" } : undefined;
    if (!open && auth && !c.req.path.startsWith("/hooks/")) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
      const found = m ? await findToken(options.tokens, m[1]) : undefined;
      if (!found) {
        return problem(
          401,
          "The token is not one of this server's: check it, or make one with orchestra serve token add NAME",
          undefined,
          { "www-authenticate": "Bearer" },
        );
      }
      caller = { name: found.name, role: found.role };
    }
    if (caller) c.set("caller", caller);
    if (c.req.method === "POST" && !c.req.path.startsWith("/hooks/")) {
      const why = crossSite(c.req.raw, !open && auth !== undefined);
      if (why) return problem(403, why);
    }
    await next();
    return undefined;
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1024 * 1024,
      onError: () =>
        problem(
          413,
          `The request body is larger than ${options.maxBodyBytes ?? 1024 * 1024} bytes`,
        ),
    }),
  );
  for (const r of ROUTES) {
    route.set(`${r.method} ${r.path}`, r);
    app.on(r.method, honoPath(r.path), (c) => {
      const caller = c.get("caller") as Caller | undefined;
      if (!allowed(r.access, caller)) {
        if (!caller) {
          return problem(
            401,
            "Send a token: Authorization: Bearer TOKEN (orchestra serve token add NAME --role viewer)",
            undefined,
            { "www-authenticate": "Bearer" },
          );
        }
        return problem(403, `Token "${caller.name}" is a ${caller.role}; this needs an operator`);
      }
      return r.handler(c, api);
    });
  }
  app.get("/api/v1/openapi.json", (c) => c.json(openApiDocument()));
  mountDashboard(app);
  app.notFound((c) => {
    const other = ROUTES.find((r) =>
      new RegExp(`^${honoPath(r.path).replace(/:\w+/g, "[^/]+")}$`).test(c.req.path)
    );
    if (other) {
      return problem(
        405,
        `${c.req.method} is not allowed on ${c.req.path}; use ${other.method}`,
        undefined,
        { allow: other.method },
      );
    }
    return problem(
      404,
      `Nothing at ${c.req.path}; the API is under /api/v1 (GET /api/v1/openapi.json lists it)`,
    );
  });
  app.onError((e, c) => {
    options.onError?.(e, c.req.path);
    return problem(500, "The server failed to answer this request; its log says why");
  });
  return app;
}

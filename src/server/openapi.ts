/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table that the server
 * registers ({@linkcode ROUTES}).
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { type Route, ROUTES } from "./routes.ts";

const SECURITY: Record<Route["access"], unknown[] | undefined> = {
  public: [],
  viewer: [{ bearer: ["viewer"] }],
  operator: [{ bearer: ["operator"] }],
  webhook: [{ webhookBearer: [] }, { githubSignature: [] }],
};

function operation(r: Route): Record<string, unknown> {
  const params = [...r.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  for (const q of r.query ?? []) {
    params.push(
      {
        name: q.name,
        in: "query",
        required: false,
        schema: { type: q.type },
        description: q.description,
      } as never,
    );
  }
  const op: Record<string, unknown> = {
    summary: r.summary,
    operationId: `${r.method.toLowerCase()}${
      r.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9_]+/g, "_")
    }`,
    ...(params.length ? { parameters: params } : {}),
    security: SECURITY[r.access],
    responses: Object.fromEntries(
      Object.entries(r.responses).map(([code, description]) => [code, {
        description,
        content: Number(code) >= 400
          ? { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }
          : r.stream
          ? { "text/event-stream": { schema: { type: "string" } } }
          : { "application/json": { schema: { type: "object" } } },
      }]),
    ),
  };
  if (r.body) {
    op.requestBody = {
      required: false,
      content: {
        "application/json": {
          schema: {
            type: "object",
            properties: Object.fromEntries(
              Object.entries(r.body).map((
                [k, v],
              ) => [k, { type: v.type, description: v.description }]),
            ),
          },
        },
      },
    };
  }
  return op;
}

/**
 * The document.
 *
 * @example
 * ```ts
 * import { openApiDocument } from "./openapi.ts";
 * const doc = openApiDocument() as { paths: Record<string, unknown> };
 * console.assert("/api/v1/flows/{flow}/runs" in doc.paths);
 * ```
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
  paths["/api/v1/openapi.json"] = {
    get: {
      summary: "This document",
      operationId: "getOpenApi",
      security: [],
      responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } } },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Orchestra",
      version: denoJson.version,
      description: "orchestra serve: flows, runs, schedules and webhooks. Errors are " +
        "application/problem+json. State-changing requests need a token header (Authorization, " +
        "or X-Orchestra-Request without tokens) and a same-origin Origin.",
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A token of the tokens file" },
        webhookBearer: { type: "http", scheme: "bearer", description: "The flow's webhook secret" },
        githubSignature: {
          type: "apiKey",
          in: "header",
          name: "X-Hub-Signature-256",
          description: "sha256=HMAC-SHA256 of the body with the flow's webhook secret",
        },
      },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status", "detail"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string", description: "What failed and how to fix it" },
            errors: { type: "array", items: { type: "object" } },
          },
        },
      },
    },
  };
}

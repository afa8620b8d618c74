/**
 * Errors of the HTTP API as RFC 9457 problem documents (`application/problem+json`): a
 * `title` (what failed), a `detail` that says how to fix it, the `status`, and, for invalid
 * input, every problem in `errors`.
 *
 * @module
 */

import type { ValidationIssue } from "../core/errors.ts";

/** The body of an error response. */
export interface Problem {
  /** A URI naming the kind of problem (`about:blank`: the status says it). */
  type: string;
  /** What failed, short. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** What failed in this request and how to fix it. */
  detail: string;
  /** Every problem found, for invalid input. */
  errors?: {
    message: string;
    hint?: string;
    location?: string;
    taskId?: string;
    /** The param it is about: a form shows it by that field. */
    param?: string;
  }[];
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Content too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  500: "Internal server error",
  503: "Service unavailable",
};

/**
 * A problem response.
 *
 * @example
 * ```ts
 * import { problem } from "./problem.ts";
 * const r = problem(404, 'No flow "etl"; GET /api/v1/flows lists the flows');
 * console.assert(r.status === 404 && r.headers.get("content-type") === "application/problem+json");
 * ```
 */
export function problem(
  status: number,
  detail: string,
  issues?: readonly ValidationIssue[],
  headers: Record<string, string> = {},
): Response {
  const body: Problem = {
    type: "about:blank",
    title: TITLES[status] ?? "Error",
    status,
    detail,
  };
  if (issues?.length) {
    body.errors = issues.map((i) => ({
      message: i.message,
      ...(i.hint ? { hint: i.hint } : {}),
      ...(i.location
        ? { location: `${i.location.file}:${i.location.line}:${i.location.col}` }
        : {}),
      ...(i.taskId ? { taskId: i.taskId } : {}),
      ...(i.param !== undefined ? { param: i.param } : {}),
    }));
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

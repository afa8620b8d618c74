/**
 * The HTTP API's route table: each route's method, path, who may call it, what it does, and
 * its handler. The server registers exactly these, and the OpenAPI document at
 * `/api/v1/openapi.json` is generated from them, so the two cannot disagree.
 *
 * @module
 */

import type { ApiContext, Env } from "./api_context.ts";
import type { Context } from "hono";
import * as h from "./handlers.ts";

/** Who may call a route: anyone, a viewer (or operator), an operator, a webhook sender. */
export type Access = "public" | "viewer" | "operator" | "webhook";

/** A query parameter, for the OpenAPI document. */
export interface QueryParam {
  /** Its name. */
  name: string;
  /** What it does. */
  description: string;
  /** Its JSON Schema type. */
  type: "string" | "integer" | "boolean";
}

/** One route. */
export interface Route {
  /** The method. */
  method: "GET" | "POST";
  /** The path, in OpenAPI's form (`/api/v1/runs/{id}`). */
  path: string;
  /** Who may call it. */
  access: Access;
  /** What it does. */
  summary: string;
  /** Its query parameters. */
  query?: QueryParam[];
  /** The JSON body it takes: property → description. */
  body?: Record<string, { type: string; description: string }>;
  /** What it answers: status → description. */
  responses: Record<string, string>;
  /** A route that streams (`text/event-stream`). */
  stream?: boolean;
  /** The handler. */
  handler: (c: Context<Env>, api: ApiContext) => Promise<Response> | Response;
}

const RUN_ID = "/api/v1/runs/{id}";

/** Every route the server serves. */
export const ROUTES: readonly Route[] = [
  {
    method: "GET",
    path: "/api/v1/flows",
    access: "viewer",
    summary: "The flows: params schema, schedules with their next times, validity and problems",
    responses: { "200": "{ flows: [...] }" },
    handler: h.listFlows,
  },
  {
    method: "GET",
    path: "/api/v1/flows/{flow}",
    access: "viewer",
    summary: "One flow",
    responses: { "200": "The flow", "404": "No such flow" },
    handler: h.getFlow,
  },
  {
    method: "POST",
    path: "/api/v1/flows/{flow}/runs",
    access: "operator",
    summary: "Starts a run of the flow",
    body: { params: { type: "object", description: "The run's params, by name" } },
    responses: {
      "201": "{ runId }: started (Location: the run)",
      "404": "No such flow",
      "409": "The flow is invalid",
      "422": "Invalid params: every problem in errors",
      "503": "The server is stopping",
    },
    handler: h.startRun,
  },
  {
    method: "GET",
    path: "/api/v1/runs",
    access: "viewer",
    summary: "Recorded runs, newest first, paged",
    query: [
      { name: "flow", type: "string", description: "Only runs of this flow" },
      { name: "status", type: "string", description: "running, succeeded, failed or cancelled" },
      { name: "offset", type: "integer", description: "Runs to skip (default 0)" },
      { name: "limit", type: "integer", description: "Runs per page, 1–500 (default 50)" },
    ],
    responses: { "200": "{ runs, offset, limit, next }: next is the next page's URL, or null" },
    handler: h.listRuns,
  },
  {
    method: "GET",
    path: RUN_ID,
    access: "viewer",
    summary: "A run's record: the document of orchestra run --json, with its trigger",
    responses: { "200": "The run", "404": "No such run" },
    handler: h.getRun,
  },
  {
    method: "GET",
    path: `${RUN_ID}/events`,
    access: "viewer",
    summary: "The run's events as Server-Sent Events, live; resumable with Last-Event-ID",
    query: [{
      name: "after",
      type: "integer",
      description: "Events after this id (as Last-Event-ID)",
    }, {
      name: "types",
      type: "string",
      description: "Only events of these types, comma-separated (e.g. every type but task.log)",
    }],
    responses: { "200": "text/event-stream: id is the event's seq; an `end` event closes it" },
    stream: true,
    handler: h.runEvents,
  },
  {
    method: "GET",
    path: `${RUN_ID}/tasks/{task}/logs`,
    access: "viewer",
    summary: "A task's log lines; live with Accept: text/event-stream or ?follow=1",
    query: [{
      name: "follow",
      type: "boolean",
      description: "Stream lines as text until the run ends",
    }],
    responses: { "200": "{ lines } (or a stream)", "404": "No such run or task" },
    handler: h.taskLogs,
  },
  {
    method: "POST",
    path: `${RUN_ID}/cancel`,
    access: "operator",
    summary: "Cancels a running run",
    responses: { "202": "Cancellation requested", "404": "No such run", "409": "Not running" },
    handler: h.cancelRun,
  },
  {
    method: "POST",
    path: `${RUN_ID}/resume`,
    access: "operator",
    summary: "Resumes a run that failed, was cancelled or interrupted: succeeded tasks are kept",
    responses: { "202": "{ runId }: resumed", "404": "No such run", "409": "It cannot be resumed" },
    handler: h.resumeRun,
  },
  {
    method: "POST",
    path: `${RUN_ID}/retry`,
    access: "operator",
    summary:
      "Retries a run as a new run: from a task (and what follows it), or what did not succeed",
    body: {
      from: { type: "string", description: "The task to run again, with every task after it" },
      params: { type: "object", description: "Params that replace the run's" },
    },
    responses: {
      "201": "{ runId }: the new run",
      "404": "No such run",
      "422": "No such task, or invalid params",
    },
    handler: h.retryRun,
  },
  {
    method: "GET",
    path: "/api/v1/schedules",
    access: "viewer",
    summary: "Every schedule with its state and next five times",
    responses: { "200": "{ schedules }" },
    handler: h.listSchedules,
  },
  ...(["pause", "resume", "trigger"] as const).map((action): Route => ({
    method: "POST",
    path: `/api/v1/schedules/{id}/${action}`,
    access: "operator",
    summary: action === "pause"
      ? "Pauses a schedule: its ticks pass without runs"
      : action === "resume"
      ? "Resumes a paused schedule from now on"
      : "Starts a run of the schedule now",
    responses: action === "trigger"
      ? { "201": "{ runId }", "404": "No such schedule", "409": "It could not start" }
      : { "200": "The schedule", "404": "No such schedule" },
    handler: action === "pause"
      ? h.pauseSchedule
      : action === "resume"
      ? h.resumeSchedule
      : h.triggerSchedule,
  })),
  {
    method: "POST",
    path: "/hooks/{flow}",
    access: "webhook",
    summary: "A webhook delivery: its JSON body gives the params (by name) and `event`",
    responses: {
      "201": "{ runId }: started",
      "200": "{ runId, duplicate: true }: a delivery already taken (same Idempotency-Key)",
      "401": "No secret, or the wrong one",
      "404": "The flow takes no webhooks",
      "422": "Invalid params",
    },
    handler: h.webhook,
  },
  {
    method: "GET",
    path: "/healthz",
    access: "public",
    summary: "The server answers",
    responses: { "200": "{ status: ok }" },
    handler: h.healthz,
  },
  {
    method: "GET",
    path: "/readyz",
    access: "public",
    summary: "The state store answers and the schedules are loaded",
    responses: { "200": "Ready", "503": "Not ready: checks says what" },
    handler: h.readyz,
  },
  {
    method: "GET",
    path: "/metrics",
    access: "viewer",
    summary: "Metrics in Prometheus' text format",
    responses: { "200": "text/plain; version=0.0.4" },
    handler: h.metrics,
  },
];

/** A route's path in Hono's form (`/api/v1/runs/:id`). */
export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

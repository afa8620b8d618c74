/**
 * The handlers of the HTTP API: flows, runs (start, list, one, events, logs, cancel, resume,
 * retry), schedules, webhooks and operations. Each takes the request's context and the
 * server's parts and answers JSON, a stream, or a problem document.
 *
 * @module
 */

import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { RunEvent, RunStatus } from "../core/events.ts";
import { type ApiContext, type Env, jsonObject, paramsOf } from "./api_context.ts";
import type { CatalogEntry } from "./catalog.ts";
import { problem } from "./problem.ts";
import { runDocument, runSummary } from "./run_document.ts";
import type { Trigger } from "./runner_protocol.ts";
import type { RunFailure, Started } from "./run_service.ts";
import { TRIGGER_SCOPE } from "./run_service.ts";
import { followEvents } from "./sse.ts";
import {
  DELIVERY_SCOPE,
  DELIVERY_TTL_MS,
  deliveryKey,
  deliveryParams,
  verifyDelivery,
} from "./webhooks.ts";

type C = Context<Env>;
type H = (c: C, api: ApiContext) => Promise<Response> | Response;

const STATUSES: readonly RunStatus[] = ["running", "succeeded", "failed", "cancelled"];

function flowView(e: CatalogEntry, api: ApiContext): Record<string, unknown> {
  const schedules = api.scheduler.list().filter((s) => s.flow === e.name);
  return {
    name: e.name,
    file: e.file,
    ...(e.description ? { description: e.description } : {}),
    valid: e.valid,
    params: e.params,
    schedules,
    webhook: Object.hasOwn(api.webhooks, e.name),
    tasks: e.tasks,
    issues: e.issues.map((i) => ({
      message: i.message,
      severity: i.severity ?? "error",
      ...(i.hint ? { hint: i.hint } : {}),
      ...(i.location
        ? { location: `${i.location.file}:${i.location.line}:${i.location.col}` }
        : {}),
      ...(i.taskId ? { taskId: i.taskId } : {}),
    })),
  };
}

function unknownFlow(name: string, api: ApiContext): Response {
  const names = api.catalog.entries.map((e) => e.name);
  return problem(
    404,
    `No flow "${name}"; the flows are: ${names.join(", ") || "none"} (GET /api/v1/flows)`,
  );
}

function answer(r: Started | RunFailure, location = true): Response {
  if ("runId" in r) {
    return Response.json({ runId: r.runId }, {
      status: 201,
      headers: location ? { location: `/api/v1/runs/${r.runId}` } : {},
    });
  }
  return problem(r.status, r.error, r.issues);
}

function by(c: C): string {
  return c.get("caller").name;
}

/** `GET /api/v1/flows`. */
export const listFlows: H = (_c, api) =>
  Response.json({ flows: api.catalog.entries.map((e) => flowView(e, api)) });

/** `GET /api/v1/flows/{flow}`. */
export const getFlow: H = (c, api) => {
  const e = api.catalog.get(c.req.param("flow")!);
  return e ? Response.json(flowView(e, api)) : unknownFlow(c.req.param("flow")!, api);
};

/** `POST /api/v1/flows/{flow}/runs` `{ params }`. */
export const startRun: H = async (c, api) => {
  const name = c.req.param("flow")!;
  const e = api.catalog.get(name);
  if (!e) return unknownFlow(name, api);
  const body = await jsonObject(c);
  if (body instanceof Response) return body;
  const params = paramsOf(body);
  if (params instanceof Response) return params;
  return answer(await api.runs.start(e, params, { kind: "api", by: by(c) }));
};

/** `GET /api/v1/runs?flow=&status=&offset=&limit=`. */
export const listRuns: H = async (c, api) => {
  const q = c.req.query();
  if (q.status && !STATUSES.includes(q.status as RunStatus)) {
    return problem(400, `status must be one of ${STATUSES.join(", ")}, got "${q.status}"`);
  }
  const offset = q.offset === undefined ? 0 : Number(q.offset);
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (!Number.isInteger(offset) || offset < 0) return problem(400, "offset must be an integer ≥ 0");
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return problem(400, "limit must be an integer from 1 to 500");
  }
  const rows = await api.store.listRuns({
    ...(q.flow ? { flow: q.flow } : {}),
    ...(q.status ? { status: q.status as RunStatus } : {}),
    limit: offset + limit + 1,
  });
  const page = rows.slice(offset, offset + limit);
  const triggers = await Promise.all(
    page.map((r) => api.store.stateGet(TRIGGER_SCOPE, r.runId, Date.now())),
  );
  const more = rows.length > offset + limit;
  const next = new URLSearchParams({ ...q, offset: String(offset + limit), limit: String(limit) });
  return Response.json({
    runs: page.map((r, i) => runSummary(r, triggers[i]?.value as Trigger | undefined)),
    offset,
    limit,
    next: more ? `/api/v1/runs?${next}` : null,
  });
};

async function runOr404(api: ApiContext, id: string) {
  return await api.store.getRun(id) ??
    problem(404, `No run "${id}"; GET /api/v1/runs lists the runs`);
}

/** `GET /api/v1/runs/{id}`: the `--json` document. */
export const getRun: H = async (c, api) => {
  const row = await runOr404(api, c.req.param("id")!);
  if (row instanceof Response) return row;
  const [tasks, trigger] = await Promise.all([
    api.store.getTasks(row.runId),
    api.store.stateGet(TRIGGER_SCOPE, row.runId, Date.now()),
  ]);
  return Response.json(runDocument(row, tasks, trigger?.value as Trigger | undefined));
};

/** The types of a run's events (`RunEvent["type"]`), for `?types=`. */
export const EVENT_TYPES: readonly RunEvent["type"][] = [
  "run.started",
  "task.created",
  "task.started",
  "task.retrying",
  "task.succeeded",
  "task.cached",
  "task.failed",
  "task.skipped",
  "task.cancelled",
  "task.log",
  "map.expanded",
  "run.finished",
];

/** `?types=a,b`: the event types to give (all when absent), or a problem naming a wrong one. */
function eventTypes(query: string | undefined): string[] | undefined | Response {
  if (query === undefined || query.trim() === "") return undefined;
  const types = query.split(",").map((s) => s.trim()).filter(Boolean);
  const wrong = types.filter((x) => !(EVENT_TYPES as readonly string[]).includes(x));
  if (wrong.length) {
    return problem(
      400,
      `Unknown event type${wrong.length > 1 ? "s" : ""} ${
        wrong.map((w) => `"${w}"`).join(", ")
      } in types; the types are: ${EVENT_TYPES.join(", ")}`,
    );
  }
  return types;
}

/** `GET /api/v1/runs/{id}/events`: Server-Sent Events, resumable with `Last-Event-ID`. */
export const runEvents: H = async (c, api) => {
  const row = await runOr404(api, c.req.param("id")!);
  if (row instanceof Response) return row;
  const last = c.req.header("last-event-id") ?? c.req.query("after") ?? "0";
  const afterSeq = Number(last);
  if (!Number.isInteger(afterSeq) || afterSeq < 0) {
    return problem(400, `Last-Event-ID must be an event's id (a number), got "${last}"`);
  }
  const types = eventTypes(c.req.query("types"));
  if (types instanceof Response) return types;
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    for await (
      const { seq, event } of followEvents({
        store: api.store,
        runId: row.runId,
        afterSeq,
        wake: (fn) => api.runs.follow(row.runId, fn),
        signal: abort.signal,
        ...(types ? { types } : {}),
      })
    ) {
      await stream.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
    }
    const end = await api.store.getRun(row.runId);
    await stream.writeSSE({ event: "end", data: JSON.stringify({ status: end?.status ?? null }) });
  });
};

/** `GET /api/v1/runs/{id}/tasks/{task}/logs`: JSON, or live with SSE or `?follow=1`. */
export const taskLogs: H = async (c, api) => {
  const row = await runOr404(api, c.req.param("id")!);
  if (row instanceof Response) return row;
  const taskId = c.req.param("task")!;
  const tasks = await api.store.getTasks(row.runId);
  if (!tasks.some((t) => t.taskId === taskId)) {
    return problem(
      404,
      `Run "${row.runId}" has no task "${taskId}"; its tasks: ${
        tasks.map((t) => t.taskId).join(", ")
      }`,
    );
  }
  const follow = c.req.query("follow") === "1" || c.req.query("follow") === "true";
  const sse = (c.req.header("accept") ?? "").includes("text/event-stream");
  const lines = (signal: AbortSignal, live: boolean) =>
    followEvents({
      store: api.store,
      runId: row.runId,
      taskId,
      types: ["task.log"],
      wake: live ? (fn) => api.runs.follow(row.runId, fn) : () => () => {},
      signal,
    });
  const line = (e: { time: number; level?: string; message?: string }) => ({
    time: new Date(e.time).toISOString(),
    level: e.level,
    message: e.message,
  });
  if (!follow && !sse) {
    const out = [];
    const done = new AbortController();
    const all = await api.store.events(row.runId, { taskId, types: ["task.log"] });
    done.abort();
    for (const { event } of all) out.push(line(event as never));
    return Response.json({ runId: row.runId, taskId, lines: out });
  }
  if (sse) {
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      for await (const { seq, event } of lines(abort.signal, true)) {
        await stream.writeSSE({
          id: String(seq),
          event: "log",
          data: JSON.stringify(line(event as never)),
        });
      }
      await stream.writeSSE({ event: "end", data: "{}" });
    });
  }
  const abort = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const enc = new TextEncoder();
      for await (const { event } of lines(abort.signal, true)) {
        const l = line(event as never);
        controller.enqueue(
          enc.encode(`${l.time} ${String(l.level).toUpperCase().padEnd(7)} ${l.message}\n`),
        );
      }
      controller.close();
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
};

/** `POST /api/v1/runs/{id}/cancel`. */
export const cancelRun: H = async (c, api) => {
  const failed = await api.runs.cancel(c.req.param("id")!);
  if (failed) return problem(failed.status, failed.error);
  return Response.json({ runId: c.req.param("id"), cancelRequested: true }, { status: 202 });
};

/** `POST /api/v1/runs/{id}/resume`. */
export const resumeRun: H = async (c, api) => {
  const id = c.req.param("id")!;
  const r = await api.runs.resume(id, { kind: "resume", of: id, by: by(c) });
  return "runId" in r ? Response.json({ runId: r.runId }, { status: 202 }) : answer(r);
};

/** `POST /api/v1/runs/{id}/retry` `{ from, params }`: a new run. */
export const retryRun: H = async (c, api) => {
  const id = c.req.param("id")!;
  const body = await jsonObject(c);
  if (body instanceof Response) return body;
  if (body.from !== undefined && typeof body.from !== "string") {
    return problem(422, "from must be a task id", [{ message: `from is ${typeof body.from}` }]);
  }
  const params = body.params === undefined ? undefined : paramsOf(body);
  if (params instanceof Response) return params;
  return answer(
    await api.runs.retry(id, {
      ...(body.from ? { from: body.from as string } : {}),
      ...(params ? { params } : {}),
    }, { kind: "retry", of: id, by: by(c) }),
  );
};

/** `GET /api/v1/schedules`. */
export const listSchedules: H = (_c, api) => Response.json({ schedules: api.scheduler.list() });

function unknownSchedule(id: string, api: ApiContext): Response {
  const ids = api.scheduler.list().map((s) => s.id);
  return problem(404, `No schedule "${id}"; the schedules are: ${ids.join(", ") || "none"}`);
}

/** `POST /api/v1/schedules/{id}/pause`. */
export const pauseSchedule: H = async (c, api) => {
  const s = await api.scheduler.pause(c.req.param("id")!);
  return s ? Response.json(s) : unknownSchedule(c.req.param("id")!, api);
};

/** `POST /api/v1/schedules/{id}/resume`. */
export const resumeSchedule: H = async (c, api) => {
  const s = await api.scheduler.resume(c.req.param("id")!);
  return s ? Response.json(s) : unknownSchedule(c.req.param("id")!, api);
};

/** `POST /api/v1/schedules/{id}/trigger`: a run now. */
export const triggerSchedule: H = async (c, api) => {
  const r = await api.scheduler.trigger(c.req.param("id")!);
  if (!r) return unknownSchedule(c.req.param("id")!, api);
  return "runId" in r ? answer(r) : problem(409, r.error);
};

/** `POST /hooks/{flow}`: a webhook delivery. */
export const webhook: H = async (c, api) => {
  const name = c.req.param("flow")!;
  const e = api.catalog.get(name);
  const hook = api.webhooks[name];
  if (!e || !hook) {
    return problem(
      404,
      `No webhook for flow "${name}": name it in the tokens file's webhooks (webhooks: { ${name}: { secret: NAME } })`,
    );
  }
  const secret = api.secret(hook.secret);
  if (!secret) {
    return problem(
      503,
      `The secret "${hook.secret}" of webhook "${name}" is not set: put it in the secrets file or the environment`,
    );
  }
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const verdict = await verifyDelivery(c.req.raw.headers, raw, secret);
  if (verdict !== "ok") {
    return problem(
      401,
      verdict === "missing"
        ? "Send the webhook's secret: Authorization: Bearer SECRET, or X-Hub-Signature-256: sha256=HMAC of the body"
        : "The webhook's secret or signature does not match",
      undefined,
      { "www-authenticate": "Bearer" },
    );
  }
  let body: unknown = {};
  const text = new TextDecoder().decode(raw);
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (err) {
      return problem(
        400,
        `The delivery is not JSON: ${(err as Error).message}; send Content-Type: application/json`,
      );
    }
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return problem(400, "The delivery must be a JSON object");
  }
  const key = deliveryKey(c.req.raw.headers);
  const slot = key ? `${name}:${key}` : undefined;
  if (slot) {
    const now = Date.now();
    const there = await api.store.statePutNew(DELIVERY_SCOPE, slot, { runId: null }, {
      expiresAt: now + DELIVERY_TTL_MS,
      now,
    });
    if (there) {
      api.metrics.duplicates.inc({ flow: name });
      const runId = (there.value as { runId: string | null }).runId;
      return Response.json({ runId, duplicate: true }, { status: 200 });
    }
  }
  const trigger: Trigger = { kind: "webhook", ...(key ? { by: key } : {}) };
  const r = await api.runs.start(
    e,
    deliveryParams(e.params, body as Record<string, unknown>),
    trigger,
  );
  if (slot) {
    if ("runId" in r) {
      await api.store.statePut(DELIVERY_SCOPE, slot, { runId: r.runId }, {
        expiresAt: Date.now() + DELIVERY_TTL_MS,
      });
    } else await api.store.stateDelete(DELIVERY_SCOPE, slot);
  }
  return answer(r);
};

/** `GET /healthz`: the process answers. */
export const healthz: H = () => Response.json({ status: "ok" });

/** `GET /readyz`: the store answers and the schedules are loaded. */
export const readyz: H = async (_c, api) => {
  const r = await api.ready();
  return Response.json({ status: r.ok ? "ready" : "not ready", checks: r.checks }, {
    status: r.ok ? 200 : 503,
  });
};

/** `GET /metrics`: Prometheus text. */
export const metrics: H = (_c, api) =>
  new Response(api.metrics.text(), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });

/**
 * OpenTelemetry spans of a run, derived in the host from the run's events: one span per run
 * and one per task attempt, made with `@opentelemetry/api`. Deno exports them over OTLP when
 * the process runs with `OTEL_DENO=true` (and does nothing with them otherwise), so `orchestra
 * run` and `orchestra serve` are traced alike without the engine knowing about tracing.
 *
 * @module
 */

import {
  type Attributes,
  context,
  type Span,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { RunEvent } from "../core/events.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** The instrumentation scope the spans are made under. */
export const TRACER_NAME = "orchestra";

/**
 * Turns a run's events into spans: `run.started` opens the run's span (`run <flow>`), each
 * `task.started` opens an attempt's span (`task <id>`) as its child, and the events that end
 * an attempt (`task.succeeded`, `task.failed`, `task.retrying`, `task.cancelled`) close it
 * with its status; `task.cached` is a span of no duration. Attributes: `orchestra.flow`,
 * `orchestra.run_id`, `orchestra.task`, `orchestra.attempt`, `orchestra.status`.
 *
 * @example
 * ```ts
 * import { RunSpans } from "./run_spans.ts";
 * const spans = new RunSpans();
 * spans.onEvent({ type: "run.started", runId: "r1", time: 0, flow: "etl", params: {} });
 * spans.onEvent({ type: "task.started", runId: "r1", time: 1, taskId: "a", name: "a", attempt: 1 });
 * spans.onEvent({
 *   type: "task.succeeded", runId: "r1", time: 2, taskId: "a", name: "a", attempt: 1, durationMs: 1,
 * });
 * spans.onEvent({ type: "run.finished", runId: "r1", time: 3, flow: "etl", status: "succeeded" });
 * console.assert(spans.open === 0);
 * ```
 */
export class RunSpans {
  readonly #tracer: Tracer;
  #run: Span | undefined;
  #flow = "";
  readonly #attempts = new Map<string, Span>();

  /** Uses `tracer`, or the global provider's tracer named {@linkcode TRACER_NAME}. */
  constructor(tracer: Tracer = trace.getTracer(TRACER_NAME, denoJson.version)) {
    this.#tracer = tracer;
  }

  /** How many spans are open (the run's and its attempts'). */
  get open(): number {
    return this.#attempts.size + (this.#run ? 1 : 0);
  }

  /** Takes the next event of the run. */
  onEvent(e: RunEvent): void {
    switch (e.type) {
      case "run.started":
        this.#flow = e.flow;
        // A resumed run starts a new span: each attempt at the run is traced on its own.
        this.#run?.end(e.time);
        this.#run = this.#tracer.startSpan(`run ${e.flow}`, {
          startTime: e.time,
          attributes: { "orchestra.flow": e.flow, "orchestra.run_id": e.runId },
        });
        break;
      case "task.started":
        this.#start(e.taskId, e.time, { "orchestra.attempt": e.attempt });
        break;
      case "task.succeeded":
        this.#end(e.taskId, e.time, "succeeded");
        break;
      case "task.retrying":
        this.#end(e.taskId, e.time, "failed", e.error);
        break;
      case "task.failed":
        this.#end(e.taskId, e.time, "failed", e.error);
        break;
      case "task.cancelled":
        this.#end(e.taskId, e.time, "cancelled");
        break;
      case "task.cached":
        this.#start(e.taskId, e.time, { "orchestra.attempt": 0, "orchestra.cache_key": e.key });
        this.#end(e.taskId, e.time, "cached");
        break;
      case "run.finished":
        this.finish(e.time, e.status, e.error);
        break;
    }
  }

  /** Ends every open span (the run ended, or its host stops following it). */
  finish(time: number, status: string, error?: string): void {
    for (const id of [...this.#attempts.keys()]) this.#end(id, time, status);
    if (!this.#run) return;
    this.#run.setAttribute("orchestra.status", status);
    if (status === "failed") this.#run.setStatus({ code: SpanStatusCode.ERROR, message: error });
    else if (status === "succeeded") this.#run.setStatus({ code: SpanStatusCode.OK });
    this.#run.end(time);
    this.#run = undefined;
  }

  #start(taskId: string, time: number, attributes: Attributes): void {
    this.#attempts.get(taskId)?.end(time);
    const parent = this.#run ? trace.setSpan(context.active(), this.#run) : context.active();
    this.#attempts.set(
      taskId,
      this.#tracer.startSpan(`task ${taskId}`, {
        startTime: time,
        attributes: { "orchestra.flow": this.#flow, "orchestra.task": taskId, ...attributes },
      }, parent),
    );
  }

  #end(taskId: string, time: number, status: string, error?: string): void {
    const span = this.#attempts.get(taskId);
    if (!span) return;
    this.#attempts.delete(taskId);
    span.setAttribute("orchestra.status", status);
    if (status === "failed") span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    else if (status === "succeeded" || status === "cached") {
      span.setStatus({ code: SpanStatusCode.OK });
    }
    span.end(time);
  }
}

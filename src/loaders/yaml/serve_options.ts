/**
 * What a YAML flow tells `orchestra serve`: its schedule (the entries of `schedule:` or
 * GitHub's `on.schedule`, checked as serve reads them: cron, time zone, policies, params, each
 * problem at its place) and the param `event` (a webhook's JSON body, read as `${{ event }}`),
 * declared for a flow that reads it without declaring it.
 *
 * @module
 */

import type { FlowGraph } from "../../core/model.ts";
import type { FlowDefinition } from "../../core/protocol.ts";
import { scheduleIssues, type ScheduleSpec } from "../../core/schedule.ts";
import type { CompiledTask } from "./compiled.ts";
import type { FlowSpec } from "./spec.ts";

/** The param `${{ event }}` reads, declared for a flow that reads it without declaring it. */
const EVENT_PARAM = {
  type: "object",
  default: {},
  description: "What started the run: a webhook's JSON body under orchestra serve",
} as const;

/** Gives the compiled flow (`graph` and `def`) its schedule and, when read, the event param. */
export function addServeOptions(
  spec: FlowSpec,
  compiled: readonly CompiledTask[],
  graph: FlowGraph,
  def: FlowDefinition,
): void {
  const options = def.options as { params?: Record<string, unknown>; schedule?: unknown };
  if (compiled.some((c) => c.params?.includes("event")) && !spec.fields.params?.event) {
    graph.params = { ...graph.params, event: EVENT_PARAM };
    options.params = { ...options.params, event: EVENT_PARAM };
  }
  if (!spec.schedules.length) return;
  const entries = spec.schedules.map((s) => s.entry as unknown as ScheduleSpec);
  options.schedule = entries;
  // Each entry checked as serve reads it, the problem at its place. A GitHub workflow's
  // on.schedule has no params: its scheduled runs get the inputs' defaults, as on GitHub, and
  // a required input is for workflow_dispatch.
  const params = spec.form === "workflow" ? undefined : spec.fields.params;
  for (const i of scheduleIssues(spec.name, entries, params)) {
    const [index, ...rest] = i.path as [number, ...(string | number)[]];
    graph.issues.push({
      message: i.message,
      location: spec.source.locate([...spec.schedules[index].path, ...rest]),
      ...(i.hint ? { hint: i.hint } : {}),
    });
  }
}

/**
 * A flow's schedule: when `orchestra serve` runs it on its own. One model for YAML's
 * `schedule:` (and GitHub's `on: schedule:`) and the TypeScript `schedule` flow option: a list
 * of `{ cron, timezone, params, catchup, overlap }`, checked when the flow is read (every
 * problem, each with its place), and the times it fires, computed with croner in its time
 * zone (so daylight saving time is the zone's).
 *
 * @module
 */

import { Cron } from "croner";
import { type Duration, parseDuration } from "./duration.ts";
import { errorMessage, type ValidationIssue } from "./errors.ts";
import { type ParamsSchema, validateParams } from "./params.ts";

/** What runs for ticks missed while no server was running. */
export type CatchupPolicy = "skip" | "latest" | "all";

/** What a tick does while the schedule's last run is still going. */
export type OverlapPolicy = "skip" | "buffer-one" | "allow" | "cancel-other";

/** The policies, in the order the docs list them. */
export const CATCHUP_POLICIES: readonly CatchupPolicy[] = ["skip", "latest", "all"];
/** The overlap policies. */
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = [
  "skip",
  "buffer-one",
  "allow",
  "cancel-other",
];

/** One entry of a schedule, as written. */
export interface ScheduleSpec {
  /** A cron expression: five fields (minute hour day-of-month month day-of-week), or six with seconds first, or `@daily`, `@hourly`, …. */
  cron: string;
  /** The IANA time zone the cron expression is read in. @default "UTC" */
  timezone?: string;
  /** The params of the runs it starts. @default {} */
  params?: Record<string, unknown>;
  /**
   * Ticks missed while no server ran, within `window` of now: `skip` runs none, `latest` the
   * last one, `all` each. @default { window: "1h", policy: "skip" }
   */
  catchup?: { window?: Duration; policy?: CatchupPolicy };
  /** A tick while the last run is still going. @default "skip" */
  overlap?: OverlapPolicy;
}

/** A checked entry with its defaults applied and its id. */
export interface Schedule {
  /** `<flow>:<index>`: how the API and the metrics name it. */
  id: string;
  /** The flow it runs. */
  flow: string;
  /** Its position in the flow's schedule list. */
  index: number;
  /** The cron expression. */
  cron: string;
  /** The time zone. */
  timezone: string;
  /** Params of its runs. */
  params: Record<string, unknown>;
  /** The catch-up window in ms, and policy. */
  catchup: { windowMs: number; policy: CatchupPolicy };
  /** The overlap policy. */
  overlap: OverlapPolicy;
}

const KEYS = ["cron", "timezone", "params", "catchup", "overlap"];
const DEFAULT_WINDOW_MS = 60 * 60 * 1000;

/**
 * Checks a schedule list as written (`value`, from YAML or the TS option) and returns the
 * checked entries and every problem, each with its `path` (`[0, "cron"]`) so the front end can
 * place it.
 *
 * @example
 * ```ts
 * import { checkSchedules } from "./schedule.ts";
 * const ok = checkSchedules("nightly", [{ cron: "0 2 * * *", timezone: "Europe/Berlin" }]);
 * console.assert(ok.schedules[0].id === "nightly:0" && ok.issues.length === 0);
 * const bad = checkSchedules("nightly", [{ cron: "61 * * * *", overlap: "queue" }]);
 * console.assert(bad.issues.length === 2);
 * ```
 */
export function checkSchedules(
  flow: string,
  value: unknown,
): { schedules: Schedule[]; issues: (ValidationIssue & { path: (string | number)[] })[] } {
  const issues: (ValidationIssue & { path: (string | number)[] })[] = [];
  const schedules: Schedule[] = [];
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  list.forEach((entry, index) => {
    const issue = (path: (string | number)[], message: string, hint?: string) =>
      issues.push({ message, path: [index, ...path], ...(hint ? { hint } : {}) });
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      issue([], `schedule[${index}] must be an object such as { cron: "0 2 * * *" }`);
      return;
    }
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!KEYS.includes(k)) {
        issue([k], `schedule[${index}] has unknown key "${k}"`, `its keys are ${KEYS.join(", ")}`);
      }
    }
    const timezone = e.timezone === undefined ? "UTC" : e.timezone;
    const zoneOk = typeof timezone === "string" && validZone(timezone);
    const cron = e.cron;
    if (typeof cron !== "string" || cron.trim() === "") {
      issue(["cron"], `schedule[${index}] needs a cron expression`, 'e.g. cron: "30 5 * * 1-5"');
    } else {
      const problem = cronProblem(cron, zoneOk ? timezone as string : "UTC");
      if (problem) {
        issue(
          ["cron"],
          `schedule[${index}].cron "${cron}" is not valid: ${problem}`,
          'five fields: minute hour day-of-month month day-of-week, e.g. "30 5 * * 1-5"',
        );
      }
    }
    if (!zoneOk) {
      issue(
        ["timezone"],
        `schedule[${index}].timezone ${JSON.stringify(timezone)} is not a time zone`,
        'write an IANA name such as "Europe/Berlin", "America/New_York" or "UTC"',
      );
    }
    if (e.params !== undefined && !isPlainObject(e.params)) {
      issue(["params"], `schedule[${index}].params must be an object of params`);
    }
    const catchup = checkCatchup(e.catchup, (p, m, h) => issue(["catchup", ...p], m, h), index);
    const overlap = e.overlap ?? "skip";
    if (!OVERLAP_POLICIES.includes(overlap as OverlapPolicy)) {
      issue(
        ["overlap"],
        `schedule[${index}].overlap must be one of ${OVERLAP_POLICIES.join(", ")}, got ${
          JSON.stringify(overlap)
        }`,
      );
    }
    schedules.push({
      id: `${flow}:${index}`,
      flow,
      index,
      cron: typeof cron === "string" ? cron.trim() : "",
      timezone: typeof timezone === "string" ? timezone : "UTC",
      params: isPlainObject(e.params) ? e.params as Record<string, unknown> : {},
      catchup,
      overlap: overlap as OverlapPolicy,
    });
  });
  return { schedules: issues.length ? [] : schedules, issues };
}

/**
 * Every problem of a flow's schedule as written: those of its entries
 * ({@linkcode checkSchedules}) and the params each gives its runs that the flow's params schema
 * refuses. Each problem has its `path` in the schedule list.
 *
 * @example
 * ```ts
 * import { scheduleIssues } from "./schedule.ts";
 * const issues = scheduleIssues("etl", [{ cron: "0 2 * * *", params: { day: 3 } }], {
 *   day: { type: "string" },
 * });
 * console.assert(issues.length === 1 && issues[0].message.startsWith("schedule[0].params: "));
 * ```
 */
export function scheduleIssues(
  flow: string,
  value: unknown,
  params: ParamsSchema | undefined,
): (ValidationIssue & { path: (string | number)[] })[] {
  const issues = [...checkSchedules(flow, value).issues];
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  list.forEach((entry, index) => {
    if (!isPlainObject(entry)) return;
    const given = (entry as { params?: unknown }).params ?? {};
    if (!isPlainObject(given)) return; // said above
    for (const i of validateParams(params, given as Record<string, unknown>).issues) {
      issues.push({
        message: `schedule[${index}].params: ${i.message}`,
        path: [index, "params"],
        ...(i.hint ? { hint: i.hint } : {}),
      });
    }
  });
  return issues;
}

function checkCatchup(
  value: unknown,
  issue: (path: string[], message: string, hint?: string) => void,
  index: number,
): Schedule["catchup"] {
  const out = { windowMs: DEFAULT_WINDOW_MS, policy: "skip" as CatchupPolicy };
  if (value === undefined) return out;
  if (!isPlainObject(value)) {
    issue(
      [],
      `schedule[${index}].catchup must be { window, policy }`,
      'e.g. { window: "1h", policy: latest }',
    );
    return out;
  }
  const c = value as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (k !== "window" && k !== "policy") {
      issue(
        [k],
        `schedule[${index}].catchup has unknown key "${k}"`,
        "its keys are window, policy",
      );
    }
  }
  if (c.window !== undefined) {
    try {
      out.windowMs = parseDuration(c.window as Duration);
    } catch (e) {
      issue(["window"], `schedule[${index}].catchup.window: ${errorMessage(e)}`);
    }
  }
  if (c.policy !== undefined) {
    if (CATCHUP_POLICIES.includes(c.policy as CatchupPolicy)) {
      out.policy = c.policy as CatchupPolicy;
    } else {
      issue(
        ["policy"],
        `schedule[${index}].catchup.policy must be one of ${CATCHUP_POLICIES.join(", ")}, got ${
          JSON.stringify(c.policy)
        }`,
      );
    }
  }
  return out;
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(cron: string, timezone: string): string | undefined {
  try {
    new Cron(cron, { timezone, paused: true }).nextRun();
    return undefined;
  } catch (e) {
    return errorMessage(e).replace(/^CronPattern: /, "");
  }
}

function cronOf(s: Pick<Schedule, "cron" | "timezone">): Cron {
  return new Cron(s.cron, { timezone: s.timezone, paused: true });
}

/**
 * The next `n` times the schedule fires after `from` (exclusive), in its time zone. A local
 * time that does not exist that day (the hour skipped when clocks go forward) fires at the
 * first moment after the gap; one that happens twice (when clocks go back) fires once.
 *
 * @example
 * ```ts
 * import { nextTimes } from "./schedule.ts";
 * const times = nextTimes({ cron: "0 2 * * *", timezone: "Europe/Berlin" }, new Date("2026-01-01T00:00:00Z"), 2);
 * console.assert(times[0].toISOString() === "2026-01-01T01:00:00.000Z");
 * ```
 */
export function nextTimes(
  s: Pick<Schedule, "cron" | "timezone">,
  from: Date,
  n: number,
): Date[] {
  return cronOf(s).nextRuns(n, from);
}

/**
 * The times the schedule fired in (`after`, `until`]: the ticks a server that was down
 * missed. At most `max` (the latest ones), so a long outage costs no unbounded loop.
 *
 * @example
 * ```ts
 * import { ticksBetween } from "./schedule.ts";
 * const s = { cron: "0 * * * *", timezone: "UTC" };
 * const t = ticksBetween(s, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T03:30:00Z"));
 * console.assert(t.length === 3 && t[2].toISOString() === "2026-01-01T03:00:00.000Z");
 * ```
 */
export function ticksBetween(
  s: Pick<Schedule, "cron" | "timezone">,
  after: Date,
  until: Date,
  max = 1000,
): Date[] {
  const cron = cronOf(s);
  const out: Date[] = [];
  let at = after;
  for (;;) {
    const next = cron.nextRun(at);
    if (!next || next.getTime() > until.getTime()) break;
    out.push(next);
    if (out.length > max) out.shift();
    at = next;
  }
  return out;
}

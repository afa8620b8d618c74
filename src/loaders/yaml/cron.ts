/**
 * Checking cron entries of a flow's schedule when the flow is validated, so that a schedule
 * `orchestra serve` would refuse is an error at its file:line:col instead.
 *
 * @module
 */

const FIELDS: readonly { name: string; min: number; max: number; names?: readonly string[] }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of the month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  {
    name: "day of the week",
    min: 0,
    max: 7,
    names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
  },
];

/**
 * What is wrong with a five-field cron entry (minute hour day-of-month month day-of-week, with
 * `*`, lists, ranges, steps and month or day names), or undefined when nothing is.
 *
 * @example
 * ```ts
 * import { checkCron } from "./cron.ts";
 * console.assert(checkCron("30 5 * * 1-5") === undefined);
 * console.assert(checkCron("0 25 * * *")?.includes("hour"));
 * console.assert(checkCron("@daily")?.includes("five fields"));
 * ```
 */
export function checkCron(entry: string): string | undefined {
  const fields = entry.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `must have five fields (minute hour day-of-month month day-of-week), got ${
      JSON.stringify(entry)
    }`;
  }
  for (let i = 0; i < 5; i++) {
    const problem = checkField(fields[i], FIELDS[i]);
    if (problem) return `has an invalid ${FIELDS[i].name} "${fields[i]}": ${problem}`;
  }
  return undefined;
}

function checkField(text: string, f: (typeof FIELDS)[number]): string | undefined {
  for (const part of text.split(",")) {
    const [range, step, extra] = part.split("/");
    if (extra !== undefined || step !== undefined && !/^[1-9]\d*$/.test(step)) {
      return "a step is written */n or a-b/n with n ≥ 1";
    }
    if (range === "*") continue;
    const bounds = range.split("-");
    if (bounds.length > 2) return "a range is written a-b";
    const values = bounds.map((b) => valueOf(b, f));
    if (values.some((v) => v === undefined)) {
      return `values are ${f.min}–${f.max}${f.names ? ` or ${f.names[0]}…${f.names.at(-1)}` : ""}`;
    }
    if (values.length === 2 && values[0]! > values[1]!) return "a range must not run backwards";
  }
  return undefined;
}

function valueOf(text: string, f: (typeof FIELDS)[number]): number | undefined {
  const named = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (f.min === 1 ? 1 : 0);
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= f.min && n <= f.max ? n : undefined;
}

/**
 * `orchestra schedules [DIR|FILE…]`: every schedule of the flows under the paths, with its next
 * five times, read without a server (the flows are read as `orchestra validate` reads them).
 *
 * @module
 */

import { resolve } from "node:path";
import { isError } from "../../core/errors.ts";
import { checkSchedules, nextTimes } from "../../core/schedule.ts";
import { flowFiles } from "../../server/catalog.ts";
import type { Parsed } from "../args.ts";
import type { Io } from "../io.ts";
import { renderTable } from "../render.ts";
import { describeFile } from "./serve_describe.ts";

/** Options of `schedules`. */
export const SCHEDULES_OPTIONS = {
  // The settings validate reads a flow with.
  config: { type: "string" },
  "state-dir": { type: "string" },
  "policy-file": { type: "string" },
  "secrets-file": { type: "string" },
  "plugin-dir": { type: "string", multiple: true },
  json: { type: "boolean" },
  from: { type: "string" },
} as const;

/** Help of `schedules`. */
export const SCHEDULES_HELP = `Usage: orchestra schedules [DIR|FILE…] [options]

List the schedules of the flows under the paths (default: the current folder), each with
its next five times, as orchestra serve would run them. No server is needed.

Options:
      --json                One JSON document: each schedule with its next times (ISO, UTC)
      --from TIME           Count the next times from this ISO time instead of now
      --plugin-dir DIR      Look for plugins in DIR too (repeatable; before ./plugins)
      --policy-file FILE    The local permission policy (default: the first
                            orchestra.policy.yaml from the current directory upwards)
      --secrets-file FILE   A dotenv file of secrets, looked up before the environment
      --state-dir DIR       The state dir, which no grant may cover (default ./.orchestra)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help

Exit codes: 0 listed, 2 a path does not exist or a schedule is invalid (each problem shown).
`;

/** Runs `orchestra schedules`. */
export async function schedulesCommand(parsed: Parsed, io: Io): Promise<number> {
  const from = parsed.values.from === undefined
    ? new Date()
    : new Date(parsed.values.from as string);
  if (Number.isNaN(from.getTime())) {
    io.stderr(
      `error: --from must be an ISO time such as 2026-03-29T00:00:00Z, got "${parsed.values.from}"\n`,
    );
    return 2;
  }
  const roots = (parsed.positionals.length ? parsed.positionals : ["."]).map((p) =>
    resolve(io.cwd, p)
  );
  const rows: Record<string, unknown>[] = [];
  let problems = 0;
  for (const root of roots) {
    let files: string[];
    try {
      files = await flowFiles(root);
    } catch {
      io.stderr(`error: cannot read "${root}": no such file or folder\n`);
      return 2;
    }
    for (const file of files) {
      for (const flow of await describeFile(file, parsed, io)) {
        const checked = checkSchedules(flow.name, flow.schedule);
        // Found where the flow is read, as validate finds them.
        const errors = flow.issues.filter(isError).filter((i) => /\bschedule\[/.test(i.message));
        for (const i of errors) {
          problems++;
          io.stderr(
            `error: ${file}: flow "${flow.name}": ${i.message}${
              i.hint ? `\n    hint: ${i.hint}` : ""
            }\n`,
          );
        }
        for (const s of checked.schedules) {
          rows.push({
            id: s.id,
            flow: s.flow,
            file,
            cron: s.cron,
            timezone: s.timezone,
            overlap: s.overlap,
            catchup: { window: `${s.catchup.windowMs / 1000}s`, policy: s.catchup.policy },
            params: s.params,
            next: nextTimes(s, from, 5).map((d) => d.toISOString()),
          });
        }
      }
    }
  }
  if (parsed.values.json) {
    io.stdout(JSON.stringify({ from: from.toISOString(), schedules: rows }, null, 2) + "\n");
  } else if (rows.length === 0) {
    io.stdout("No schedules (add schedule: to a flow, or a schedule flow option in TypeScript)\n");
  } else {
    io.stdout(
      renderTable([
        ["SCHEDULE", "CRON", "TIME ZONE", "OVERLAP", "NEXT (in its time zone)"],
        ...rows.map((r) => [
          r.id as string,
          r.cron as string,
          r.timezone as string,
          r.overlap as string,
          (r.next as string[]).map((t) => local(t, r.timezone as string)).join(", "),
        ]),
      ]) + "\n",
    );
  }
  return problems ? 2 : 0;
}

/** `2026-03-29 03:00` in the zone. */
function local(iso: string, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
}

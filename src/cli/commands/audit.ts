/**
 * `orchestra audit`: show the permission decisions recorded in `<state dir>/audit.log`,
 * filtered by flow, task, decision and time.
 *
 * @module
 */

import { parseDuration } from "../../core/duration.ts";
import { formatPermissions } from "../../core/permissions.ts";
import { didYouMean } from "../../core/suggest.ts";
import { auditLogPath, type AuditRecord, readAudit } from "../../permissions/audit.ts";
import { formatValue } from "../../permissions/grant.ts";
import { type Parsed, positiveInt, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { commandSettings } from "./config.ts";

/** Options of `audit`. */
export const AUDIT_OPTIONS = {
  config: { type: "string" },
  "state-dir": { type: "string" },
  flow: { type: "string" },
  task: { type: "string" },
  decision: { type: "string" },
  since: { type: "string" },
  limit: { type: "string", short: "n" },
  json: { type: "boolean" },
} as const;

/** Help of `audit`. */
export const AUDIT_HELP = `Usage: orchestra audit [options]

Show the permission decisions recorded in the audit log (<state dir>/audit.log): for
every task launched, who ran it, what it requested, what it was granted, and why it was
allowed or denied; every refusal found while a flow was validated (PHASE validation);
and every secret a task read (by name, never its value). Oldest first.

Options:
      --flow NAME           Only this flow (* matches any run of characters)
      --task ID             Only this task (* matches any run of characters)
      --decision D          Only allow or only deny decisions
      --since WHEN          Only decisions since a time ago (30m, 1h, 7d) or an ISO date
  -n, --limit N             Only the last N matching decisions
      --json                Print the records as JSON lines
      --state-dir DIR       Read the log of this state directory (also ORCHESTRA_STATE_DIR)
      --config FILE         Read the settings from FILE (also ORCHESTRA_CONFIG)
  -h, --help                Show this help

Examples:
  orchestra audit --decision deny --since 1h
  orchestra audit --flow etl --task load --json
`;

const DECISIONS = ["allow", "deny"];

function parseSince(value: string, now: number): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
  } else {
    try {
      return new Date(now - parseDuration(value));
    } catch {
      // reported below
    }
  }
  throw new UsageError(
    "audit",
    `--since must be a duration such as 30m, 1h or 7d, or an ISO date such as 2026-01-31 ` +
      `or 2026-01-31T12:00:00Z, got "${value}"`,
  );
}

function shownTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function shownReason(r: AuditRecord): string {
  if (r.decision === "deny" && r.denied?.length) {
    return r.denied.map((d) => `${formatValue(d.name, d.value)}: ${d.reason}`).join("; ");
  }
  return r.reason ?? "";
}

function table(records: readonly AuditRecord[]): string {
  const rows = [[
    "TIME",
    "PHASE",
    "DECISION",
    "SOURCE",
    "USER",
    "FLOW",
    "TASK",
    "GRANTED",
    "REASON",
  ]];
  for (const r of records) {
    rows.push([
      shownTime(r.time),
      // Records from before the phase was recorded were all written at launch.
      r.phase ?? "launch",
      r.decision,
      r.source,
      r.user,
      r.flow,
      r.plugin ? `${r.task} (${r.plugin})` : r.task,
      r.secret ? `secret ${r.secret}` : formatPermissions(r.granted),
      shownReason(r),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd() + "\n")
    .join("");
}

/** Runs `orchestra audit`. */
export async function auditCommand(parsed: Parsed, io: Io): Promise<number> {
  if (parsed.positionals.length) {
    throw new UsageError("audit", `unexpected argument "${parsed.positionals[0]}"`);
  }
  const v = parsed.values;
  const decision = v.decision as string | undefined;
  if (decision !== undefined && !DECISIONS.includes(decision)) {
    // "denied" and "allowed" are too far for an edit-distance hit but plainly meant.
    const near = didYouMean(decision, DECISIONS) ||
      DECISIONS.filter((d) => decision.toLowerCase().startsWith(d.slice(0, 3)))
        .map((d) => ` (did you mean "${d}"?)`)[0] ||
      "";
    throw new UsageError("audit", `--decision must be allow or deny, got "${decision}"${near}`);
  }
  const since = typeof v.since === "string" ? parseSince(v.since, Date.now()) : undefined;
  const limit = positiveInt("audit", "limit", v.limit);
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const { stateDir } = settings;
  const path = auditLogPath(stateDir);
  let malformed = 0;
  const records = await readAudit(path, {
    ...(typeof v.flow === "string" ? { flow: v.flow } : {}),
    ...(typeof v.task === "string" ? { task: v.task } : {}),
    ...(decision ? { decision: decision as "allow" | "deny" } : {}),
    ...(since ? { since } : {}),
    ...(limit !== undefined ? { limit } : {}),
    onMalformed: () => malformed++,
  });
  if (malformed) {
    io.stderr(
      `note: skipped ${malformed} line${
        malformed === 1 ? "" : "s"
      } of ${path} that are not audit records\n`,
    );
  }
  if (v.json) {
    io.stdout(records.map((r) => JSON.stringify(r) + "\n").join(""));
    return 0;
  }
  if (!records.length) {
    let exists = true;
    try {
      await Deno.stat(path);
    } catch {
      exists = false;
    }
    io.stderr(exists ? `No audit records match in ${path}\n` : `No audit log at ${path} yet\n`);
    return 0;
  }
  io.stdout(table(records));
  return 0;
}

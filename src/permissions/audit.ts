/**
 * The audit log: every permission decision, appended as one JSON line to
 * `<state dir>/audit.log`. Each line is written with a single `write` to a file opened for
 * appending, so several processes sharing a state directory interleave whole lines.
 *
 * Recorded: each task's grant when it is launched (also a task that requests nothing, so every
 * task that ran has a line), each refusal found while a flow is validated (`phase:
 * "validation"`, without a run id), and each secret a task read (`secret`: the name, never the
 * value). The file is readable by its owner only (`0600`), in a directory only its owner can
 * enter (`0700`).
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { PermissionSet } from "../core/permissions.ts";
import { matchesGlob } from "./_glob.ts";
import type { Denial, GrantResult, GrantSource } from "./grant.ts";

/** The audit log's file name inside the state directory. */
export const AUDIT_FILE = "audit.log";

/** The audit log's path for a state directory. */
export function auditLogPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

/** Which check had the last word; `secret` for a record of a secret a task read. */
export type AuditSource = GrantSource | "secret";

/** One decision, as one line of the audit log. */
export interface AuditRecord {
  /** When, as an ISO 8601 timestamp. */
  time: string;
  /** Who ran the flow. */
  user: string;
  /** The flow's name. */
  flow: string;
  /** The task's id. */
  task: string;
  /** The plugin the task runs, if any. */
  plugin?: string;
  /** The plugin's version, if the task runs one. */
  pluginVersion?: string;
  /** The run, if the decision was made for one (not during plain validation). */
  runId?: string;
  /**
   * When the decision was made: while the flow was validated (nothing ran), or when the task
   * was launched. Absent in records written before it was recorded.
   */
  phase?: "validation" | "launch";
  /** For a record of a secret the task read: its name (never its value). */
  secret?: string;
  /** What the task requested (normalised). */
  requested: PermissionSet;
  /** What it was granted. */
  granted: PermissionSet;
  /** The outcome. */
  decision: "allow" | "deny";
  /** Why. */
  reason?: string;
  /** The check that decided. */
  source: AuditSource;
  /** Each refused value, when any was. */
  denied?: Denial[];
}

/** Who and what a decision was about, for {@linkcode auditRecord}. */
export interface AuditContext {
  /** Who ran the flow. */
  user: string;
  /** The flow's name. */
  flow: string;
  /** The task's id. */
  task: string;
  /** The plugin, if any. */
  plugin?: string;
  /** The plugin's version, if any. */
  pluginVersion?: string;
  /** The run, if any. */
  runId?: string;
  /** When the decision was made. */
  phase?: "validation" | "launch";
  /** What the task requested. */
  requested: PermissionSet;
  /** When. @default now */
  time?: Date;
}

/**
 * The audit record of a grant decision.
 *
 * @example
 * ```ts
 * import { auditRecord } from "./audit.ts";
 * import { effectiveGrant } from "./grant.ts";
 * const requested = { net: ["evil.com"] };
 * const r = auditRecord(
 *   { user: "ana", flow: "etl", task: "load", requested },
 *   effectiveGrant({ request: requested, ceiling: {} }),
 * );
 * console.assert(r.decision === "deny" && r.source === "ceiling" && r.denied?.length === 1);
 * ```
 */
export function auditRecord(context: AuditContext, result: GrantResult): AuditRecord {
  return {
    time: (context.time ?? new Date()).toISOString(),
    user: context.user,
    flow: context.flow,
    task: context.task,
    ...(context.plugin ? { plugin: context.plugin } : {}),
    ...(context.pluginVersion ? { pluginVersion: context.pluginVersion } : {}),
    ...(context.runId ? { runId: context.runId } : {}),
    ...(context.phase ? { phase: context.phase } : {}),
    requested: context.requested,
    granted: result.grant,
    decision: result.decision,
    ...(result.reason ? { reason: result.reason } : {}),
    source: result.source,
    ...(result.denied.length ? { denied: result.denied } : {}),
  };
}

/**
 * Who is running Orchestra, for the audit log: `ORCHESTRA_USER`, else `USER`, else
 * `USERNAME`, else `"unknown"`.
 */
export function currentUser(env: (name: string) => string | undefined): string {
  return env("ORCHESTRA_USER") || env("USER") || env("USERNAME") || "unknown";
}

const encoder = new TextEncoder();

/**
 * An append-only audit log file. Appends from one instance keep their order; the directory
 * and file are created on the first append (the directory `0700`, the file `0600`, and an
 * existing file with a looser mode is narrowed to `0600`).
 *
 * @example
 * ```ts
 * import { AuditLog, readAudit } from "./audit.ts";
 * const dir = await Deno.makeTempDir();
 * const log = new AuditLog(`${dir}/state/audit.log`);
 * await log.append({
 *   time: new Date().toISOString(), user: "ana", flow: "etl", task: "load",
 *   requested: {}, granted: {}, decision: "allow", source: "request",
 * });
 * console.assert((await readAudit(log.path)).length === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class AuditLog {
  /** The file's path. */
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();
  #dirReady = false;
  #modeChecked = false;

  /** A log at `path` (e.g. {@linkcode auditLogPath}`(stateDir)`). */
  constructor(path: string) {
    this.path = path;
  }

  /** Appends one record as one line. */
  append(record: AuditRecord): Promise<void> {
    const line = encoder.encode(JSON.stringify(record) + "\n");
    const next = this.#tail.then(() => this.#write(line));
    this.#tail = next.catch(() => {});
    return next;
  }

  /** Resolves once every append made so far has been written (or has failed). */
  flush(): Promise<void> {
    return this.#tail;
  }

  async #write(line: Uint8Array): Promise<void> {
    if (!this.#dirReady) {
      await Deno.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      this.#dirReady = true;
    }
    const file = await Deno.open(this.path, { append: true, create: true, mode: 0o600 });
    try {
      if (!this.#modeChecked && Deno.build.os !== "windows") {
        // A log made by an older version, or by hand, may be readable by others.
        const { mode } = await file.stat();
        if (mode !== null && (mode & 0o077) !== 0) await Deno.chmod(this.path, 0o600);
        this.#modeChecked = true;
      }
      // One write for the whole line; a short write (rare on local files) continues.
      let rest = line;
      while (rest.length) rest = rest.subarray(await file.write(rest));
    } finally {
      file.close();
    }
  }
}

/** Which records {@linkcode readAudit} returns. */
export interface AuditFilter {
  /** Flow name; `*` matches any run of characters. */
  flow?: string;
  /** Task id; `*` matches any run of characters. */
  task?: string;
  /** Only allows or only denials. */
  decision?: "allow" | "deny";
  /** Only records at or after this time. */
  since?: Date;
  /** Only the last `limit` matching records. */
  limit?: number;
  /** Called for each line that is not a record (e.g. cut short by a crash). */
  onMalformed?: (line: number, text: string) => void;
}

function isRecord(v: unknown): v is AuditRecord {
  const r = v as AuditRecord;
  return v !== null && typeof v === "object" && typeof r.time === "string" &&
    typeof r.flow === "string" && typeof r.task === "string" &&
    (r.decision === "allow" || r.decision === "deny");
}

/**
 * Reads the audit log at `path`, oldest first, keeping the records that pass `filter`. A
 * missing file has no records.
 */
export async function readAudit(path: string, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const since = filter.since?.getTime();
  const out: AuditRecord[] = [];
  const keep = (text: string, n: number) => {
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!isRecord(value)) return filter.onMalformed?.(n, text);
    if (filter.flow !== undefined && !matchesGlob(filter.flow, value.flow)) return;
    if (filter.task !== undefined && !matchesGlob(filter.task, value.task)) return;
    if (filter.decision !== undefined && value.decision !== filter.decision) return;
    if (since !== undefined && !(Date.parse(value.time) >= since)) return;
    out.push(value);
    // Trim now and then rather than per record: the log may be long.
    if (filter.limit !== undefined && out.length >= 2 * filter.limit + 1024) {
      out.splice(0, out.length - filter.limit);
    }
  };
  let buffered = "";
  let n = 0;
  for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let start = 0;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n", start)) {
      keep(buffered.slice(start, nl), ++n);
      start = nl + 1;
    }
    buffered = buffered.slice(start);
  }
  keep(buffered, ++n);
  return filter.limit === undefined ? out : out.slice(Math.max(0, out.length - filter.limit));
}

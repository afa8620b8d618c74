/**
 * The commands over recorded runs: `runs` (and `runs prune`), `status`, `logs` and `cancel`
 * (`resume` and `retry` are in `continue.ts`). Every run is recorded in
 * `<state dir>/state.db`; the commands that only read open it read-only.
 *
 * @module
 */

import { formatMs } from "../../core/errors.ts";
import { parseDuration } from "../../core/duration.ts";
import { stopLeftoverProcesses } from "../../host/processes.ts";
import { describeOwner } from "../../store/ownership.ts";
import type { RunRow, RunRowStatus, Store, TaskRow } from "../../store/store.ts";
import { type Parsed, positiveInt, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { renderTable } from "../render.ts";
import { commandSettings, RECORDS_OPTIONS } from "./config.ts";
import { findRun, openStore, runLogPath } from "./state.ts";

export { RESUME_OPTIONS, resumeCommand, RETRY_OPTIONS, retryCommand } from "./continue.ts";

/** Options of `runs`. */
export const RUNS_OPTIONS = {
  ...RECORDS_OPTIONS,
  flow: { type: "string" },
  status: { type: "string" },
  limit: { type: "string", short: "n" },
  json: { type: "boolean" },
  "older-than": { type: "string" },
} as const;

/** Options of `status` and `cancel`. */
export const RUN_ID_OPTIONS = {
  ...RECORDS_OPTIONS,
  json: { type: "boolean" },
} as const;

/** Options of `logs`. */
export const LOGS_OPTIONS = {
  ...RUN_ID_OPTIONS,
  follow: { type: "boolean", short: "f" },
} as const;

const STATUSES: readonly RunRowStatus[] = [
  "running",
  "interrupted",
  "succeeded",
  "failed",
  "cancelled",
];

function duration(run: { startedAt?: string; finishedAt?: string }): string {
  if (!run.startedAt) return "-";
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  return formatMs(end - Date.parse(run.startedAt));
}

function table(rows: string[][]): string {
  return renderTable(rows) + "\n";
}

/** `orchestra runs [--flow F] [--status S] [--limit N] [--json]` and `runs prune`. */
export async function runsCommand(parsed: Parsed, io: Io): Promise<number> {
  const v = parsed.values;
  const prune = parsed.positionals[0] === "prune";
  const store = await openStore(parsed, io, { readOnly: !prune });
  if (typeof store === "number") return store;
  try {
    if (prune) {
      const age = v["older-than"];
      if (typeof age !== "string") {
        throw new UsageError("runs", "runs prune needs --older-than, e.g. --older-than 30d");
      }
      let ms: number;
      try {
        ms = parseDuration(age);
      } catch (e) {
        throw new UsageError("runs", `--older-than: ${(e as Error).message}`);
      }
      const removed = await store.pruneRuns(new Date(Date.now() - ms).toISOString());
      io.stdout(`removed ${removed} finished run${removed === 1 ? "" : "s"} older than ${age}\n`);
      return 0;
    }
    if (parsed.positionals.length) {
      throw new UsageError("runs", `unexpected argument "${parsed.positionals[0]}"`);
    }
    const status = v.status as RunRowStatus | undefined;
    if (status !== undefined && !STATUSES.includes(status)) {
      throw new UsageError("runs", `--status must be one of ${STATUSES.join(", ")}`);
    }
    const runs = await store.listRuns({
      ...(typeof v.flow === "string" ? { flow: v.flow } : {}),
      ...(status ? { status } : {}),
      limit: positiveInt("runs", "limit", v.limit) ?? 20,
    });
    if (v.json) {
      io.stdout(
        JSON.stringify(
          {
            runs: runs.map((r) => ({
              runId: r.runId,
              flow: r.flow,
              status: r.status,
              startedAt: r.startedAt,
              finishedAt: r.finishedAt ?? null,
              retryOf: r.retryOf ?? null,
              owner: r.owner ?? null,
            })),
          },
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    if (runs.length === 0) {
      io.stdout("no runs recorded yet\n");
      return 0;
    }
    const retries = runs.some((r) => r.retryOf !== undefined);
    io.stdout(table([
      ["RUN", "FLOW", "STATUS", "STARTED", "DURATION", ...(retries ? ["RETRY OF"] : [])],
      ...runs.map((r) => [
        r.runId,
        r.flow,
        r.status,
        r.startedAt,
        duration(r),
        ...(retries ? [r.retryOf ?? ""] : []),
      ]),
    ]));
    if (runs.some((r) => r.status === "interrupted")) {
      io.stdout(
        'interrupted: the process running it is gone; "orchestra resume RUN" continues it\n',
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

function taskRows(tasks: TaskRow[]): string[][] {
  return tasks.map((t) => [
    t.taskId,
    t.status,
    String(t.attempts),
    duration(t),
    t.error ?? t.reason ?? "",
  ]);
}

/** What `status` says about who runs a run and how it is linked to others. */
function runNotes(run: RunRow, retries: RunRow[]): string {
  let out = "";
  if (run.owner) out += `Run by ${describeOwner(run.owner)}\n`;
  if (run.status === "interrupted") {
    out += `Interrupted: the process running it is gone; "orchestra resume ${run.runId}" ` +
      `continues it, "orchestra cancel ${run.runId}" ends it\n`;
  }
  if (run.retryOf) out += `Retry of: ${run.retryOf}\n`;
  if (retries.length) out += `Retried as: ${retries.map((r) => r.runId).join(", ")}\n`;
  return out;
}

/** `orchestra status RUN [--json]`: the running tasks, a table of every task, timings. */
export async function statusCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore(parsed, io, { readOnly: true });
  if (typeof store === "number") return store;
  try {
    const run = await findRun(store, io, parsed.positionals[0], "status");
    if (!run) return 2;
    const tasks = await store.getTasks(run.runId);
    const retries = (await store.listRuns({ retryOf: run.runId })).reverse();
    // A running task of a run whose process died is not running any more.
    const running = run.status === "running"
      ? tasks.filter((t) => t.status === "running").map((t) => t.taskId)
      : [];
    const summaries = await stepSummaries(store, run.runId);
    if (parsed.values.json) {
      io.stdout(
        JSON.stringify(
          {
            runId: run.runId,
            flow: run.flow,
            status: run.status,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt ?? null,
            error: run.error ?? null,
            result: run.result ?? null,
            owner: run.owner ?? null,
            retryOf: run.retryOf ?? null,
            retriedAs: retries.map((r) => r.runId),
            running,
            tasks: tasks.map((t) => ({
              id: t.taskId,
              name: t.name,
              status: t.status,
              attempts: t.attempts,
              startedAt: t.startedAt ?? null,
              finishedAt: t.finishedAt ?? null,
              ...(t.error ? { error: t.error } : {}),
              ...(t.reason ? { reason: t.reason } : {}),
            })),
            summaries,
          },
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    io.stdout(
      `Run ${run.runId} of flow "${run.flow}": ${run.status}, started ${run.startedAt}, ` +
        `${duration(run)}\n` +
        runNotes(run, retries) +
        (run.error ? `Error: ${run.error}\n` : "") +
        (running.length ? `Running now: ${running.join(", ")}\n` : "") + "\n" +
        table([["TASK", "STATUS", "ATTEMPTS", "DURATION", "NOTE"], ...taskRows(tasks)]) +
        summaries.map((s) => `\nSummary of ${s.taskId}:\n${indent(s.summary)}\n`).join(""),
    );
    return 0;
  } finally {
    await store.close();
  }
}

function logLevel(level: string): string {
  return level === "warning" ? "WARN" : level.toUpperCase();
}

/** The detached process's own output, if the run was detached. */
async function runLog(parsed: Parsed, io: Io, runId: string): Promise<string[]> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return [];
  try {
    return (await Deno.readTextFile(runLogPath(settings.stateDir, runId))).split("\n")
      .filter((l) => l !== "");
  } catch {
    return [];
  }
}

/**
 * The step summaries tasks wrote (`$GITHUB_STEP_SUMMARY` of a YAML `run:` step), logged with a
 * `summary` property: Markdown, shown by `status`.
 */
async function stepSummaries(
  store: Store,
  runId: string,
): Promise<{ taskId: string; summary: string }[]> {
  const out: { taskId: string; summary: string }[] = [];
  for (const { event } of await store.events(runId, { types: ["task.log"] })) {
    if (event.type !== "task.log" || typeof event.props?.summary !== "string") continue;
    out.push({ taskId: event.taskId, summary: event.props.summary });
  }
  return out;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

/** `orchestra logs RUN [TASK] [--follow] [--json]`. */
export async function logsCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore(parsed, io, { readOnly: true });
  if (typeof store === "number") return store;
  try {
    const found = await findRunOrLog(store, parsed, io, parsed.positionals[0]);
    if (typeof found === "number") return found;
    const taskId = parsed.positionals[1];
    const json = parsed.values.json === true;
    const print = (
      time: number | string,
      level: string,
      task: string,
      message: string,
      props?: unknown,
    ) => {
      const iso = typeof time === "number" ? new Date(time).toISOString() : time;
      io.stdout(
        json
          ? JSON.stringify({ time: iso, level, task, message, props: props ?? {} }) + "\n"
          : `${iso} ${logLevel(level).padEnd(5)} [${task}] ${message}\n`,
      );
    };
    let after = 0;
    let ended = false;
    for (;;) {
      const events = await store.events(found.runId, {
        afterSeq: after,
        types: taskId ? ["task.log"] : ["task.log", "run.finished"],
        ...(taskId ? { taskId } : {}),
      });
      for (const { seq, event } of events) {
        after = Math.max(after, seq);
        if (event.type === "task.log") {
          print(event.time, event.level, event.taskId, event.message, event.props);
        } else if (event.type === "run.finished") {
          ended = true;
          if (event.error) print(event.time, "error", "run", `run ${event.status}: ${event.error}`);
        }
      }
      const now = await store.getRun(found.runId);
      if (!parsed.values.follow || !now || now.status !== "running") {
        if (!taskId) {
          const at = now?.finishedAt ?? found.startedAt;
          for (const line of await runLog(parsed, io, found.runId)) {
            print(at, line.startsWith("error:") ? "error" : "info", "process", line);
          }
          // A run recorded as failed without a journal (its process could not start it).
          if (!ended && now?.error && now.status !== "running") {
            print(at, "error", "run", `run ${now.status}: ${now.error}`);
            ended = true;
          }
        }
        if (!parsed.values.follow || events.length === 0) return 0;
        continue;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await store.close();
  }
}

/** A run, or (for a detached run whose process could not record it) just its log. */
async function findRunOrLog(
  store: Store,
  parsed: Parsed,
  io: Io,
  id: string | undefined,
): Promise<RunRow | number> {
  const exact = id ? await store.getRun(id) : undefined;
  if (exact) return exact;
  const log = id ? await runLog(parsed, io, id) : [];
  if (log.length) {
    for (const line of log) io.stdout(`${line}\n`);
    return 0;
  }
  return await findRun(store, io, id, "logs") ?? 2;
}

/**
 * `orchestra cancel RUN`: asks the process running it to stop (it notices within a second);
 * a run whose process is gone (interrupted) is marked cancelled here and now.
 */
export async function cancelCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore(parsed, io);
  if (typeof store === "number") return store;
  try {
    const run = await findRun(store, io, parsed.positionals[0], "cancel");
    if (!run) return 2;
    if (run.status === "running") {
      await store.requestCancel(run.runId);
      io.stdout(
        `cancellation requested for run ${run.runId} (run by ${describeOwner(run.owner!)}); ` +
          `it stops within a second\n`,
      );
      return 0;
    }
    if (run.status !== "interrupted") {
      io.stderr(`error: run ${run.runId} is not running (it ${run.status})\n`);
      return 2;
    }
    return await cancelInterrupted(store, run, io);
  } finally {
    await store.close();
  }
}

async function cancelInterrupted(store: Store, run: RunRow, io: Io): Promise<number> {
  const claim = await store.claimRun(run.runId);
  if (claim.heldBy) {
    // Resumed meanwhile: ask its new owner.
    await store.requestCancel(run.runId);
    io.stdout(
      `cancellation requested for run ${run.runId} (run by ${describeOwner(claim.heldBy)}); ` +
        `it stops within a second\n`,
    );
    return 0;
  }
  await stopLeftoverProcesses(store, run.runId);
  const now = Date.now();
  const open = (await store.getTasks(run.runId)).filter((t) =>
    t.status === "running" || t.status === "pending"
  );
  await store.append([
    ...open.map((t) => ({
      type: "task.cancelled" as const,
      runId: run.runId,
      time: now,
      taskId: t.taskId,
      name: t.name,
    })),
    {
      type: "run.finished",
      runId: run.runId,
      time: now,
      flow: run.flow,
      status: "cancelled",
      error: "cancelled with orchestra cancel after the process running it was gone",
    },
  ]);
  io.stdout(
    `run ${run.runId} was interrupted (the process running it is gone); marked it cancelled\n`,
  );
  return 0;
}

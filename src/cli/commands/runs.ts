/**
 * The commands over recorded runs: `runs` (and `runs prune`), `status`, `logs`, `cancel`,
 * `resume` and `retry`. Every run is recorded in `<state dir>/state.db`.
 *
 * @module
 */

import { formatMs } from "../../core/errors.ts";
import { parseDuration } from "../../core/duration.ts";
import type { RestoredTask } from "../../engine/types.ts";
import { SqliteStore } from "../../store/sqlite_store.ts";
import type { RunRow, Store, TaskRow } from "../../store/store.ts";
import { type Parsed, positiveInt, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { renderTable } from "../render.ts";
import { hashFile, prepare } from "./common.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import { executePrepared, RUN_OPTIONS } from "./run.ts";

/** Options of `runs`. */
export const RUNS_OPTIONS = {
  ...SETTINGS_OPTIONS,
  flow: { type: "string" },
  status: { type: "string" },
  limit: { type: "string", short: "n" },
  json: { type: "boolean" },
  "older-than": { type: "string" },
} as const;

/** Options of `status`, `logs` and `cancel`. */
export const RUN_ID_OPTIONS = {
  ...SETTINGS_OPTIONS,
  json: { type: "boolean" },
  follow: { type: "boolean", short: "f" },
} as const;

/** Options of `resume` and `retry`. */
export const RESUME_OPTIONS = {
  ...RUN_OPTIONS,
  force: { type: "boolean" },
  from: { type: "string" },
} as const;

const STATUSES = ["running", "succeeded", "failed", "cancelled"];

async function openStore(command: string, parsed: Parsed, io: Io): Promise<Store | number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  try {
    return await SqliteStore.open(settings.stateDir);
  } catch (e) {
    throw new UsageError(command, `cannot open the state store: ${(e as Error).message}`);
  }
}

async function findRun(store: Store, io: Io, id: string | undefined, command: string) {
  if (!id) throw new UsageError(command, `missing RUN: orchestra ${command} RUN_ID`);
  const run = await store.getRun(id) ??
    (await store.listRuns({ limit: 1000 })).find((r) => r.runId.startsWith(id));
  if (!run) {
    io.stderr(`error: no run "${id}" in this state dir; "orchestra runs" lists them\n`);
    return undefined;
  }
  return run;
}

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
  const store = await openStore("runs", parsed, io);
  if (typeof store === "number") return store;
  try {
    if (parsed.positionals[0] === "prune") {
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
    const status = v.status as string | undefined;
    if (status !== undefined && !STATUSES.includes(status)) {
      throw new UsageError("runs", `--status must be one of ${STATUSES.join(", ")}`);
    }
    const runs = await store.listRuns({
      ...(typeof v.flow === "string" ? { flow: v.flow } : {}),
      ...(status ? { status: status as RunRow["status"] } : {}),
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
    io.stdout(table([
      ["RUN", "FLOW", "STATUS", "STARTED", "DURATION"],
      ...runs.map((r) => [r.runId, r.flow, r.status, r.startedAt, duration(r)]),
    ]));
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

/** `orchestra status RUN [--json]`: the running tasks, a table of every task, timings. */
export async function statusCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore("status", parsed, io);
  if (typeof store === "number") return store;
  try {
    const run = await findRun(store, io, parsed.positionals[0], "status");
    if (!run) return 2;
    const tasks = await store.getTasks(run.runId);
    const running = tasks.filter((t) => t.status === "running").map((t) => t.taskId);
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

/** `orchestra logs RUN [TASK] [--follow]`. */
export async function logsCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore("logs", parsed, io);
  if (typeof store === "number") return store;
  try {
    const run = await findRun(store, io, parsed.positionals[0], "logs");
    if (!run) return 2;
    const taskId = parsed.positionals[1];
    let after = 0;
    for (;;) {
      const events = await store.events(run.runId, {
        afterSeq: after,
        types: ["task.log"],
        ...(taskId ? { taskId } : {}),
      });
      for (const { seq, event } of events) {
        after = Math.max(after, seq);
        if (event.type !== "task.log") continue;
        const level = event.level === "warning" ? "WARN" : event.level.toUpperCase();
        io.stdout(
          `${new Date(event.time).toISOString()} ${
            level.padEnd(5)
          } [${event.taskId}] ${event.message}\n`,
        );
      }
      if (!parsed.values.follow) return 0;
      const now = await store.getRun(run.runId);
      if (!now || now.status !== "running") {
        if (events.length === 0) return 0;
        continue;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await store.close();
  }
}

/** `orchestra cancel RUN`: asks the process running it to stop (it notices within a second). */
export async function cancelCommand(parsed: Parsed, io: Io): Promise<number> {
  const store = await openStore("cancel", parsed, io);
  if (typeof store === "number") return store;
  try {
    const run = await findRun(store, io, parsed.positionals[0], "cancel");
    if (!run) return 2;
    if (run.status !== "running") {
      io.stderr(`error: run ${run.runId} is not running (it ${run.status})\n`);
      return 2;
    }
    await store.requestCancel(run.runId);
    io.stdout(`cancellation requested for run ${run.runId}; it stops within a second\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** The task ids that depend on `from`, transitively, with `from` itself and map items. */
function downstream(tasks: TaskRow[], from: string): Set<string> {
  const out = new Set([from]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of tasks) {
      if (out.has(t.taskId)) continue;
      if (t.needs.some((n) => out.has(n)) || (t.group && out.has(t.group))) {
        out.add(t.taskId);
        grew = true;
      }
    }
  }
  return out;
}

async function continueRun(
  command: "resume" | "retry",
  parsed: Parsed,
  io: Io,
): Promise<number> {
  if (parsed.values.detach || parsed.values["run-id"]) {
    throw new UsageError(
      command,
      `${command} runs in the foreground; use the shell's & to background it`,
    );
  }
  const store = await openStore(command, parsed, io);
  if (typeof store === "number") return store;
  let run: RunRow | undefined;
  let tasks: TaskRow[];
  try {
    run = await findRun(store, io, parsed.positionals[0], command);
    if (!run) return 2;
    tasks = await store.getTasks(run.runId);
  } finally {
    await store.close();
  }
  if (!run.flowFile) {
    io.stderr(`error: run ${run.runId} does not record its flow file; it cannot be ${command}d\n`);
    return 2;
  }
  if (command === "resume" && run.status === "succeeded") {
    io.stderr(`error: run ${run.runId} already succeeded; use "orchestra retry --from TASK"\n`);
    return 2;
  }
  if (run.status === "running" && run.pid !== undefined && run.host === Deno.hostname()) {
    try {
      Deno.kill(run.pid, "SIGCONT"); // a probe: the process is still there
      if (run.pid !== Deno.pid) {
        io.stderr(`error: run ${run.runId} is still running (process ${run.pid})\n`);
        return 2;
      }
    } catch {
      // the process is gone: a crash; resuming is what this is for
    }
  }
  let hash: string | undefined;
  try {
    hash = await hashFile(run.flowFile);
  } catch {
    io.stderr(`error: the flow file ${run.flowFile} of run ${run.runId} is gone\n`);
    return 2;
  }
  if (run.flowHash && hash !== run.flowHash && !parsed.values.force) {
    io.stderr(
      `error: ${run.flowFile} changed since run ${run.runId} began; resuming it could mix ` +
        `results of two different flows. Run it anew, or pass --force to ${command} anyway\n`,
    );
    return 2;
  }
  let reset: Set<string>;
  if (command === "retry") {
    const from = parsed.values.from;
    if (typeof from !== "string") {
      throw new UsageError("retry", "retry needs --from TASK: the task to run again");
    }
    if (!tasks.some((t) => t.taskId === from)) {
      io.stderr(`error: run ${run.runId} has no task "${from}"\n`);
      return 2;
    }
    reset = downstream(tasks, from);
  } else {
    reset = new Set(
      tasks.filter((t) => t.status !== "succeeded" && t.status !== "cached").map((t) => t.taskId),
    );
  }
  const restore = new Map<string, RestoredTask>();
  for (const t of tasks) {
    if (reset.has(t.taskId) || t.kind === "map") continue;
    if (t.status === "succeeded" || t.status === "cached") {
      restore.set(t.taskId, { name: t.name, value: t.result ?? null, attempts: t.attempts });
    }
  }
  const synthetic: Parsed = {
    values: { ...parsed.values, flow: run.flow, param: undefined, "params-file": undefined },
    positionals: [run.flowFile],
  };
  const prepared = await prepare("run", synthetic, io, { params: run.params });
  if (typeof prepared === "number") return prepared;
  return await executePrepared(prepared, synthetic, io, {
    runId: run.runId,
    restore,
    resetTasks: [...reset],
  });
}

/** `orchestra resume RUN [--force]`: restores succeeded tasks, runs the rest. */
export function resumeCommand(parsed: Parsed, io: Io): Promise<number> {
  return continueRun("resume", parsed, io);
}

/** `orchestra retry RUN --from TASK`: runs that task and everything downstream again. */
export function retryCommand(parsed: Parsed, io: Io): Promise<number> {
  return continueRun("retry", parsed, io);
}

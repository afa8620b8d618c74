/**
 * `orchestra run FILE`: validate, then run with a live view (or plain lines, or only a
 * summary), print `--json`, and exit 0/1/2/130.
 *
 * @module
 */

import { getLogger, type Logger, type LogLevel } from "@logtape/logtape";
import { FlowValidationError } from "../../core/errors.ts";
import type { RunEvent } from "../../core/events.ts";
import { FlowRun } from "../../engine/run.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { newRunId } from "../../engine/calls.ts";
import type { RestoredTask } from "../../engine/types.ts";
import { SqliteStore } from "../../store/sqlite_store.ts";
import { StoreCache } from "../../engine/cache.ts";
import type { RunRecord } from "../../engine/types.ts";
import type { PermissionSet } from "../../core/permissions.ts";
import { AuditLog, auditLogPath, currentUser } from "../../permissions/audit.ts";
import { AuthorizationClient } from "../../permissions/authorization.ts";
import { Authorizer } from "../../permissions/authorizer.ts";
import { parseDotenv } from "../../permissions/secrets.ts";
import { readBoundedTextFile } from "../../fs/read_bounded.ts";
import { decryptValue, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { type LogFormat, setupLogging } from "../logging.ts";
import { graphJson, renderIssues, renderPlan } from "../render.ts";
import { createView, type RunView } from "../view/view.ts";
import { FLOW_OPTIONS, hashFile, prepare, type Prepared } from "./common.ts";
import { SETTINGS_OPTIONS } from "./config.ts";

/** Options of `run`. */
export const RUN_OPTIONS = {
  ...FLOW_OPTIONS,
  ...SETTINGS_OPTIONS,
  "dry-run": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  detach: { type: "boolean" },
  // Hidden: the run id a detached run was given by the process that started it.
  "run-id": { type: "string" },
} as const;

/** The flags every Orchestra process runs under (see deno.json's `orchestra` task). */
const DENO_FLAGS = ["run", "-A", "--no-prompt", "--unstable-worker-options"];

/** The command line of the same command, without `--detach`, with the run id. */
function detachedArgs(parsed: Parsed, runId: string): string[] {
  const args = ["run", ...parsed.positionals];
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || value === false) continue;
    if (name === "detach" || name === "run-id" || name === "json" || name === "help") continue;
    if (value === true) args.push(`--${name}`);
    else if (Array.isArray(value)) { for (const v of value) args.push(`--${name}`, v); }
    else args.push(`--${name}`, value);
  }
  args.push("--run-id", runId);
  return args;
}

/** Starts the run in a new background process; prints its id and returns at once. */
function detach(parsed: Parsed, io: Io): number {
  const runId = newRunId();
  const main = new URL("../../../main.ts", import.meta.url);
  // Under `deno run` the executable is Deno and needs the entry point; a compiled binary is
  // Orchestra itself and takes the command line as is.
  const viaDeno = /^deno(\.exe)?$/i.test(Deno.execPath().split(/[\\/]/).pop() ?? "");
  const child = new Deno.Command(Deno.execPath(), {
    args: viaDeno
      ? [...DENO_FLAGS, main.protocol === "file:" ? main.pathname : main.href].concat(
        detachedArgs(parsed, runId),
      )
      : detachedArgs(parsed, runId),
    cwd: io.cwd,
    env: { INIT_CWD: io.cwd },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  io.stdout(parsed.values.json ? JSON.stringify({ runId }, null, 2) + "\n" : `${runId}\n`);
  return 0;
}

/** The `--json` document: the run record with its fields in the documented order. */
export function runDocument(record: RunRecord): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    runId: record.runId,
    flow: record.flow,
    status: record.status,
    result: record.result ?? null,
    params: record.params,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  };
  if (record.error !== undefined) doc.error = record.error;
  doc.tasks = record.tasks;
  return doc;
}

function logEvent(logger: Logger, e: RunEvent): void {
  const { type, runId: _r, time: _t, ...props } = e;
  switch (type) {
    case "task.failed":
      logger.error("{taskId} failed: {error}", props);
      break;
    case "task.retrying":
      logger.warn("{taskId} attempt {attempt} failed, retrying in {delayMs} ms: {error}", props);
      break;
    case "task.log":
      break; // the task's own logger already wrote it
    case "run.finished":
      logger.info("run {status}", props);
      break;
    default:
      logger.info(`${type.replace(".", " ")}`, props);
  }
}

/** Runs `orchestra run`. */
export async function runCommand(parsed: Parsed, io: Io): Promise<number> {
  const v = parsed.values;
  if (v.quiet && v.verbose) throw new UsageError("run", "--quiet and --verbose exclude each other");
  // Settings (defaults < orchestra.yaml < ORCHESTRA_* < flags) come with the flow.
  const prepared = await prepare("run", parsed, io);
  if (typeof prepared === "number") return prepared;
  if (v["dry-run"]) {
    const { graph } = prepared;
    io.stdout(v.json ? JSON.stringify(graphJson(graph), null, 2) + "\n" : renderPlan(graph));
    return 0;
  }
  if (v.detach) return detach(parsed, io);
  return await executePrepared(prepared, parsed, io);
}

/** How a run continues an earlier one (`resume`, `retry`). */
export interface Continuation {
  /** The run's id. */
  runId: string;
  /** Calls that completed: restored, not run again. */
  restore: ReadonlyMap<string, RestoredTask>;
  /** Calls to run again. */
  resetTasks: string[];
}

/**
 * Runs a prepared flow with the view, logging, the worker pool, permissions, secrets and the
 * state store; returns the exit code. Shared by `run`, `resume` and `retry`.
 */
export async function executePrepared(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  continuation?: Continuation,
): Promise<number> {
  const v = parsed.values;
  const { def, params, graph, settings, policy, baseDir } = prepared;
  const concurrency = settings.concurrency;
  const format = settings.logFormat as LogFormat;
  const level = (v.verbose ? "debug" : settings.logLevel) as LogLevel;

  let view: RunView | undefined;
  if (format === "text") {
    view = createView({
      mode: v.quiet ? "quiet" : io.terminal.isTerminal ? "live" : "plain",
      write: io.stderr,
      columns: io.terminal.columns,
      rows: io.terminal.rows,
      color: io.terminal.isTerminal && io.env("NO_COLOR") === undefined,
    });
  }
  await setupLogging({
    level,
    format,
    write: view ? (line) => view.log(line.replace(/\n$/, "")) : io.stderr,
  });
  const logger = getLogger(["orchestra", "run"]);

  const controller = new AbortController();
  let interrupts = 0;
  const stopListening = io.onInterrupt(() => {
    interrupts++;
    if (interrupts > 1) io.exit(130);
    const note =
      "Cancelling: stopping new work and aborting running tasks (Ctrl-C again to exit now)";
    if (view) view.log(note);
    else logger.warn(note);
    controller.abort(new Error("interrupted with Ctrl-C"));
  });
  let record: RunRecord;
  // One pool for the run, sized by --workers; tasks that choose no executor get --executor.
  const pool = new WorkerPool({ size: settings.workers });
  const ceiling = (def.options as { permissions?: PermissionSet }).permissions;
  // Secrets: the secrets file first, then the environment.
  let fileSecrets: Record<string, string> = {};
  if (settings.secretsFile) {
    try {
      fileSecrets = parseDotenv(
        await readBoundedTextFile(settings.secretsFile, { what: "secrets file" }),
        settings.secretsFile,
      );
    } catch (e) {
      await pool.close();
      io.stderr(`error: cannot read the secrets file: ${(e as Error).message}\n`);
      return 2;
    }
  }
  // At each launch of a task that requests permissions: ceiling, policy, the external
  // service where configured, and a line in the audit log.
  const authorizer = new Authorizer({
    flow: graph.name,
    baseDir,
    ...(ceiling ? { ceiling } : {}),
    ...(policy ? { policy } : {}),
    ...(policy?.authorization ? { client: new AuthorizationClient(policy.authorization) } : {}),
    audit: new AuditLog(auditLogPath(settings.stateDir)),
    user: currentUser(io.env),
  });
  // Every run is recorded: <state dir>/state.db, one transaction per scheduler tick.
  const store = await SqliteStore.open(settings.stateDir, { durability: settings.durability });
  const runId = continuation?.runId ??
    (typeof v["run-id"] === "string" && v["run-id"] !== "" ? v["run-id"] : newRunId());
  const flowHash = await hashFile(prepared.file);
  if (continuation) {
    await store.reopenRun(runId, {
      resetTasks: continuation.resetTasks,
      pid: Deno.pid,
      host: Deno.hostname(),
      flowHash,
    });
  } else {
    await store.createRun({
      runId,
      flow: graph.name,
      status: "running",
      params,
      startedAt: new Date().toISOString(),
      flowFile: prepared.file,
      flowHash,
      pid: Deno.pid,
      host: Deno.hostname(),
    });
  }
  // `orchestra cancel` from another process: noticed within half a second.
  const poll = setInterval(async () => {
    if (!controller.signal.aborted && await store.isCancelRequested(runId).catch(() => false)) {
      controller.abort(new Error("cancelled with orchestra cancel"));
    }
  }, 500);
  try {
    const run = new FlowRun(def, params, {
      runId,
      baseDir,
      journal: store,
      // Results are cached in the store: across runs and processes.
      cache: new StoreCache(store),
      ...(continuation ? { restore: continuation.restore } : {}),
      signal: controller.signal,
      workerPool: pool,
      defaultExecutor: settings.executor,
      authorize: (t) => authorizer.authorize({ id: t.taskId, request: t.request, runId: t.runId }),
      secrets: (name) => fileSecrets[name] ?? io.env(name),
      decrypt: (value) => decryptValue(value, io.env(SECRET_KEY_VARIABLE) ?? ""),
      ...(concurrency !== undefined ? { concurrency } : {}),
      onEvent: (e) => {
        if (view) view.onEvent(e);
        else {
          const runLogger = logger.with({ runId: e.runId });
          logEvent(runLogger, e);
        }
      },
    });
    record = await run.start();
  } catch (e) {
    view?.close();
    if (e instanceof FlowValidationError) {
      io.stderr(renderIssues(e.flow, e.issues));
      return 2;
    }
    throw e;
  } finally {
    clearInterval(poll);
    stopListening();
    await pool.close();
    await store.close();
  }
  view?.finish(record);
  if (v.json) io.stdout(JSON.stringify(runDocument(record), null, 2) + "\n");
  if (record.status === "succeeded") return 0;
  if (record.status === "cancelled" && interrupts > 0) return 130;
  return 1;
}

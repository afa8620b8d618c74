/**
 * `orchestra run FILE`: validate, then run with a live view (or plain lines, or only a
 * summary), print `--json`, and exit 0/1/2/130.
 *
 * @module
 */

import { getLogger, type Logger, type LogLevel } from "@logtape/logtape";
import { errorMessage, FlowValidationError } from "../../core/errors.ts";
import type { RunEvent } from "../../core/events.ts";
import { FlowRun } from "../../engine/run.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { configureProcesses } from "../../executors/process.ts";
import { processGroups } from "../../executors/process_registry.ts";
import { newRunId } from "../../engine/calls.ts";
import type { RestoredTask } from "../../engine/types.ts";
import { StoreCache } from "../../engine/cache.ts";
import type { RunRecord } from "../../engine/types.ts";
import type { PermissionSet } from "../../core/permissions.ts";
import { repairGroupRows } from "../../host/group_rows.ts";
import { recordProcesses, stopLeftoverProcesses, stoppingJournal } from "../../host/processes.ts";
import { AuditLog, auditLogPath, currentUser } from "../../permissions/audit.ts";
import { AuthorizationClient } from "../../permissions/authorization.ts";
import { Authorizer } from "../../permissions/authorizer.ts";
import { decryptValue, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { describeOwner, type RunLease } from "../../store/ownership.ts";
import type { Store, TaskRow } from "../../store/store.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { type LogFormat, setupLogging } from "../logging.ts";
import { graphJson, renderIssues, renderPlan } from "../render.ts";
import { createView, type RunView } from "../view/view.ts";
import { FLOW_OPTIONS, hashFile, prepare, type Prepared } from "./common.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import {
  handleStopSignals,
  ioWithLogFile,
  readSecretsFile,
  recordRunFailure,
} from "./run_support.ts";
import { restoredRows } from "../../orchestrator/continuation.ts";
import { openStateStore, runLogPath } from "./state.ts";

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

/**
 * Starts the run in a new background process; prints its id and returns at once. Everything
 * `run` checks before the first task is checked here first (the flow, params, settings, the
 * secrets file, the state store), so a run id printed is a run that starts; the background
 * process writes what it would print to the run's log (`orchestra logs RUN` shows it).
 */
async function detach(prepared: Prepared, parsed: Parsed, io: Io): Promise<number> {
  const secrets = await readSecretsFile(prepared.settings);
  if ("error" in secrets) {
    io.stderr(`error: ${secrets.error}\n`);
    return 2;
  }
  const store = await openStateStore(prepared.settings, io);
  if (typeof store === "number") return store;
  await store.close();
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

/**
 * `run --run-id ID` is the background process of `run --detach`: what it prints goes to the
 * run's log, and a run that fails before it is recorded is recorded as failed.
 */
async function runDetached(parsed: Parsed, io: Io, runId: string): Promise<number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const log = await ioWithLogFile(io, runLogPath(settings.stateDir, runId));
  let code: number;
  try {
    code = await runInForeground(parsed, log);
  } catch (e) {
    log.stderr(`error: ${errorMessage(e)}\n`);
    code = 1;
  }
  if (code !== 0) {
    const store = await openStateStore(settings, log);
    if (typeof store === "number") return store;
    try {
      if (!(await store.getRun(runId))) {
        const file = parsed.positionals[0] ?? "flow";
        const flow = file.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, "");
        await store.createRun({
          runId,
          flow,
          status: "failed",
          params: {},
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          error: `the detached run could not start (exit ${code}); "orchestra logs ${runId}" ` +
            `shows why`,
        });
      }
    } finally {
      await store.close();
    }
  }
  return code;
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
export function runCommand(parsed: Parsed, io: Io): Promise<number> {
  const v = parsed.values;
  if (v.quiet && v.verbose) throw new UsageError("run", "--quiet and --verbose exclude each other");
  const runId = v["run-id"];
  if (typeof runId === "string" && runId !== "" && !v.detach) {
    return runDetached(parsed, io, runId);
  }
  return runInForeground(parsed, io);
}

async function runInForeground(parsed: Parsed, io: Io): Promise<number> {
  const v = parsed.values;
  // Settings (defaults < orchestra.yaml < ORCHESTRA_* < flags) come with the flow.
  const prepared = await prepare("run", parsed, io);
  if (typeof prepared === "number") return prepared;
  if (v["dry-run"]) {
    const { graph } = prepared;
    io.stdout(v.json ? JSON.stringify(graphJson(graph), null, 2) + "\n" : renderPlan(graph));
    return 0;
  }
  if (v.detach) return await detach(prepared, parsed, io);
  return await executePrepared(prepared, parsed, io);
}

/** How a run continues an earlier one (`resume`, `retry`). */
export interface Continuation {
  /** The state store, open, holding the lease of `runId`; closed when the run ends. */
  store: Store;
  /** The run's id: the run resumed, or the new run of a retry. */
  runId: string;
  /** Calls that completed: restored, not run again. */
  restore: ReadonlyMap<string, RestoredTask>;
  /** Calls to run again (of a resumed run). */
  resetTasks: string[];
  /** A retry: the run it retries, and the rows of the tasks it keeps from it. */
  retryOf?: { runId: string; kept: readonly TaskRow[] };
}

function createOutput(prepared: Prepared, parsed: Parsed, io: Io) {
  const v = parsed.values;
  const { settings } = prepared;
  const format = settings.logFormat as LogFormat;
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
  const level = (v.verbose ? "debug" : settings.logLevel) as LogLevel;
  return { view, level, format };
}

/**
 * What each launch of a task that requests permissions goes through: ceiling, policy, the
 * external service where configured, and a line in the audit log.
 */
function launchAuthorizer(prepared: Prepared, io: Io): Authorizer {
  const { def, graph, settings, policy, baseDir } = prepared;
  const ceiling = (def.options as { permissions?: PermissionSet }).permissions;
  return new Authorizer({
    flow: graph.name,
    baseDir,
    ...(ceiling ? { ceiling } : {}),
    ...(policy ? { policy } : {}),
    ...(policy?.authorization ? { client: new AuthorizationClient(policy.authorization) } : {}),
    audit: new AuditLog(auditLogPath(settings.stateDir)),
    user: currentUser(io.env),
  });
}

/** Claims a new run id in the store: nobody else can hold a fresh id. */
async function claimNew(store: Store, runId: string, io: Io): Promise<RunLease | undefined> {
  const claim = await store.claimRun(runId);
  if (claim.lease) return claim.lease;
  io.stderr(`error: run ${runId} is already run by ${describeOwner(claim.heldBy)}\n`);
  return undefined;
}

/** Records the run as starting: a new row, the resumed row reopened, or a retry's new row. */
async function recordStart(
  store: Store,
  prepared: Prepared,
  runId: string,
  continuation: Continuation | undefined,
): Promise<void> {
  const flowHash = await hashFile(prepared.file);
  const owner = { pid: Deno.pid, host: Deno.hostname() };
  if (continuation && !continuation.retryOf) {
    // The previous owner died; what it left running stops before anything runs again.
    await stopLeftoverProcesses(store, runId);
    await store.reopenRun(runId, { resetTasks: continuation.resetTasks, ...owner, flowHash });
    return;
  }
  await store.createRun({
    runId,
    flow: prepared.graph.name,
    status: "running",
    params: prepared.params,
    startedAt: new Date().toISOString(),
    flowFile: prepared.file,
    flowHash,
    ...owner,
    ...(continuation?.retryOf ? { retryOf: continuation.retryOf.runId } : {}),
  });
  if (continuation?.retryOf?.kept.length) {
    await store.append([
      {
        type: "run.started",
        runId,
        time: Date.now(),
        flow: prepared.graph.name,
        params: prepared.params,
      },
      ...restoredRows(runId, continuation.retryOf.kept),
    ]);
  }
}

/**
 * Runs a prepared flow with the view, logging, the worker pool, permissions, secrets and the
 * state store; returns the exit code. Shared by `run`, `resume` and `retry`. The run is owned
 * (its lease held) from before it is recorded until it ended; it ends, and this returns, only
 * once every process its tasks started is gone.
 */
export async function executePrepared(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  continuation?: Continuation,
): Promise<number> {
  const { settings } = prepared;
  // Secrets: the secrets file first, then the environment.
  const secrets = await readSecretsFile(settings);
  if ("error" in secrets) {
    await continuation?.store.close();
    io.stderr(`error: ${secrets.error}\n`);
    return 2;
  }
  // Every run is recorded: <state dir>/state.db, one transaction per scheduler tick.
  const store = continuation?.store ?? await openStateStore(settings, io);
  if (typeof store === "number") return store;
  const v = parsed.values;
  const runId = continuation?.runId ??
    (typeof v["run-id"] === "string" && v["run-id"] !== "" ? v["run-id"] : newRunId());
  try {
    if (!continuation && !(await claimNew(store, runId, io))) return 2;
    configureProcesses({ maxOutput: settings.maxOutput });
    return await executeOwned(
      prepared,
      parsed,
      io,
      { store, runId, secrets: secrets.secrets },
      continuation,
    );
  } finally {
    await processGroups.stopAll({ runId });
    await store.close();
  }
}

async function executeOwned(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  run: { store: Store; runId: string; secrets: Record<string, string> },
  continuation: Continuation | undefined,
): Promise<number> {
  const v = parsed.values;
  const { def, params, graph, settings } = prepared;
  const { store, runId } = run;
  const { view, level, format } = createOutput(prepared, parsed, io);
  await setupLogging({
    level,
    format,
    write: view ? (line) => view.log(line.replace(/\n$/, "")) : io.stderr,
  });
  const logger = getLogger(["orchestra", "run"]);
  const controller = new AbortController();
  const signals = handleStopSignals(io, controller, (note) => {
    if (view) view.log(note);
    else logger.warn(note);
  });
  // One pool for the run, sized by --workers; tasks that choose no executor get --executor.
  const pool = new WorkerPool({ size: settings.workers });
  const authorizer = launchAuthorizer(prepared, io);
  let poll: ReturnType<typeof setInterval> | undefined;
  const stopRecording = recordProcesses(store, runId);
  let record: RunRecord;
  try {
    await recordStart(store, prepared, runId, continuation);
    // `orchestra cancel` from another process: noticed within half a second.
    poll = setInterval(async () => {
      if (!controller.signal.aborted && await store.isCancelRequested(runId).catch(() => false)) {
        controller.abort(new Error("cancelled with orchestra cancel"));
      }
    }, 500);
    const flowRun = new FlowRun(def, params, {
      runId,
      // Before the run's end is recorded, every process its tasks started is stopped.
      journal: stoppingJournal(store, runId),
      // Results are cached in the store: across runs and processes.
      cache: new StoreCache(store),
      ...(continuation ? { restore: continuation.restore } : {}),
      signal: controller.signal,
      workerPool: pool,
      defaultExecutor: settings.executor,
      authorize: (t) => authorizer.authorize({ id: t.taskId, request: t.request, runId: t.runId }),
      secrets: (name) => run.secrets[name] ?? io.env(name),
      decrypt: (value) => decryptValue(value, io.env(SECRET_KEY_VARIABLE) ?? ""),
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      onEvent: (e) => {
        if (view) view.onEvent(e);
        else logEvent(logger.with({ runId: e.runId }), e);
      },
    });
    record = await flowRun.start();
    if (continuation) await repairGroupRows(store, record).catch(() => {});
  } catch (e) {
    view?.close();
    // Failed before its first task: recorded as failed with its error, never left running.
    const error = e instanceof FlowValidationError ? e.message : errorMessage(e);
    await recordRunFailure(store, runId, graph.name, error).catch(() => {});
    if (e instanceof FlowValidationError) {
      io.stderr(renderIssues(e.flow, e.issues));
      return 2;
    }
    throw e;
  } finally {
    clearInterval(poll);
    signals.stop();
    stopRecording();
    await pool.close();
  }
  view?.finish(record);
  if (v.json) io.stdout(JSON.stringify(runDocument(record), null, 2) + "\n");
  if (record.status === "succeeded") return 0;
  if (record.status === "cancelled" && signals.code !== undefined) return signals.code;
  return 1;
}

/**
 * `orchestra run FILE`: validate, then run with a live view (or plain lines, or only a
 * summary), print `--json`, and exit 0/1/2/130.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { getLogger, type Logger, type LogLevel } from "@logtape/logtape";
import { errorMessage, FlowValidationError } from "../../core/errors.ts";
import type { RunEvent } from "../../core/events.ts";
import { taskContextStorage } from "../../core/protocol.ts";
import { captureConsole } from "../../executors/console_capture.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { newRunId } from "../../engine/calls.ts";
import type { RunRecord, TaskContext } from "../../engine/types.ts";
import type { SecretValues } from "../../permissions/secret_values.ts";
import type { Store } from "../../store/store.ts";
import { type Parsed, UsageError } from "../args.ts";
import { startHostRun } from "../host_run.ts";
import type { Io } from "../io.ts";
import { type LogFormat, setupLogging } from "../logging.ts";
import { graphJson, renderIssues, renderPlan } from "../render.ts";
import { useColor } from "../view/style.ts";
import { createView, type RunView } from "../view/view.ts";
import { FLOW_OPTIONS, prepare, type Prepared } from "./common.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import { handleStopSignals, ioWithLogFile, readSecretsFile } from "./run_support.ts";
import { type Continuation, type RunSecrets, runSecrets } from "./run_setup.ts";
import { openStateStore, runLogPath } from "./state.ts";

export type { Continuation } from "./run_setup.ts";

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

/**
 * The flags every Orchestra process runs under (see deno.json's `orchestra` task): no lock
 * file, so that remote code a flow's task is granted is never written into Orchestra's own.
 */
const DENO_FLAGS = ["run", "-A", "--no-prompt", "--no-lock", "--unstable-worker-options"];

/** The command line of the same command, without `--detach`, with the run id. */
function detachedArgs(parsed: Parsed, runId: string): string[] {
  const args = ["run", ...parsed.positionals];
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || value === false) continue;
    if (name === "detach" || name === "run-id" || name === "json" || name === "help") continue;
    // The store URL may hold a password: it goes in the environment, not the command line.
    if (name === "store") continue;
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
      ? [...DENO_FLAGS, main.protocol === "file:" ? fileURLToPath(main) : main.href].concat(
        detachedArgs(parsed, runId),
      )
      : detachedArgs(parsed, runId),
    cwd: io.cwd,
    env: {
      INIT_CWD: io.cwd,
      ...(typeof parsed.values.store === "string" ? { ORCHESTRA_STORE: parsed.values.store } : {}),
    },
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
  if (v["dry-run"] || v.detach) prepared.ts?.isolate?.terminate();
  if (v["dry-run"]) {
    const { graph } = prepared;
    io.stdout(v.json ? JSON.stringify(graphJson(graph), null, 2) + "\n" : renderPlan(graph));
    return 0;
  }
  if (v.detach) return await detach(prepared, parsed, io);
  return await executePrepared(prepared, parsed, io);
}

/** The view on stderr (unless logs are JSON) and LogTape, masking what it writes. */
async function outputs(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  shown: SecretValues,
): Promise<{ view: RunView | undefined; logger: Logger }> {
  const v = parsed.values;
  const { settings } = prepared;
  const format = settings.logFormat as LogFormat;
  let view: RunView | undefined;
  if (format === "text") {
    view = createView({
      mode: v.quiet ? "quiet" : io.terminal.isTerminal ? "live" : "plain",
      // The view draws with control sequences: it writes unescaped, and escapes what it shows.
      write: (io.raw ?? io).stderr,
      columns: io.terminal.columns,
      rows: io.terminal.rows,
      color: useColor(io.terminal.isTerminal, io.env),
    });
  }
  await setupLogging({
    level: (v.verbose ? "debug" : settings.logLevel) as LogLevel,
    format,
    // The last guard: a log line that holds a value handed out is masked on its way out.
    write: view
      ? (line) => view.log(shown.mask(line).replace(/\n$/, ""))
      : (line) => io.stderr(shown.mask(line)),
  });
  return { view, logger: getLogger(["orchestra", "run"]) };
}

/** An inline task's console output goes to its own log, never to stdout (--json's). */
export function captureTaskConsole(): () => void {
  const logger = getLogger(["orchestra", "console"]);
  return captureConsole({
    current: () => (taskContextStorage().getStore() as TaskContext | undefined)?.log,
    fallback: (level, line) => logger[level === "warning" ? "warn" : level]("{line}", { line }),
  });
}

/**
 * Runs a prepared flow with the view, logging, the worker pool, permissions, secrets and the
 * state store; returns the exit code. Shared by `run`, `resume` and `retry`; the run itself
 * goes through {@linkcode startHostRun}, as `orchestra serve`'s runs do: owned (its lease
 * held) from before it is recorded until it ended, and ended only once every process its
 * tasks started is gone.
 *
 * Secrets never reach the state dir or the output in clear: everything written to the store
 * (the journal, the cache) and to stdout and stderr is masked with every value the run was
 * handed, and a result that holds one is stored masked (sealed too, with a key).
 */
export async function executePrepared(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  continuation?: Continuation,
): Promise<number> {
  try {
    return await executeWithStore(prepared, parsed, io, continuation);
  } finally {
    // A run that did not get as far as its flow isolate stops it all the same.
    prepared.ts?.isolate?.terminate();
  }
}

async function executeWithStore(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  continuation?: Continuation,
): Promise<number> {
  // Secrets: the secrets file first, then the environment.
  const secrets = await runSecrets(prepared, io);
  if (typeof secrets === "string") {
    await continuation?.store.close();
    io.stderr(`error: ${secrets}\n`);
    return 2;
  }
  // Every run is recorded (<state dir>/state.db, or the --store), one transaction per tick.
  const store = continuation?.store ?? await openStateStore(prepared.settings, io);
  if (typeof store === "number") return store;
  try {
    return await executeWithView(prepared, parsed, io, { store, secrets }, continuation);
  } finally {
    await store.close();
  }
}

async function executeWithView(
  prepared: Prepared,
  parsed: Parsed,
  io: Io,
  run: { store: Store; secrets: RunSecrets },
  continuation: Continuation | undefined,
): Promise<number> {
  const v = parsed.values;
  const { settings } = prepared;
  const { store, secrets } = run;
  const { view, logger } = await outputs(prepared, parsed, io, secrets.values);
  const controller = new AbortController();
  const signals = handleStopSignals(io, controller, (note) => {
    if (view) view.log(note);
    else logger.warn(note);
  });
  // One pool for the run, sized by --workers; tasks that choose no executor get --executor.
  const pool = new WorkerPool({ size: settings.workers });
  const releaseConsole = captureTaskConsole();
  let record: RunRecord;
  try {
    const started = await startHostRun(prepared, {
      store,
      secrets,
      pool,
      io,
      logger,
      ...(continuation ? { continuation } : {}),
      ...(typeof v["run-id"] === "string" && v["run-id"] !== "" ? { runId: v["run-id"] } : {}),
      signal: controller.signal,
      logLevel: (v.verbose ? "debug" : settings.logLevel) as LogLevel,
      onEvent: (event) => {
        if (view) view.onEvent(event);
        else logEvent(logger.with({ runId: event.runId }), event);
      },
    });
    if (typeof started === "string") {
      view?.close();
      io.stderr(`error: ${started}\n`);
      return 2;
    }
    record = await started.done;
  } catch (e) {
    view?.close();
    if (e instanceof FlowValidationError) {
      io.stderr(renderIssues(e.flow, e.issues));
      return 2;
    }
    throw e;
  } finally {
    releaseConsole();
    signals.stop();
    await pool.close();
  }
  view?.finish(record);
  if (v.json) io.stdout(JSON.stringify(runDocument(record), null, 2) + "\n");
  if (record.status === "succeeded") return 0;
  if (record.status === "cancelled" && signals.code !== undefined) return signals.code;
  return 1;
}

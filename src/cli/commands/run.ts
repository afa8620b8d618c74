/**
 * `orchestra run FILE`: validate, then run with a live view (or plain lines, or only a
 * summary), print `--json`, and exit 0/1/2/130.
 *
 * @module
 */

import { getLogger, type Logger, type LogLevel } from "@logtape/logtape";
import { errorMessage, FlowValidationError } from "../../core/errors.ts";
import type { RunEvent } from "../../core/events.ts";
import { taskContextStorage } from "../../core/protocol.ts";
import { FlowRun } from "../../engine/run.ts";
import { captureConsole } from "../../executors/console_capture.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { newRunId } from "../../engine/calls.ts";
import type { RestoredTask, TaskContext } from "../../engine/types.ts";
import { SqliteStore } from "../../store/sqlite_store.ts";
import { StoreCache } from "../../engine/cache.ts";
import type { RunRecord } from "../../engine/types.ts";
import type { PermissionSet } from "../../core/permissions.ts";
import { AuditLog, auditLogPath, currentUser } from "../../permissions/audit.ts";
import { AuthorizationClient } from "../../permissions/authorization.ts";
import { Authorizer } from "../../permissions/authorizer.ts";
import { parseDotenv } from "../../permissions/secrets.ts";
import { SecretValues } from "../../permissions/secret_values.ts";
import { decryptValue, Sealer, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { type LogFormat, setupLogging } from "../logging.ts";
import { graphJson, renderIssues, renderPlan } from "../render.ts";
import {
  maskEvent,
  maskRecord,
  SecretCache,
  SecretJournal,
  unsealRestored,
} from "../secret_journal.ts";
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

/** The secrets of a run: where values come from, and what has been handed out. */
interface RunSecrets {
  /** Every value handed out so far (and restored from sealed results): what is masked. */
  values: SecretValues;
  /** Seals results that hold a secret, when `ORCHESTRA_SECRET_KEY` is set. */
  sealer: Sealer | undefined;
  /** The key's text ("" when unset). */
  key: string;
  /** The secrets file's values. */
  file: Record<string, string>;
}

async function runSecrets(prepared: Prepared, io: Io): Promise<RunSecrets | string> {
  const { secretsFile } = prepared.settings;
  let file: Record<string, string> = {};
  if (secretsFile) {
    try {
      file = parseDotenv(await Deno.readTextFile(secretsFile), secretsFile);
    } catch (e) {
      return `cannot read the secrets file: ${errorMessage(e)}`;
    }
  }
  const key = io.env(SECRET_KEY_VARIABLE) ?? "";
  return { values: new SecretValues(), sealer: key ? new Sealer(key) : undefined, key, file };
}

/**
 * Runs a prepared flow with the view, logging, the worker pool, permissions, secrets and the
 * state store; returns the exit code. Shared by `run`, `resume` and `retry`.
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
  const v = parsed.values;
  const { def, params, graph, settings, policy, baseDir } = prepared;
  const secrets = await runSecrets(prepared, io);
  if (typeof secrets === "string") {
    io.stderr(`error: ${secrets}\n`);
    return 2;
  }
  const shown = secrets.values;
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
    // The last guard: a log line that holds a value handed out is masked on its way out.
    write: view
      ? (line) => view.log(shown.mask(line).replace(/\n$/, ""))
      : (line) => io.stderr(shown.mask(line)),
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
  // Every run is recorded: <state dir>/state.db, one transaction per scheduler tick.
  const store = await SqliteStore.open(settings.stateDir, { durability: settings.durability });
  // At each launch: the protected paths, the ceiling, the policy, the external service where
  // configured (its decisions cached in the store, for every process), and the audit log.
  const audit = new AuditLog(auditLogPath(settings.stateDir));
  const authorizer = new Authorizer({
    flow: graph.name,
    baseDir,
    ...(ceiling ? { ceiling } : {}),
    ...(policy ? { policy } : {}),
    ...(policy?.authorization
      ? { client: new AuthorizationClient(policy.authorization, { store }) }
      : {}),
    protectedPaths: prepared.protectedPaths,
    audit,
    user: currentUser(io.env),
  });
  const warnAudit = (e: unknown) =>
    logger.warn("Cannot write the audit log: {error}", { error: errorMessage(e) });
  const runId = continuation?.runId ??
    (typeof v["run-id"] === "string" && v["run-id"] !== "" ? v["run-id"] : newRunId());
  const flowHash = await hashFile(prepared.file);
  let restore = continuation?.restore;
  if (continuation) {
    // A result stored masked is restored from its sealed form, or its task runs again.
    const unsealed = await unsealRestored(
      store,
      runId,
      continuation.restore,
      shown,
      secrets.sealer,
    );
    restore = unsealed.restore;
    for (const id of unsealed.rerun) {
      logger.info(
        "{taskId} runs again: its result held a secret and was stored masked{why}",
        {
          taskId: id,
          why: secrets.sealer
            ? " (it was sealed with another key)"
            : `; set ${SECRET_KEY_VARIABLE} to store such results encrypted, so they are restored`,
        },
      );
    }
    await store.reopenRun(runId, {
      resetTasks: [...continuation.resetTasks, ...unsealed.rerun],
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
  // An inline task's console output goes to its own log, never to stdout (which is --json's).
  const consoleLogger = getLogger(["orchestra", "console"]);
  const releaseConsole = captureConsole({
    current: () => (taskContextStorage().getStore() as TaskContext | undefined)?.log,
    fallback: (lvl, message) =>
      consoleLogger[lvl === "warning" ? "warn" : lvl]("{line}", { line: message }),
  });
  try {
    const run = new FlowRun(def, params, {
      runId,
      journal: new SecretJournal(store, shown, secrets.sealer),
      // Results are cached in the store: across runs and processes.
      cache: new SecretCache(new StoreCache(store), shown, secrets.sealer),
      ...(restore ? { restore } : {}),
      signal: controller.signal,
      workerPool: pool,
      defaultExecutor: settings.executor,
      authorize: (t) =>
        authorizer.authorize({
          id: t.taskId,
          request: t.request,
          runId: t.runId,
          ...(t.plugin ? { plugin: t.plugin } : {}),
        }),
      secrets: (name, taskId) => {
        const value = secrets.file[name] ?? io.env(name);
        if (value !== undefined) {
          shown.add(value);
          authorizer.secretRead({ id: taskId, runId }, name).catch(warnAudit);
        }
        return value;
      },
      decrypt: async (value) => {
        const plain = await decryptValue(value, secrets.key);
        shown.add(plain);
        return plain;
      },
      ...(concurrency !== undefined ? { concurrency } : {}),
      onEvent: (e) => {
        // A task that requests nothing is not asked about: its launch is recorded all the same.
        if (e.type === "task.started" && e.attempt === 1 && !authorizer.launched(runId, e.taskId)) {
          authorizer.authorize({ id: e.taskId, runId }).catch(warnAudit);
        }
        const event = maskEvent(shown, e);
        if (view) view.onEvent(event);
        else logEvent(logger.with({ runId: event.runId }), event);
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
    releaseConsole();
    clearInterval(poll);
    stopListening();
    await pool.close();
    await audit.flush();
    await store.close();
  }
  // Values restored from sealed results are not the engine's to mask: the record is masked
  // here, with every value the run was handed.
  record = maskRecord(shown, record);
  view?.finish(record);
  if (v.json) io.stdout(JSON.stringify(runDocument(record), null, 2) + "\n");
  if (record.status === "succeeded") return 0;
  if (record.status === "cancelled" && interrupts > 0) return 130;
  return 1;
}

/**
 * The one host path that runs a prepared flow. `orchestra run`, `resume` and `retry` run
 * through it with a view on a terminal; `orchestra serve`'s runners run many flows at once
 * through it, sharing one store and one worker pool. What it does for every run:
 *
 * - owns it: a new run is claimed (its lease) before it is recorded; a continued run was
 *   claimed by whoever planned it, before it read the run;
 * - moves into the flow file's folder (a relative path means that folder: in permissions, task
 *   code, `run:` steps and plugin params);
 * - records it (a new row, the resumed run reopened, or a retry's row with the tasks it keeps),
 *   the process groups its tasks start, and stops what a dead owner left running;
 * - hands out secrets, masking every value handed out and sealing results that hold one, and
 *   decides each task's grant at launch (ceiling, policy, authorization, audit);
 * - notices `orchestra cancel` (or the API) from another process;
 * - derives OpenTelemetry spans from its events;
 * - never leaves it `running` after a failure before its first task: it is recorded failed;
 * - ends only once every process its tasks started is gone.
 *
 * What stays with the caller is what differs between a terminal and a server: the store and
 * the worker pool (opened and closed by the caller), logging and the view, stop signals, and
 * capturing inline tasks' console output.
 *
 * @module
 */

import type { Logger, LogLevel } from "@logtape/logtape";
import { errorMessage, FlowValidationError } from "../core/errors.ts";
import type { RunEvent } from "../core/events.ts";
import { StoreCache } from "../engine/cache.ts";
import { newRunId } from "../engine/calls.ts";
import { FlowRun } from "../engine/run.ts";
import type { Journal, RunRecord } from "../engine/types.ts";
import { configureProcesses } from "../executors/process.ts";
import { processGroups } from "../executors/process_registry.ts";
import type { WorkerPool } from "../executors/worker_pool.ts";
import { repairGroupRows } from "../host/group_rows.ts";
import { recordProcesses, stoppingJournal } from "../host/processes.ts";
import { describeOwner, type RunLease } from "../store/ownership.ts";
import type { Store } from "../store/store.ts";
import type { Prepared } from "./commands/common.ts";
import { runSandboxedFlow } from "./commands/run_sandboxed.ts";
import { recordRunFailure } from "./commands/run_support.ts";
import { type Continuation, recordRun, type RunSecrets, taskAccess } from "./commands/run_setup.ts";
import type { Io } from "./io.ts";
import { RunSpans } from "./run_spans.ts";
import { maskEvent, maskRecord, SecretCache, SecretJournal } from "./secret_journal.ts";

/** What {@linkcode startHostRun} needs besides the flow. */
export interface HostRunOptions {
  /** The state store, open; the caller closes it. */
  store: Store;
  /** The run's secrets ({@linkcode runSecrets}): what is handed out and masked. */
  secrets: RunSecrets;
  /** The worker pool tasks run in; the caller closes it. */
  pool: WorkerPool;
  /** The environment (secrets, the user). */
  io: Io;
  /** Where the run's own lines go (a task that runs again, an audit log that fails). */
  logger: Logger;
  /** The id of a new run. @default a new id */
  runId?: string;
  /** How the run continues an earlier one (resume, retry); its run is claimed already. */
  continuation?: Omit<Continuation, "store">;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  /** Every event of the run, masked. */
  onEvent?: (event: RunEvent) => void;
  /** Wraps the journal the run appends to (after masking), e.g. to stop recording. */
  journal?: (journal: Journal) => Journal;
  /** How often `orchestra cancel` from another process is looked for, in ms. @default 500 */
  cancelPollMs?: number;
  /** The lowest level of a sandboxed flow's log lines passed on. @default the settings' */
  logLevel?: LogLevel;
}

/** A run that started. */
export interface HostRun {
  /** Its id. */
  runId: string;
  /**
   * Resolves with its record (masked) once it ended and every process its tasks started is
   * gone; rejects (after recording it as failed) when it could not start, with a
   * `FlowValidationError` when a task the plan could not see is invalid.
   */
  done: Promise<RunRecord>;
}

/** What {@linkcode startHostRun} sets up around the engine, and undoes when the run ended. */
interface Surroundings {
  controller: AbortController;
  cleanup(): Promise<void>;
}

function surround(
  prepared: Prepared,
  options: HostRunOptions,
  run: { runId: string; lease: RunLease | undefined },
): Surroundings {
  const { store, signal } = options;
  const { runId, lease } = run;
  const controller = new AbortController();
  const stop = () => controller.abort(signal?.reason);
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  // A lease lost to another process (a store shared by machines): stop, it runs there now.
  const lost = () => controller.abort(lease?.signal?.reason);
  lease?.signal?.addEventListener("abort", lost, { once: true });
  // `orchestra cancel` (or the API) from another process: noticed within half a second.
  const poll = setInterval(async () => {
    if (!controller.signal.aborted && await store.isCancelRequested(runId).catch(() => false)) {
      controller.abort(new Error("cancelled with orchestra cancel"));
    }
  }, options.cancelPollMs ?? 500);
  const stopRecording = recordProcesses(store, runId);
  // Tasks run in the flow file's folder, workers too (they share this process's working
  // directory). Every path the host itself needs is absolute by now. A serve runner runs the
  // flows of one folder, in that folder: there this changes nothing.
  const startDir = Deno.cwd();
  if (startDir !== prepared.baseDir) Deno.chdir(prepared.baseDir);
  return {
    controller,
    async cleanup() {
      if (Deno.cwd() !== startDir) Deno.chdir(startDir);
      clearInterval(poll);
      signal?.removeEventListener("abort", stop);
      lease?.signal?.removeEventListener("abort", lost);
      stopRecording();
      await processGroups.stopAll({ runId });
    },
  };
}

/**
 * Claims (a new run), records and starts the run. Resolves once it is recorded (its row
 * exists, so it can be listed and cancelled); a string says why it cannot start (another
 * process holds its id). Rejects, after recording the run failed, when recording it fails.
 *
 * @example
 * ```ts ignore
 * const secrets = await runSecrets(prepared, io);
 * const started = await startHostRun(prepared, { store, secrets, pool, io, logger });
 * if (typeof started !== "string") console.log((await started.done).status);
 * ```
 */
export async function startHostRun(
  prepared: Prepared,
  options: HostRunOptions,
): Promise<HostRun | string> {
  const { store, secrets, logger, continuation } = options;
  const runId = continuation?.runId ?? options.runId ?? newRunId();
  let lease = continuation?.lease;
  if (!continuation) {
    // Nobody else can hold a fresh id; one given (a detached run's) may be taken.
    const claim = await store.claimRun(runId);
    if (!claim.lease) {
      prepared.ts?.isolate?.terminate();
      return `run ${runId} is already run by ${describeOwner(claim.heldBy)}`;
    }
    lease = claim.lease;
  }
  configureProcesses({ maxOutput: prepared.settings.maxOutput });
  const shown = secrets.values;
  const access = taskAccess(prepared, runId, { store, secrets, io: options.io, logger });
  const spans = new RunSpans();
  const around = surround(prepared, options, { runId, lease });
  const fail = async (e: unknown): Promise<never> => {
    // Failed before its first task: recorded as failed with its error, never left running.
    const error = shown.mask(e instanceof FlowValidationError ? e.message : errorMessage(e));
    spans.finish(Date.now(), "failed", error);
    await recordRunFailure(store, runId, prepared.graph.name, error).catch(() => {});
    throw e;
  };
  const end = async () => {
    // A run that did not get as far as its flow isolate stops it all the same.
    prepared.ts?.isolate?.terminate();
    await around.cleanup();
    await access.flush();
  };
  let flowRun: () => Promise<RunRecord>;
  try {
    const restore = await recordRun(prepared, runId, {
      store,
      secrets,
      logger,
      ...(continuation ? { continuation: { ...continuation, store } } : {}),
    });
    flowRun = engineRun(prepared, options, {
      runId,
      restore,
      signal: around.controller.signal,
      access,
      spans,
    });
  } catch (e) {
    return await fail(e).finally(end);
  }
  const done = (async () => {
    try {
      const record = await flowRun();
      if (continuation) await repairGroupRows(store, record).catch(() => {});
      // Values restored from sealed results are not the engine's to mask: the record is
      // masked here, with every value the run was handed.
      return maskRecord(shown, record);
    } catch (e) {
      return await fail(e);
    } finally {
      await end();
    }
  })();
  return { runId, done };
}

/**
 * The engine's run of the flow, with the host's journal, cache and launch decisions: in the
 * flow's isolate for a sandboxed TypeScript flow (the host journals, caches and launches its
 * tasks), else in this process. Called, it runs the flow to its record.
 */
function engineRun(
  prepared: Prepared,
  options: HostRunOptions,
  run: {
    runId: string;
    restore: Awaited<ReturnType<typeof recordRun>>;
    signal: AbortSignal;
    access: ReturnType<typeof taskAccess>;
    spans: RunSpans;
  },
): () => Promise<RunRecord> {
  const { store, secrets } = options;
  const { runId, restore, access, spans } = run;
  const { settings } = prepared;
  const shown = secrets.values;
  // Masked (and sealed) first; before the run's end is recorded, every process its tasks
  // started is stopped.
  const masked = new SecretJournal(stoppingJournal(store, runId), shown, secrets.sealer);
  const journal = options.journal ? options.journal(masked) : masked;
  // Results are cached in the store: across runs and processes.
  const cache = new SecretCache(new StoreCache(store), shown, secrets.sealer);
  const onEvent = (e: RunEvent) => {
    // A task that requests nothing is not asked about: its launch is recorded all the same.
    if (e.type === "task.started" && e.attempt === 1) access.launched(e.taskId);
    const event = maskEvent(shown, e);
    spans.onEvent(event);
    options.onEvent?.(event);
  };
  if (prepared.ts?.sandboxed) {
    return () =>
      runSandboxedFlow(prepared, {
        runId,
        store,
        secrets,
        access,
        pool: options.pool,
        restore,
        signal: run.signal,
        onEvent,
        journal,
        cache,
        logger: options.logger,
        logLevel: options.logLevel ?? settings.logLevel as LogLevel,
      });
  }
  const flowRun = new FlowRun(prepared.def, prepared.params, {
    runId,
    baseDir: prepared.baseDir,
    journal,
    cache,
    ...(restore ? { restore } : {}),
    signal: run.signal,
    workerPool: options.pool,
    defaultExecutor: settings.executor,
    ...access.options,
    ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    onEvent,
  });
  return () => flowRun.start();
}

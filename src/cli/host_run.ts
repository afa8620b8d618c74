/**
 * The one host path that runs a prepared flow: its secrets (handed out, masked, sealed), the
 * launch-time permission model (ceiling, policy, authorization, audit), its row in the state
 * store, `orchestra cancel` from another process, the journal and the result cache masked, and
 * spans derived from its events. `orchestra run`, `resume` and `retry` run through it with a
 * view on a terminal; `orchestra serve`'s runners run many flows at once through it, sharing
 * one store and one worker pool.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { RunEvent } from "../core/events.ts";
import { newRunId } from "../engine/calls.ts";
import { StoreCache } from "../engine/cache.ts";
import { FlowRun } from "../engine/run.ts";
import type { Journal, RunRecord } from "../engine/types.ts";
import type { WorkerPool } from "../executors/worker_pool.ts";
import type { SecretValues } from "../permissions/secret_values.ts";
import type { Store } from "../store/store.ts";
import type { Prepared } from "./commands/common.ts";
import { type Continuation, recordRun, runSecrets, taskAccess } from "./commands/run_setup.ts";
import type { Io } from "./io.ts";
import { RunSpans } from "./run_spans.ts";
import { maskEvent, maskRecord, SecretCache, SecretJournal } from "./secret_journal.ts";

/** What {@linkcode startHostRun} needs besides the flow. */
export interface HostRunOptions {
  /** The state store, open; the caller closes it. */
  store: Store;
  /** The worker pool tasks run in; the caller closes it. */
  pool: WorkerPool;
  /** The environment (secrets, the key, the user). */
  io: Io;
  /** Where the run's own lines go (a task that runs again, an audit log that fails). */
  logger: Logger;
  /** The run's id. @default a new id */
  runId?: string;
  /** How the run continues an earlier one (resume, retry). */
  continuation?: Continuation;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  /** Every event of the run, masked. */
  onEvent?: (event: RunEvent) => void;
  /** Wraps the journal the run appends to (after masking), e.g. to stop recording. */
  journal?: (journal: Journal) => Journal;
  /** How often `orchestra cancel` from another process is looked for, in ms. @default 500 */
  cancelPollMs?: number;
}

/** A run that started. */
export interface HostRun {
  /** Its id. */
  runId: string;
  /** Every value handed out to it so far: what its outputs are masked with. */
  secrets: SecretValues;
  /**
   * Resolves with its record (masked) once it ended; rejects when it could not start (a
   * `FlowValidationError`: a task the plan could not see is invalid), after recording it as
   * failed.
   */
  done: Promise<RunRecord>;
}

/**
 * Records and starts the run. Resolves once it is recorded (its row exists, so it can be
 * listed and cancelled); a string says why it cannot start (the secrets file is unreadable).
 */
export async function startHostRun(
  prepared: Prepared,
  options: HostRunOptions,
): Promise<HostRun | string> {
  const { store, io, logger, continuation } = options;
  const secrets = await runSecrets(prepared, io);
  if (typeof secrets === "string") return secrets;
  const shown = secrets.values;
  const runId = continuation?.runId ?? options.runId ?? newRunId();
  const access = taskAccess(prepared, runId, { store, secrets, io, logger });
  const restore = await recordRun(prepared, runId, { store, secrets, logger, continuation });
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  // `orchestra cancel` (or the API) from another process: noticed within half a second.
  const poll = setInterval(async () => {
    if (!controller.signal.aborted && await store.isCancelRequested(runId).catch(() => false)) {
      controller.abort(new Error("cancelled with orchestra cancel"));
    }
  }, options.cancelPollMs ?? 500);
  const spans = new RunSpans();
  const journal = new SecretJournal(store, shown, secrets.sealer);
  const { settings } = prepared;
  const run = new FlowRun(prepared.def, prepared.params, {
    runId,
    journal: options.journal ? options.journal(journal) : journal,
    // Results are cached in the store: across runs and processes.
    cache: new SecretCache(new StoreCache(store), shown, secrets.sealer),
    ...(restore ? { restore } : {}),
    signal: controller.signal,
    workerPool: options.pool,
    defaultExecutor: settings.executor,
    ...access.options,
    ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    onEvent: (e) => {
      // A task that requests nothing is not asked about: its launch is recorded all the same.
      if (e.type === "task.started" && e.attempt === 1) access.launched(e.taskId);
      const event = maskEvent(shown, e);
      spans.onEvent(event);
      options.onEvent?.(event);
    },
  });
  const done = (async () => {
    try {
      // Values restored from sealed results are not the engine's to mask: the record is
      // masked here, with every value the run was handed.
      return maskRecord(shown, await run.start());
    } catch (e) {
      // Never left running: the run is recorded as failed with why.
      const error = shown.mask(e instanceof Error ? e.message : String(e));
      spans.finish(Date.now(), "failed", error);
      await store.append([{
        type: "run.finished",
        runId,
        time: Date.now(),
        flow: prepared.graph.name,
        status: "failed",
        error,
      }]).catch(() => {});
      throw e;
    } finally {
      clearInterval(poll);
      options.signal?.removeEventListener("abort", stop);
      await access.flush();
    }
  })();
  return { runId, secrets: shown, done };
}

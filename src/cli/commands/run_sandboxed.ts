/**
 * `orchestra run` of a TypeScript flow in its flow isolate: the host's parts (the masked
 * journal and cache over the store, the launch-time permission model, the worker pool) given
 * to the host's run driver (`src/host/isolate_run.ts`).
 *
 * @module
 */

import type { Logger, LogLevel } from "@logtape/logtape";
import type { RunEvent } from "../../core/events.ts";
import type { ResultCache } from "../../engine/cache.ts";
import type { Journal, RestoredTask, RunRecord } from "../../engine/types.ts";
import type { WorkerRunner } from "../../executors/worker_executor.ts";
import { runSandboxed } from "../../host/isolate_run.ts";
import { restartContinuation } from "../../host/restart.ts";
import { TaskLauncher } from "../../host/task_launcher.ts";
import type { Store } from "../../store/store.ts";
import { unsealRestored } from "../secret_journal.ts";
import type { Prepared } from "./common.ts";
import type { RunSecrets, TaskAccess } from "./run_setup.ts";

/** What a sandboxed run of the CLI is given. */
export interface SandboxedRun {
  /** The run's id. */
  runId: string;
  /** The state store. */
  store: Store;
  /** The run's secrets. */
  secrets: RunSecrets;
  /** Authorization, secrets and decryption at each launch. */
  access: TaskAccess;
  /** The run's worker pool. */
  pool: WorkerRunner;
  /** Calls restored (resume, retry). */
  restore: ReadonlyMap<string, RestoredTask> | undefined;
  /** Cancels the run. */
  signal: AbortSignal;
  /** Events for the view. */
  onEvent: (event: RunEvent) => void;
  /** The masked journal. */
  journal: Journal;
  /** The masked cache. */
  cache: ResultCache;
  /** The host's logger. */
  logger: Logger;
  /** The lowest level of log lines shown. */
  logLevel: LogLevel;
}

/** Runs a prepared TypeScript flow in its flow isolate; resolves with its record. */
export function runSandboxedFlow(prepared: Prepared, run: SandboxedRun): Promise<RunRecord> {
  const ts = prepared.ts!;
  const { runId, store, secrets, access } = run;
  const { settings } = prepared;
  const isolate = ts.isolate;
  ts.isolate = undefined; // the run stops it
  const launcher = new TaskLauncher({
    runId,
    flow: prepared.graph.name,
    params: prepared.params,
    planned: prepared.planned,
    modules: ts.modules,
    authorize: (t) => access.options.authorize({ runId, ...t }),
    secret: (name, taskId) => access.options.secrets(name, taskId),
    decrypt: (value) => access.options.decrypt(value),
    mask: (text) => secrets.values.mask(text),
    pool: run.pool,
  });
  return runSandboxed({
    ...(isolate ? { isolate } : {}),
    moduleUrl: ts.url,
    files: ts.modules.files,
    request: {
      type: "run",
      exportName: ts.exportName,
      params: prepared.params,
      runId,
      baseDir: prepared.baseDir,
      cwd: Deno.cwd(),
      restore: [...(run.restore ?? [])],
      prior: [],
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.executor !== "inline" ? { defaultExecutor: settings.executor } : {}),
      logLevel: run.logLevel as never,
    },
    journal: run.journal,
    cache: run.cache,
    signal: run.signal,
    onEvent: run.onEvent,
    launcher,
    continuation: async (overrun, attempts) =>
      restartContinuation(
        await store.getTasks(runId),
        overrun,
        attempts,
        async (restore) =>
          (await unsealRestored(store, runId, restore, secrets.values, secrets.sealer)).restore,
      ),
    log: run.logger,
  });
}

/**
 * The parts `orchestra run` (and `resume`, `retry`) puts together before the engine starts:
 * the run's secrets (what may be handed out, what has been, and the key that seals), the
 * Authorizer that decides at each launch, and the run's row in the store, with what a
 * continued run restores.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { errorMessage } from "../../core/errors.ts";
import type { PermissionSet } from "../../core/permissions.ts";
import type { RestoredTask, RunOptions } from "../../engine/types.ts";
import { AuditLog, auditLogPath, currentUser } from "../../permissions/audit.ts";
import { AuthorizationClient } from "../../permissions/authorization.ts";
import { Authorizer } from "../../permissions/authorizer.ts";
import { decryptValue, Sealer, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { parseDotenv } from "../../permissions/secrets.ts";
import { SecretValues } from "../../permissions/secret_values.ts";
import type { AppendEvent, Store, TaskRow } from "../../store/store.ts";
import type { Io } from "../io.ts";
import { unsealRestored } from "../secret_journal.ts";
import { hashFile, type Prepared } from "./common.ts";

/** How a run continues an earlier one (`resume`, `retry`). */
export interface Continuation {
  /** The run's id. */
  runId: string;
  /** Calls that completed: restored, not run again. */
  restore: ReadonlyMap<string, RestoredTask>;
  /** Calls to run again. */
  resetTasks: string[];
  /**
   * A retry as a new run (`runId` is new): the run it retries, and the rows of the tasks it
   * keeps from it (journaled into the new run as they were).
   */
  retryOf?: { runId: string; kept: readonly TaskRow[] };
}

/** The secrets of a run: where values come from, and what has been handed out. */
export interface RunSecrets {
  /** Every value handed out so far (and restored from sealed results): what is masked. */
  values: SecretValues;
  /** Seals results that hold a secret, when `ORCHESTRA_SECRET_KEY` is set. */
  sealer: Sealer | undefined;
  /** The key's text ("" when unset). */
  key: string;
  /** The secrets file's values. */
  file: Record<string, string>;
}

/** Reads the secrets file and the key; a message when the secrets file cannot be read. */
export async function runSecrets(prepared: Prepared, io: Io): Promise<RunSecrets | string> {
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

/** What a run is given to decide, at each task's launch, its grant and its secrets. */
export interface TaskAccess {
  /** The engine's `authorize`, `secrets` and `decrypt` options. */
  options: Required<Pick<RunOptions, "authorize" | "secrets" | "decrypt">>;
  /** Records the launch of a task the engine did not ask about (it requests nothing). */
  launched(taskId: string): void;
  /** Resolves once every audit record is written. */
  flush(): Promise<void>;
}

/**
 * The launch-time permission model of a run: the protected paths, the ceiling, the policy
 * and the external service (its decisions cached in the store, for every process), every
 * decision audited; and the secrets, each value remembered for masking as it is handed out,
 * each read audited by name.
 */
export function taskAccess(
  prepared: Prepared,
  runId: string,
  context: { store: Store; secrets: RunSecrets; io: Io; logger: Logger },
): TaskAccess {
  const { store, secrets, io, logger } = context;
  const { graph, policy, baseDir, def } = prepared;
  const ceiling = (def.options as { permissions?: PermissionSet }).permissions;
  const audit = new AuditLog(auditLogPath(prepared.settings.stateDir));
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
  const warn = (e: unknown) =>
    logger.warn("Cannot write the audit log: {error}", { error: errorMessage(e) });
  const shown = secrets.values;
  return {
    options: {
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
          authorizer.secretRead({ id: taskId, runId }, name).catch(warn);
        }
        return value;
      },
      decrypt: async (value) => {
        const plain = await decryptValue(value, secrets.key);
        shown.add(plain);
        return plain;
      },
    },
    launched(taskId) {
      if (!authorizer.launched(runId, taskId)) {
        authorizer.authorize({ id: taskId, runId }).catch(warn);
      }
    },
    flush: () => audit.flush(),
  };
}

/**
 * Records the run in the store: a new row, or the earlier run reopened. A continued run's
 * results stored masked are restored from their sealed form, or their tasks run again (and
 * the log says why). Returns what the engine restores.
 */
export async function recordRun(
  prepared: Prepared,
  runId: string,
  context: { store: Store; secrets: RunSecrets; logger: Logger; continuation?: Continuation },
): Promise<ReadonlyMap<string, RestoredTask> | undefined> {
  const { store, secrets, logger, continuation } = context;
  const flowHash = await hashFile(prepared.file);
  if (continuation?.retryOf) return await recordRetry(prepared, continuation, context, flowHash);
  if (!continuation) {
    await store.createRun({
      runId,
      flow: prepared.graph.name,
      status: "running",
      params: prepared.params,
      startedAt: new Date().toISOString(),
      flowFile: prepared.file,
      flowHash,
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    return undefined;
  }
  const { restore, rerun } = await unsealRestored(
    store,
    runId,
    continuation.restore,
    secrets.values,
    secrets.sealer,
  );
  for (const taskId of rerun) {
    logger.info("{taskId} runs again: its result held a secret and was stored masked{why}", {
      taskId,
      why: secrets.sealer
        ? " (it was sealed with another key)"
        : `; set ${SECRET_KEY_VARIABLE} to store such results encrypted, so they are restored`,
    });
  }
  await store.reopenRun(runId, {
    resetTasks: [...continuation.resetTasks, ...rerun],
    pid: Deno.pid,
    host: Deno.hostname(),
    flowHash,
  });
  return restore;
}

/**
 * A retry as a new run: its row, the rows it keeps from the run it retries (journaled as that
 * run recorded them, so listing and resuming it see them), and what the engine restores.
 */
async function recordRetry(
  prepared: Prepared,
  continuation: Continuation,
  context: { store: Store; secrets: RunSecrets; logger: Logger },
  flowHash: string,
): Promise<ReadonlyMap<string, RestoredTask>> {
  const { store, secrets, logger } = context;
  const { runId, retryOf } = continuation as Required<Continuation>;
  const startedAt = Date.now();
  await store.createRun({
    runId,
    flow: prepared.graph.name,
    status: "running",
    params: prepared.params,
    startedAt: new Date(startedAt).toISOString(),
    flowFile: prepared.file,
    flowHash,
    pid: Deno.pid,
    host: Deno.hostname(),
  });
  const { restore, rerun } = await unsealRestored(
    store,
    retryOf.runId,
    continuation.restore,
    secrets.values,
    secrets.sealer,
  );
  for (const taskId of rerun) {
    logger.info("{taskId} runs again: its result held a secret and was stored masked", { taskId });
  }
  const kept = retryOf.kept.filter((t) => restore.has(t.taskId));
  if (kept.length) await store.append(kept.flatMap((t) => keptEvents(runId, t, startedAt)));
  return restore;
}

/** The events that make a kept task's row in a new run: created, then its result. */
function keptEvents(runId: string, t: TaskRow, time: number): AppendEvent[] {
  const base = { runId, time, taskId: t.taskId, name: t.name };
  const created: AppendEvent = {
    type: "task.created",
    ...base,
    needs: t.needs,
    kind: t.kind,
    ...(t.group === undefined ? {} : { group: t.group }),
  };
  const result: AppendEvent = t.status === "cached" && t.cacheKey !== undefined
    ? { type: "task.cached", ...base, key: t.cacheKey, result: t.result }
    : {
      type: "task.succeeded",
      ...base,
      attempt: t.attempts,
      durationMs: t.startedAt && t.finishedAt
        ? Date.parse(t.finishedAt) - Date.parse(t.startedAt)
        : 0,
      result: t.result,
    };
  return [created, result];
}

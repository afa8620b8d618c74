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
import { SecretValues } from "../../permissions/secret_values.ts";
import { stopLeftoverProcesses } from "../../host/processes.ts";
import { restoredRows } from "../../orchestrator/continuation.ts";
import type { RunLease, Store, TaskRow } from "../../store/store.ts";
import type { Io } from "../io.ts";
import { SecretJournal, unsealRestored } from "../secret_journal.ts";
import { hashFile, type Prepared } from "./common.ts";
import { readSecretsFile } from "./run_support.ts";

/** How a run continues an earlier one (`resume`, `retry`). */
export interface Continuation {
  /** The state store, open, holding the lease of `runId`; closed when the run ends. */
  store: Store;
  /** The lease of `runId` the store holds (the run stops should it be lost). */
  lease?: RunLease;
  /** The run's id: the run resumed, or the new run of a retry. */
  runId: string;
  /** Calls that completed: restored, not run again. */
  restore: ReadonlyMap<string, RestoredTask>;
  /** Calls to run again (of a resumed run). */
  resetTasks: string[];
  /** A retry: the run it retries, and the rows of the tasks it keeps from it. */
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
  const read = await readSecretsFile(prepared.settings);
  if ("error" in read) return read.error;
  const key = io.env(SECRET_KEY_VARIABLE) ?? "";
  return {
    values: new SecretValues(),
    sealer: key ? new Sealer(key) : undefined,
    key,
    file: read.secrets,
  };
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
 * Records the run in the store: a new row, the resumed run reopened, or a retry's new row
 * holding the tasks it keeps. A continued run's results stored masked are restored from their
 * sealed form, or their tasks run again (and the log says why). Returns what the engine
 * restores.
 */
export async function recordRun(
  prepared: Prepared,
  runId: string,
  context: { store: Store; secrets: RunSecrets; logger: Logger; continuation?: Continuation },
): Promise<ReadonlyMap<string, RestoredTask> | undefined> {
  const { store, secrets, logger, continuation } = context;
  const flowHash = prepared.flowHash ?? await hashFile(prepared.file);
  const owner = { pid: Deno.pid, host: Deno.hostname() };
  let restore: ReadonlyMap<string, RestoredTask> | undefined;
  let rerun: string[] = [];
  if (continuation) {
    // The sealed results live in the journal of the run they were made in.
    ({ restore, rerun } = await unsealRestored(
      store,
      continuation.retryOf?.runId ?? runId,
      continuation.restore,
      secrets.values,
      secrets.sealer,
    ));
    for (const taskId of rerun) {
      logger.info("{taskId} runs again: its result held a secret and was stored masked{why}", {
        taskId,
        why: secrets.sealer
          ? " (it was sealed with another key)"
          : `; set ${SECRET_KEY_VARIABLE} to store such results encrypted, so they are restored`,
      });
    }
  }
  if (continuation && !continuation.retryOf) {
    // The previous owner died; what it left running stops before anything runs again.
    await stopLeftoverProcesses(store, runId);
    await store.reopenRun(runId, {
      resetTasks: [...continuation.resetTasks, ...rerun],
      ...owner,
      flowHash,
    });
    return restore;
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
  const kept = continuation?.retryOf?.kept.filter((t) => restore?.has(t.taskId)) ?? [];
  if (kept.length) {
    // The kept tasks' true values go through the same masking (and sealing) as the run's own.
    const rows = kept.map((t) => ({ ...t, result: restore!.get(t.taskId)!.value }));
    await new SecretJournal(store, secrets.values, secrets.sealer).append([
      {
        type: "run.started",
        runId,
        time: Date.now(),
        flow: prepared.graph.name,
        params: prepared.params,
      },
      ...restoredRows(runId, rows),
    ]);
  }
  return restore;
}

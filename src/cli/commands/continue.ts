/**
 * `orchestra resume RUN` continues a run (the same run: succeeded tasks keep their results,
 * the rest run) and `orchestra retry RUN [--from TASK]` runs it again as a new run linked to
 * it, so the original and its failure stay in the history.
 *
 * A resume first claims the run: of two started at once exactly one proceeds, and the other
 * exits 2 naming the owner. Whoever owned the run before is gone by then (its lease ended with
 * it), and what it left running is stopped before anything runs again.
 *
 * @module
 */

import { type ContinuationPlan, resumePlan, retryPlan } from "../../orchestrator/continuation.ts";
import { describeOwner } from "../../store/ownership.ts";
import type { RunRow, TaskRow } from "../../store/store.ts";
import { newRunId } from "../../engine/calls.ts";
import { keyValues, type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { hashFile, prepare, readParamsFile } from "./common.ts";
import { SETTINGS_OPTIONS } from "./config.ts";
import { executePrepared } from "./run.ts";
import { findRun, openStore } from "./state.ts";

/** Options of `resume` and `retry`. */
export const RESUME_OPTIONS = {
  ...SETTINGS_OPTIONS,
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  force: { type: "boolean" },
  "no-sandbox": { type: "boolean" },
} as const;

/**
 * Options of `retry`: those of `resume`, the task to start again from, and params that
 * override the original run's for the new run.
 */
export const RETRY_OPTIONS = {
  ...RESUME_OPTIONS,
  from: { type: "string" },
  param: { type: "string", short: "p", multiple: true },
  "params-file": { type: "string" },
} as const;

/** Which way a recorded run is continued. */
export type ContinueCommand = "resume" | "retry";
type Command = ContinueCommand;

/** Why a recorded run cannot be continued: what to say, and the HTTP status the API gives. */
export interface ContinueRefusal {
  /** 404: something it needs is gone; 409: the run's state forbids it; 422: a bad `from`. */
  status: 404 | 409 | 422;
  /** What is wrong and what to do instead (starts lower case, as CLI errors do). */
  message: string;
}

/**
 * Refuses what cannot be continued: a run that records no flow file, a resume of a run that
 * succeeded, a retry of one that still runs, a flow file that is gone or changed (unless
 * `force`). Shared by the CLI and `orchestra serve`'s runners.
 */
export async function refuseContinuing(
  command: Command,
  run: RunRow,
  options: { force?: boolean } = {},
): Promise<ContinueRefusal | undefined> {
  if (!run.flowFile) {
    return {
      status: 409,
      message: `run ${run.runId} does not record its flow file; it cannot be ${command}d`,
    };
  }
  if (command === "resume" && run.status === "succeeded") {
    return {
      status: 409,
      message: `run ${run.runId} already succeeded; "orchestra retry ${run.runId} --from TASK" ` +
        `runs part of it again as a new run`,
    };
  }
  if (command === "retry" && run.status === "running" && run.owner) {
    return {
      status: 409,
      message: `run ${run.runId} is still running (run by ${describeOwner(run.owner)}); wait ` +
        `for it, or "orchestra cancel ${run.runId}" first`,
    };
  }
  let hash: string;
  try {
    hash = await hashFile(run.flowFile);
  } catch {
    return { status: 404, message: `the flow file ${run.flowFile} of run ${run.runId} is gone` };
  }
  if (run.flowHash && hash !== run.flowHash && !options.force) {
    return {
      status: 409,
      message:
        `${run.flowFile} changed since run ${run.runId} began; ${
          command === "resume" ? "resuming" : "retrying"
        } it could mix results of two different flows. Run it anew, or pass --force to ${command} ` +
        `anyway`,
    };
  }
  return undefined;
}

/** The params of a retry: the original's, with `--params-file` and `--param` over them. */
async function retryParams(run: RunRow, parsed: Parsed, io: Io) {
  const file = typeof parsed.values["params-file"] === "string"
    ? await readParamsFile("retry", io, parsed.values["params-file"])
    : {};
  const cli = keyValues("retry", parsed.values.param as string[] | undefined);
  return { ...run.params, ...file, ...cli };
}

/**
 * What a continued run restores and runs again: a resume runs what did not succeed; a retry
 * from `from` runs that task and everything downstream (without `from`, what did not succeed).
 */
export function continuationPlan(
  command: Command,
  run: RunRow,
  tasks: TaskRow[],
  from: string | undefined,
): ContinuationPlan | ContinueRefusal {
  if (command === "resume" || from === undefined) return resumePlan(tasks);
  if (!tasks.some((t) => t.taskId === from)) {
    return {
      status: 422,
      message: `run ${run.runId} has no task "${from}"; its tasks: ${
        tasks.map((t) => t.taskId).join(", ")
      }`,
    };
  }
  return retryPlan(tasks, from);
}

function plan(command: Command, tasks: TaskRow[], parsed: Parsed, run: RunRow, io: Io) {
  const from = parsed.values.from;
  if (command === "resume" && from !== undefined) {
    throw new UsageError("resume", 'resume takes no --from; "orchestra retry RUN --from TASK"');
  }
  const chosen = continuationPlan(command, run, tasks, from as string | undefined);
  if ("message" in chosen) {
    io.stderr(`error: ${chosen.message}\n`);
    return undefined;
  }
  return chosen;
}

async function continueRun(command: Command, parsed: Parsed, io: Io): Promise<number> {
  if (parsed.values.detach || parsed.values["run-id"]) {
    throw new UsageError(
      command,
      `${command} runs in the foreground; use the shell's & to background it`,
    );
  }
  if (command === "resume" && (parsed.values.param || parsed.values["params-file"])) {
    throw new UsageError(
      "resume",
      "a resumed run keeps its params; to change them, retry it: orchestra retry RUN --param K=V",
    );
  }
  const store = await openStore(parsed, io);
  if (typeof store === "number") return store;
  let handedOver = false;
  try {
    const found = await findRun(store, io, parsed.positionals[0], command);
    if (!found) return 2;
    const runId = command === "resume" ? found.runId : newRunId();
    // Claimed before anything is read or decided: one resume proceeds, any other stops here.
    const claim = await store.claimRun(runId);
    if (claim.heldBy) {
      io.stderr(
        `error: run ${runId} is already being run by ${describeOwner(claim.heldBy)}; wait ` +
          `for it, or "orchestra cancel ${runId}"\n`,
      );
      return 2;
    }
    const run = (await store.getRun(found.runId))!;
    const refused = await refuseContinuing(command, run, { force: parsed.values.force === true });
    if (refused) {
      io.stderr(`error: ${refused.message}\n`);
      return 2;
    }
    const tasks = await store.getTasks(run.runId);
    const chosen = plan(command, tasks, parsed, run, io);
    if (!chosen) return 2;
    const synthetic: Parsed = {
      values: { ...parsed.values, flow: run.flow, param: undefined, "params-file": undefined },
      positionals: [run.flowFile!],
    };
    const params = command === "retry" ? await retryParams(run, parsed, io) : run.params;
    const prepared = await prepare("run", synthetic, io, { params });
    if (typeof prepared === "number") return prepared;
    handedOver = true;
    return await executePrepared(prepared, synthetic, io, {
      store,
      runId,
      lease: claim.lease,
      restore: chosen.restore,
      resetTasks: chosen.reset,
      ...(command === "retry" ? { retryOf: { runId: run.runId, kept: chosen.kept } } : {}),
    });
  } finally {
    if (!handedOver) await store.close();
  }
}

/** `orchestra resume RUN [--force]`: restores succeeded tasks, runs the rest. */
export function resumeCommand(parsed: Parsed, io: Io): Promise<number> {
  return continueRun("resume", parsed, io);
}

/**
 * `orchestra retry RUN [--from TASK] [--param K=V]`: a new run, linked to RUN, that runs
 * TASK and everything downstream of it again (without `--from`: what did not succeed).
 */
export function retryCommand(parsed: Parsed, io: Io): Promise<number> {
  return continueRun("retry", parsed, io);
}

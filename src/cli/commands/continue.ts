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

import { resumePlan, retryPlan } from "../../orchestrator/continuation.ts";
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

type Command = "resume" | "retry";

/** Refuses what cannot be continued; returns the exit code 2 after saying why. */
async function checkContinuable(
  command: Command,
  run: RunRow,
  parsed: Parsed,
  io: Io,
): Promise<number | undefined> {
  if (!run.flowFile) {
    io.stderr(`error: run ${run.runId} does not record its flow file; it cannot be ${command}d\n`);
    return 2;
  }
  if (command === "resume" && run.status === "succeeded") {
    io.stderr(
      `error: run ${run.runId} already succeeded; "orchestra retry ${run.runId} --from TASK" ` +
        `runs part of it again as a new run\n`,
    );
    return 2;
  }
  if (command === "retry" && run.status === "running" && run.owner) {
    io.stderr(
      `error: run ${run.runId} is still running (run by ${describeOwner(run.owner)}); wait ` +
        `for it, or "orchestra cancel ${run.runId}" first\n`,
    );
    return 2;
  }
  let hash: string;
  try {
    hash = await hashFile(run.flowFile);
  } catch {
    io.stderr(`error: the flow file ${run.flowFile} of run ${run.runId} is gone\n`);
    return 2;
  }
  if (run.flowHash && hash !== run.flowHash && !parsed.values.force) {
    io.stderr(
      `error: ${run.flowFile} changed since run ${run.runId} began; ${
        command === "resume" ? "resuming" : "retrying"
      } it could mix ` +
        `results of two different flows. Run it anew, or pass --force to ${command} anyway\n`,
    );
    return 2;
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

function plan(command: Command, tasks: TaskRow[], parsed: Parsed, run: RunRow, io: Io) {
  const from = parsed.values.from;
  if (command === "resume") {
    if (from !== undefined) {
      throw new UsageError("resume", 'resume takes no --from; "orchestra retry RUN --from TASK"');
    }
    return resumePlan(tasks);
  }
  if (from === undefined) return resumePlan(tasks);
  if (typeof from !== "string" || !tasks.some((t) => t.taskId === from)) {
    io.stderr(
      `error: run ${run.runId} has no task "${from}"; its tasks: ${
        tasks.map((t) => t.taskId).join(", ")
      }\n`,
    );
    return undefined;
  }
  return retryPlan(tasks, from);
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
    const refused = await checkContinuable(command, run, parsed, io);
    if (refused !== undefined) return refused;
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

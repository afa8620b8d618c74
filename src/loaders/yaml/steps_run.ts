/**
 * Running a task's steps one after the other, as a GitHub runner runs a job's: each step's
 * `if:` decided by the steps before it, `$GITHUB_ENV` and `$GITHUB_PATH` carried to the steps
 * after it, its outputs, outcome and conclusion in `steps.<id>`, and the task's outputs
 * computed at the end.
 *
 * @module
 */

import { OrchestraError } from "../../core/errors.ts";
import type { TaskLogger } from "../../engine/types.ts";
import type { CompiledStep, CompiledTask } from "./compiled.ts";
import { evaluate, isTruthy, renderTemplate, toText } from "./expressions/mod.ts";
import { runCompiledCommand } from "./run_command.ts";
import { renderEnv, type Values } from "./values.ts";

/** A step failed, so its task failed. */
export class StepFailedError extends OrchestraError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StepFailedError";
  }
}

/** What steps run with. */
export interface StepsRun {
  /** The task. */
  task: CompiledTask;
  /** Its expression values (its `env` rendered). */
  values: Values;
  /** The environment every step starts from (host variables; the task's env is in values). */
  env: Record<string, string>;
  /** The flow file's directory: steps run there, or in their `working-directory`. */
  flowDir: string;
  /** Stops the steps. */
  signal: AbortSignal;
  /** The task's log. */
  log: TaskLogger;
  /** The run and task whose process groups the steps are. */
  owner?: { runId: string; taskId: string };
}

interface StepState {
  outputs: Record<string, string>;
  outcome: string;
  conclusion: string;
}

/** Runs the steps; resolves with the task's outputs, or throws for the first failed step. */
export async function runSteps(run: StepsRun): Promise<Record<string, unknown>> {
  const steps: Record<string, StepState> = {};
  const added: Record<string, string> = {};
  const path: string[] = [];
  const summaries: string[] = [];
  let failed: { step: CompiledStep; message: string } | undefined;
  const total = run.task.steps!.length;
  for (const step of run.task.steps!) {
    const env = { ...(run.values.env as Record<string, string>), ...added };
    const values: Values = { ...run.values, steps, env };
    values.env = { ...env, ...renderEnv(step.env, values) };
    const label = `${step.name} (step ${step.index + 1} of ${total})`;
    if (!shouldRun(step, failed !== undefined, run.signal, values)) {
      run.log.info(`skipped ${label}`, { step: step.name });
      if (step.id) steps[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      continue;
    }
    run.log.info(`▶ ${label}`, { step: step.name });
    const result = await runStep(run, step, values, path);
    const outcome = result.error === undefined ? "success" : "failure";
    const soft = outcome === "failure" &&
      (typeof step.continueOnError === "boolean"
        ? step.continueOnError
        : isTruthy(renderTemplate(step.continueOnError, { values })));
    if (step.id) {
      steps[step.id] = { outputs: result.outputs, outcome, conclusion: soft ? "success" : outcome };
    }
    Object.assign(added, result.env);
    path.unshift(...result.path.reverse());
    if (result.summary) summaries.push(result.summary);
    if (result.error !== undefined) {
      run.log.error(`${label} failed: ${result.error}`, { step: step.name });
      if (!soft) failed ??= { step, message: result.error };
    }
  }
  if (summaries.length) {
    run.log.info("step summary", { summary: summaries.join("\n\n") });
  }
  run.signal.throwIfAborted();
  if (failed) {
    throw new StepFailedError(
      `step "${failed.step.name}" (${failed.step.index + 1} of ${total}) failed: ${failed.message}`,
    );
  }
  const outputs: Record<string, unknown> = {};
  const values: Values = { ...run.values, steps };
  for (const [k, tpl] of run.task.outputs) outputs[k] = toText(renderTemplate(tpl, { values }));
  return outputs;
}

function shouldRun(
  step: CompiledStep,
  failed: boolean,
  signal: AbortSignal,
  values: Values,
): boolean {
  if (signal.aborted) return false;
  const cond = step.condition;
  if (cond === undefined) return !failed;
  if (typeof cond === "boolean") return cond && !failed;
  const called = cond.always;
  // Without failure(), always() or cancelled(), a step runs only while every step before it
  // succeeded (GitHub's implicit success() &&).
  if (!called && failed) return false;
  return isTruthy(evaluate(cond.expr, {
    values,
    functions: {
      success: () => !failed,
      failure: () => failed,
      always: () => true,
      cancelled: () => signal.aborted,
    },
  }));
}

async function runStep(
  run: StepsRun,
  step: CompiledStep,
  values: Values,
  path: string[],
): Promise<
  {
    outputs: Record<string, string>;
    env: Record<string, string>;
    path: string[];
    summary: string;
    error?: string;
  }
> {
  const timeout = step.timeoutMs === undefined ? undefined : AbortSignal.timeout(step.timeoutMs);
  const signal = timeout ? AbortSignal.any([run.signal, timeout]) : run.signal;
  const env = { ...run.env, ...(values.env as Record<string, string>) };
  if (path.length) env.PATH = [...path, env.PATH ?? ""].join(":");
  const cwd = step.workdir === undefined
    ? run.flowDir
    : step.workdir.startsWith("/")
    ? step.workdir
    : `${run.flowDir}/${step.workdir}`;
  try {
    const r = await runCompiledCommand({
      command: step.run,
      values,
      env,
      cwd,
      workspace: run.flowDir,
      signal,
      log: run.log,
      props: { step: step.name },
      what: `step "${step.name}" of task "${run.task.spec.id}"`,
      ...(run.owner ? { owner: run.owner } : {}),
    });
    return { ...r.writes, ...(r.error ? { error: r.error.message } : {}) };
  } catch (e) {
    if (run.signal.aborted || !timeout?.aborted) throw e;
    const minutes = step.timeoutMs! / 60_000;
    return {
      outputs: {},
      env: {},
      path: [],
      summary: "",
      error: `timed out after ${minutes} minute${minutes === 1 ? "" : "s"}`,
    };
  }
}

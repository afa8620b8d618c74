/**
 * Running a compiled shell command: each `${{ }}` value in a variable of its own (never in the
 * script's text), the step's files (`$GITHUB_OUTPUT`, …), the shell it asked for, and its
 * output line by line to the task's log.
 *
 * @module
 */

import { join } from "node:path";
import { CommandFailedError, logOutputLines, runShell } from "../../executors/process.ts";
import type { TaskLogger } from "../../engine/types.ts";
import { expressionParts } from "./command.ts";
import type { ShellCommand } from "./compiled.ts";
import { evaluate, toText } from "./expressions/mod.ts";
import { makeStepFiles, readStepFiles, stepFileEnv, type StepWrites } from "./github_files.ts";
import { VALUE_VARIABLE } from "./shell_script.ts";
import type { Values } from "./values.ts";

/** What a command runs with. */
export interface CommandRun {
  /** The command. */
  command: ShellCommand;
  /** What its expressions see. */
  values: Values;
  /** Its environment, without the variables of its values and files. */
  env: Record<string, string>;
  /** Where it runs. */
  cwd: string;
  /** The flow file's directory (`$GITHUB_WORKSPACE`). */
  workspace: string;
  /** Stops it. */
  signal: AbortSignal;
  /** Its output goes here, line by line. */
  log: TaskLogger;
  /** What each line is logged with, e.g. the step's name. */
  props?: Record<string, unknown>;
  /** Says what the command is, in messages: "`run` of task "build"". */
  what: string;
  /** The run and task whose process group it is (recorded, so a resume can stop it). */
  owner?: { runId: string; taskId: string };
}

/** What a command did. */
export interface CommandResult {
  /** Its standard output. */
  stdout: string;
  /** What it wrote to its files. */
  writes: StepWrites;
  /** Why it failed, if it did. */
  error?: CommandFailedError;
}

/**
 * The variables that carry a command's values: `ORCHESTRA_EXPR_<n>` for its n-th expression.
 *
 * @throws {TypeError} when a value holds a NUL character, which no variable can hold.
 */
export function valueVariables(
  command: ShellCommand,
  values: Values,
  what: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  expressionParts(command.template).forEach((part, n) => {
    const text = toText(evaluate(part.expr, { values }));
    if (text.includes("\0")) {
      throw new TypeError(
        `The value of \${{${part.source}}} in ${what} holds a NUL character, which no shell ` +
          "variable can hold; remove it from the value",
      );
    }
    out[`${VALUE_VARIABLE}${n + 1}`] = text;
  });
  return out;
}

/** Runs a command; a non-zero exit is in `error`, an abort throws. */
export async function runCompiledCommand(run: CommandRun): Promise<CommandResult> {
  const { command } = run;
  const env: Record<string, string> = {
    ...run.env,
    ...valueVariables(command, run.values, run.what),
    GITHUB_WORKSPACE: run.workspace,
  };
  const files = await makeStepFiles();
  Object.assign(env, stepFileEnv(files));
  let script = command.script;
  if (command.shell.command !== "sh -c") {
    const file = join(files.dir, "script");
    await Deno.writeTextFile(file, command.script, { mode: 0o600 });
    env.ORCHESTRA_SCRIPT = file;
    script = command.shell.command.replaceAll("{0}", '"$ORCHESTRA_SCRIPT"');
  }
  run.log.debug(`$ ${command.script}`, run.props);
  const props = run.props;
  // The first lines of each command go to the log (with its step, when it is one).
  const onLine = logOutputLines(
    props ? { info: (m, p) => run.log.info(m, { ...p, ...props }) } : run.log,
  );
  let stdout = "";
  let error: CommandFailedError | undefined;
  try {
    stdout = await runShell(script, {
      cwd: run.cwd,
      env,
      signal: run.signal,
      onLine,
      ...(run.owner ? { owner: run.owner } : {}),
    });
  } catch (e) {
    if (!(e instanceof CommandFailedError)) {
      await readStepFiles(files).catch(() => {});
      throw e;
    }
    error = e;
  }
  const writes = await readStepFiles(files);
  return { stdout, writes, ...(error ? { error } : {}) };
}

/**
 * Compiling a shell command (`run:`, a step, the `shell` plugin's `command`): which shell runs
 * it, where each `${{ }}` stands, the positions refused, and the script that runs instead, in
 * which every value is a reference to a variable (see `shell_context.ts`).
 *
 * @module
 */

import type { Checker, Scope } from "./checker.ts";
import type { ShellChoice, ShellCommand } from "./compiled.ts";
import type { Template, TemplatePart } from "./expressions/mod.ts";
import { scanCommand } from "./shell_context.ts";
import { REFUSED, shellScript } from "./shell_script.ts";
import type { TaskSpec } from "./spec.ts";
import type { YamlPath } from "./source.ts";

/** A task's default: `sh -c`, as Orchestra always ran commands. */
export const TASK_SHELL: ShellChoice = { command: "sh -c", posix: true, name: "sh -c" };

/** A GitHub job's default: `bash -e`, or `sh -e` where there is no bash (as on a runner). */
export const JOB_SHELL: ShellChoice = {
  command: "if command -v bash >/dev/null 2>&1; then exec bash -e {0}; else exec sh -e {0}; fi",
  posix: true,
  name: "bash -e",
};

const NAMED: Record<string, ShellChoice> = {
  sh: { command: "exec sh -e {0}", posix: true, name: "sh" },
  bash: { command: "exec bash --noprofile --norc -eo pipefail {0}", posix: true, name: "bash" },
  python: { command: "exec python {0}", posix: false, name: "python" },
};

const POSIX_SHELLS = /^(?:exec\s+)?(?:\/\S*\/)?(sh|bash|dash|zsh|ksh|ash)(\s|$)/;

/**
 * The shell named by `shell:` (`sh`, `bash`, `python`, or a command with `{0}` for the script's
 * file), or a problem with it.
 *
 * @example
 * ```ts
 * import { shellChoice } from "./command.ts";
 * console.assert((shellChoice("bash") as { posix: boolean }).posix);
 * console.assert(typeof shellChoice("pwsh") === "string");
 * ```
 */
export function shellChoice(name: string): ShellChoice | string {
  const trimmed = name.trim();
  if (Object.hasOwn(NAMED, trimmed)) return NAMED[trimmed];
  if (["pwsh", "powershell", "cmd"].includes(trimmed)) {
    return `shell "${trimmed}" is not supported here`;
  }
  if (!trimmed.includes("{0}")) {
    return `shell "${trimmed}" must be sh, bash, python, or a command with {0} for the script file`;
  }
  return { command: `exec ${trimmed}`, posix: POSIX_SHELLS.test(trimmed), name: trimmed };
}

/**
 * Compiles `text` (at `path`) to run with `shell`: checks its expressions, refuses those that
 * stand where a value would be code, and builds the script. `what` names it in messages
 * ("`run` of task "build"").
 */
export function compileCommand(
  checker: Checker,
  text: string,
  path: YamlPath,
  scope: Scope,
  shell: ShellChoice,
  what: string,
): ShellCommand | undefined {
  const template = checker.template(text, path, scope);
  if (!template) return undefined;
  const t = scope.task;
  const source = scope.source ?? t?.source ?? checker.spec.source;
  const spots = scanCommand(text, expressionParts(template));
  if (!shell.posix) {
    for (const spot of spots) {
      checker.issueAt(
        t,
        source.locateInString(path, spot.offset),
        `An expression in ${what} cannot stand in a ${shell.name} script`,
        'pass it through `env:` and read the variable in the script (os.environ["NAME"])',
      );
    }
    return { text, template, spots: [], script: text, shell };
  }
  for (const spot of spots) {
    const refused = REFUSED[spot.position];
    if (!refused) continue;
    checker.issueAt(
      t,
      source.locateInString(path, spot.offset),
      `An expression inside ${refused.within} in ${what}: ${refused.why}`,
      refused.hint,
    );
  }
  return { text, template, spots, script: shellScript(text, spots), shell };
}

/** The `${{ … }}` parts of a template, in order. */
export function expressionParts(template: Template): TemplatePart[] {
  return template.parts.filter((p): p is TemplatePart => typeof p !== "string");
}

/** The shell a task's (or step's) command runs with: its own, the defaults', or the default. */
export function shellOf(
  checker: Checker,
  t: TaskSpec,
  own: string | undefined,
  path: (string | number)[],
): ShellChoice {
  const name = own ?? t.fields.shell ?? t.runDefaults?.shell;
  if (name === undefined) return t.job ? JOB_SHELL : TASK_SHELL;
  const choice = shellChoice(name);
  if (typeof choice !== "string") return choice;
  const where = own !== undefined
    ? path
    : t.fields.shell !== undefined
    ? [...t.path, "shell"]
    : t.path;
  checker.issueAt(
    t,
    t.source.locate(where),
    `Task "${t.id}": ${choice}`,
    "use sh, bash, python, or e.g. `perl {0}`",
  );
  return TASK_SHELL;
}

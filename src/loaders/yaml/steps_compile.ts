/**
 * Compiling a task's `steps:` (a GitHub job's): each a `run:` command with its id, name, env,
 * condition, shell, directory and time limit; its expressions may read the steps before it.
 *
 * @module
 */

import type { Checker, Scope } from "./checker.ts";
import { compileCommand, shellOf } from "./command.ts";
import type { CompiledStep } from "./compiled.ts";
import { actionHint } from "./github.ts";
import type { TaskSpec } from "./spec.ts";

/** Compiles the steps of `t`. */
export function compileSteps(checker: Checker, t: TaskSpec, scope: Scope): CompiledStep[] {
  const out: CompiledStep[] = [];
  const ids: string[] = [];
  const what = t.job ? "job" : "task";
  (t.fields.steps ?? []).forEach((step, index) => {
    if (step.id !== undefined && ids.includes(step.id)) {
      checker.issueAt(
        t,
        t.source.locate([...t.path, "steps", index, "id"]),
        `Two steps of ${what} "${t.id}" have the id "${step.id}"`,
        "give each step a unique id",
      );
    }
    const compiled = compileStep(checker, t, index, { ...scope, steps: [...ids] });
    if (step.id !== undefined) ids.push(step.id);
    if (compiled) out.push(compiled);
  });
  if ((t.fields.steps ?? []).length === 0) {
    checker.issueAt(
      t,
      t.source.locate([...t.path, "steps"]),
      `${what === "job" ? "Job" : "Task"} "${t.id}" has no steps`,
      "add a step with `run:`",
    );
  }
  return out;
}

/** Compiles step `index` of `t`; `scope.steps` holds the ids of the steps before it. */
function compileStep(
  checker: Checker,
  t: TaskSpec,
  index: number,
  scope: Scope,
): CompiledStep | undefined {
  const step = t.fields.steps![index];
  const what = t.job ? "job" : "task";
  const path = [...t.path, "steps", index];
  const name = step.name ?? (step.run ? `Run ${firstLine(step.run)}` : `step ${index + 1}`);
  const shown = step.name ?? step.id ?? `${index + 1}`;
  const stepScope: Scope = {
    ...scope,
    place: "step",
    env: Object.keys(step.env ?? {}),
    what: `step "${shown}" of ${what} "${t.id}"`,
  };
  if (step.uses !== undefined) {
    checker.issueAt(
      t,
      t.source.locate([...path, "uses"]),
      `Step "${shown}" of ${what} "${t.id}" uses the GitHub action "${step.uses}", which ` +
        "cannot run here",
      actionHint(step.uses),
    );
    return undefined;
  }
  if (step.with !== undefined) {
    checker.issueAt(
      t,
      t.source.locateKey(path, "with"),
      `Step "${shown}" of ${what} "${t.id}" has \`with\` but no \`uses\``,
      "`with` gives an action its inputs; a `run:` step takes `env:`",
    );
  }
  if (step.run === undefined) {
    checker.issueAt(
      t,
      t.source.locate(path),
      `Step "${shown}" of ${what} "${t.id}" has no \`run\``,
      "add `run: <command>`",
    );
    return undefined;
  }
  const shell = shellOf(checker, t, step.shell, [...path, "shell"]);
  const run = compileCommand(
    checker,
    step.run,
    [...path, "run"],
    stepScope,
    shell,
    `step "${shown}" of ${what} "${t.id}"`,
  );
  if (!run) return undefined;
  const compiled: CompiledStep = { index, name, run, env: [], continueOnError: false };
  if (step.id !== undefined) compiled.id = step.id;
  for (const [k, v] of Object.entries(step.env ?? {})) {
    const envScope: Scope = { ...stepScope, place: "step-env", env: [] };
    const tpl = checker.template(String(v), [...path, "env", k], envScope);
    if (tpl) compiled.env.push([k, tpl]);
  }
  if (step.if !== undefined) {
    const cond = checker.condition(step.if, [...path, "if"], { ...stepScope, place: "step-if" });
    if (cond !== undefined) compiled.condition = cond;
  }
  const coe = step["continue-on-error"];
  if (typeof coe === "string") {
    compiled.continueOnError = checker.template(coe, [...path, "continue-on-error"], stepScope) ??
      false;
  } else if (coe !== undefined) compiled.continueOnError = coe;
  const dir = step["working-directory"] ?? t.fields["working-directory"] ??
    t.runDefaults?.["working-directory"];
  if (dir !== undefined) compiled.workdir = dir;
  if (step["timeout-minutes"] !== undefined) compiled.timeoutMs = step["timeout-minutes"] * 60_000;
  return compiled;
}

function firstLine(text: string): string {
  const line = text.trim().split("\n")[0];
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

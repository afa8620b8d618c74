/**
 * Hints that translate: where a word from GitHub Actions (or Dagu, Compose, Chestra) is wrong
 * here, the error names the word that is right, and why, instead of a generic did-you-mean.
 * These are the hints for keys; those for contexts (`github.run_id`, `matrix` without a
 * matrix, …) are in `expressions/contexts.ts`.
 *
 * @module
 */

import { suggest } from "../../core/suggest.ts";

/** Where a key is written. */
export type KeyPlace = "flow" | "task" | "defaults" | "workflow" | "job" | "step" | "chestra";

/** What to say about a key that is wrong where it is written. */
export interface KeyHint {
  /** The key that is right here, if there is one. */
  instead?: string;
  /** Why, and what to do. */
  hint: string;
}

const NEEDS = { instead: "needs", hint: "`needs:` lists the tasks that must finish first" };
const RUN = { instead: "run", hint: "`run:` is the shell command" };
const CONTINUE = {
  instead: "continue-on-error",
  hint: "`continue-on-error: true` lets the flow go on when the task fails",
};
const WORKDIR = {
  instead: "working-directory",
  hint: "`working-directory:` is relative to the flow file",
};
const IF = { instead: "if", hint: "`if:` takes an expression, e.g. ${{ params.deploy }}" };

const TASK: Record<string, KeyHint> = {
  "runs-on": {
    hint: "`runs-on` picks a GitHub runner; Orchestra runs tasks on this machine: remove it " +
      "(a GitHub workflow file with `jobs:` accepts and ignores it)",
  },
  matrix: {
    instead: "strategy",
    hint: "a matrix goes under `strategy: { matrix: … }` (read ${{ matrix.key }}); for one " +
      "list, `foreach:` runs the task per item (read ${{ item }})",
  },
  "fail-fast": { instead: "strategy", hint: "write it as `strategy: { fail-fast: … }`" },
  "max-parallel": {
    instead: "strategy",
    hint: "write it as `strategy: { max-parallel: … }`; with `foreach:`, use `concurrency:`",
  },
  timeout_minutes: { instead: "timeout-minutes", hint: "minutes, as in GitHub Actions" },
  timeoutMinutes: { instead: "timeout-minutes", hint: "minutes, as in GitHub Actions" },
  continue_on_error: CONTINUE,
  continueOnError: CONTINUE,
  depends_on: NEEDS,
  "depends-on": NEEDS,
  dependsOn: NEEDS,
  depends: NEEDS,
  after: NEEDS,
  requires: NEEDS,
  inputs: {
    instead: "needs",
    hint: "tasks wait for tasks through `needs:` (Chestra's signals are `inputs:` only inside " +
      "`workflow:`); a plugin's params go under `with:`",
  },
  cmd: RUN,
  command: RUN,
  script: RUN,
  plugin: { instead: "uses", hint: "`uses:` names the plugin, `with:` holds its params" },
  params: { instead: "with", hint: "a plugin's params go under `with:`" },
  parallelism: { instead: "concurrency", hint: "with `foreach:`, the most items at once" },
  retry: { instead: "retries", hint: "a number of extra attempts, or { attempts, delay, … }" },
  when: IF,
  condition: IF,
  environment: {
    instead: "env",
    hint: "`env:` sets variables; GitHub's `environment` is a deployment target",
  },
  working_directory: WORKDIR,
  workdir: WORKDIR,
  cwd: WORKDIR,
  dir: WORKDIR,
};

const FLOW: Record<string, KeyHint> = {
  jobs: {
    hint: "a file has either `tasks:` (Orchestra's form) or `jobs:` (a GitHub Actions " +
      "workflow), not both",
  },
  on: {
    instead: "schedule",
    hint: "`on:` belongs to a GitHub workflow file (with `jobs:`); here, `schedule:` gives cron " +
      "entries and `params:` the inputs",
  },
  inputs: { instead: "params", hint: "`params:` declares the flow's inputs" },
  parameters: { instead: "params", hint: "`params:` declares the flow's inputs" },
  vars: { instead: "env", hint: "`env:` sets variables for every task" },
  steps: { instead: "tasks", hint: "a flow's work goes under `tasks:` (a task may have steps)" },
  workflow: { hint: "Chestra's `workflow:` form stands alone: its tasks go under workflow.tasks" },
  timeout: { instead: "defaults", hint: "write `defaults: { timeout: … }` for every task" },
  retries: { instead: "defaults", hint: "write `defaults: { retries: … }` for every task" },
};

const JOB: Record<string, KeyHint> = {
  timeout: { instead: "timeout-minutes", hint: "a GitHub job's time limit is in minutes" },
  foreach: { instead: "strategy", hint: "a job runs per item with `strategy: { matrix: … }`" },
  retries: {
    hint: "GitHub jobs have no retries; a `tasks:` flow has `retries:` (a task may have steps)",
  },
  run: { instead: "steps", hint: "a job's commands are steps: `steps: [{ run: … }]`" },
  tasks: { instead: "steps", hint: "a job's commands are `steps:`" },
  ...Object.fromEntries(
    ["depends_on", "depends-on", "dependsOn", "after"].map((k) => [k, NEEDS]),
  ),
  continue_on_error: CONTINUE,
  timeout_minutes: { instead: "timeout-minutes", hint: "minutes, as in GitHub Actions" },
};

const STEP: Record<string, KeyHint> = {
  needs: { hint: "steps run in order; `needs:` belongs to the job" },
  timeout: { instead: "timeout-minutes", hint: "a step's time limit is in minutes" },
  outputs: {
    hint: 'a step sets outputs by writing name=value lines to "$GITHUB_OUTPUT"; a job or task ' +
      "lists its outputs under `outputs:`",
  },
  retries: { hint: "steps are not retried on their own; give the task `retries:`" },
  continue_on_error: CONTINUE,
  working_directory: WORKDIR,
  cwd: WORKDIR,
  cmd: RUN,
  command: RUN,
  script: RUN,
};

const WORKFLOW: Record<string, KeyHint> = {
  tasks: {
    hint: "a file has either `jobs:` (a GitHub workflow) or `tasks:` (Orchestra's form), not both",
  },
  params: {
    instead: "on",
    hint: "a GitHub workflow declares params as `on: { workflow_dispatch: { inputs: … } }`",
  },
  schedule: { instead: "on", hint: "a GitHub workflow's schedule is `on: { schedule: … }`" },
  timeout: { instead: "jobs", hint: "give each job `timeout-minutes:`" },
};

const PLACES: Record<KeyPlace, Record<string, KeyHint>> = {
  flow: FLOW,
  task: TASK,
  defaults: { ...TASK, run: { hint: "`defaults.run` takes { shell, working-directory }" } },
  workflow: WORKFLOW,
  job: JOB,
  step: STEP,
  chestra: {
    tasks: { hint: "Chestra's tasks go under `workflow.tasks`" },
    needs: { instead: "inputs", hint: "in Chestra's form a task waits for signals (`inputs:`)" },
    uses: { instead: "plugin", hint: "in Chestra's form a task names its `plugin:`" },
    with: { instead: "params", hint: "in Chestra's form a plugin's params are `params:`" },
  },
};

/**
 * What to say about `key`, which is not accepted at `place`: a translation when the word
 * belongs to another vocabulary, otherwise a did-you-mean among `known` (never the key itself).
 *
 * @example
 * ```ts
 * import { keyHint } from "./hints.ts";
 * console.assert(keyHint("depends_on", "task", ["needs"])?.instead === "needs");
 * console.assert(keyHint("timeout", "job", ["timeout-minutes"])?.instead === "timeout-minutes");
 * console.assert(keyHint("nedds", "task", ["needs", "run"])?.instead === "needs");
 * console.assert(keyHint("tasks", "chestra", ["tasks", "workflow"])?.instead === undefined);
 * ```
 */
export function keyHint(
  key: string,
  place: KeyPlace,
  known: readonly string[],
): KeyHint | undefined {
  const table = PLACES[place];
  if (Object.hasOwn(table, key)) return table[key];
  const close = suggest(key, known.filter((k) => k !== key));
  return close === undefined
    ? undefined
    : { instead: close, hint: `known keys: ${known.join(", ")}` };
}

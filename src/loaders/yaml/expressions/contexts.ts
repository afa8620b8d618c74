/**
 * Which contexts an expression may read where, in a YAML flow — GitHub's "context
 * availability" table, for Orchestra's contexts — and what to say when one is used where it
 * does not exist (in GitHub's words where a GitHub user would reach for one).
 *
 * @module
 */

/**
 * A place in a flow file that holds expressions:
 *
 * - `flow-env`: the flow's `env:` values (set before any task runs);
 * - `task`: a task's `run:`, `with:` and `cache.key`;
 * - `env`: a task's `env:` values;
 * - `foreach`: a task's `foreach:` (evaluated once, before the items exist);
 * - `if`: a task's `if:` (evaluated before the task, and before its items exist);
 * - `outputs`: a task's `outputs:` (computed from its own `result`, or its steps);
 * - `name`: the `name:` of the flow or of a task (shown in logs, the view and the record);
 * - `strategy`: a task's `strategy.matrix` and `fail-fast` (expanded when the run starts);
 * - `continue-on-error`: a task's `continue-on-error` expression (decided per leg);
 * - `step`, `step-env`, `step-if`: a step's `run:` (and `continue-on-error`), `env:` and `if:`.
 */
export type Place =
  | "flow-env"
  | "task"
  | "env"
  | "foreach"
  | "if"
  | "outputs"
  | "name"
  | "strategy"
  | "continue-on-error"
  | "step"
  | "step-env"
  | "step-if";

/** What a task (and its file) has that decides which contexts exist in it. */
export interface TaskShape {
  /** Whether it has `foreach:` (then `item` and `index` exist in it). */
  foreach?: boolean;
  /** Whether it has a matrix (then `matrix` and `strategy` exist in it). */
  matrix?: boolean;
  /** Whether it has `steps:` (then its `outputs:` read `steps`, not `result`). */
  steps?: boolean;
  /** Whether the file is a GitHub workflow (`jobs:`): then `inputs` is `params`. */
  workflow?: boolean;
}

// What every task-level place may read, before what the task's shape adds. `event`: what
// started the run (a webhook's JSON body under orchestra serve; {} otherwise).
const TASK = ["params", "tasks", "needs", "env", "secrets", "run", "runner", "event"];

/**
 * The context names an expression at `place` may start with.
 *
 * @example
 * ```ts
 * import { contextsAt } from "./contexts.ts";
 * console.assert(contextsAt("task", { foreach: true }).includes("item"));
 * console.assert(!contextsAt("if", { foreach: true }).includes("item"));
 * console.assert(contextsAt("outputs").join() === "result,params,run");
 * console.assert(contextsAt("step", { matrix: true }).includes("steps"));
 * ```
 */
export function contextsAt(place: Place, task: TaskShape = {}): string[] {
  const items = task.foreach ? ["item", "index"] : [];
  const matrix = task.matrix ? ["matrix", "strategy"] : [];
  const inputs = task.workflow ? ["inputs"] : [];
  switch (place) {
    case "flow-env":
      return ["params", "secrets", "run", "event", ...inputs];
    case "task":
      return [...TASK, ...items, ...matrix, ...inputs];
    case "env":
      return [...TASK.filter((c) => c !== "env"), ...items, ...matrix, ...inputs];
    case "foreach":
    case "if":
      return [...TASK, ...matrix, ...inputs];
    case "outputs":
      return task.steps
        ? ["steps", "params", "run", "env", "needs", "runner", ...matrix, ...inputs]
        : ["result", "params", "run", ...matrix, ...inputs];
    case "name":
      return ["params", "run", ...matrix, ...inputs];
    case "strategy":
      return ["params", ...inputs];
    case "continue-on-error":
      return ["params", ...matrix, ...inputs];
    case "step":
    case "step-env":
    case "step-if":
      return [...TASK, "steps", ...items, ...matrix, ...inputs];
  }
}

/**
 * Whether the status functions (`success()`, `failure()`, `always()`, `cancelled()`) may be
 * called at `place`: only in `if:` (a task's or a step's), as on GitHub.
 */
export function statusFunctionsAt(place: Place): boolean {
  return place === "if" || place === "step-if";
}

const WHERE: Record<Place, string> = {
  "flow-env": "the flow's `env:` (set before any task runs)",
  task: "a task's `run:` and `with:`",
  env: "a task's `env:`",
  foreach: "`foreach:` (evaluated once, before the items exist)",
  if: "`if:` (evaluated before the task and its items)",
  outputs: "`outputs:`",
  name: "`name:` (shown in logs, the view and the run record)",
  strategy: "`strategy:` (expanded when the run starts, before any task ran)",
  "continue-on-error": "`continue-on-error` (decided before the task runs)",
  step: "a step's `run:`",
  "step-env": "a step's `env:`",
  "step-if": "a step's `if:`",
};

/** What to say about a name an expression may not use where it stands. */
export interface Missing {
  /** What is wrong. */
  message: string;
  /** How to fix it ("" when there is nothing more to say). */
  hint: string;
}

// GitHub's contexts that Orchestra does not have, with what to use instead.
const FOREIGN: Record<string, Missing> = {
  github: {
    message: 'Orchestra has no "github" context',
    hint: "use run.id for github.run_id, params.<name> (or inputs.<name>) for " +
      "github.event.inputs.<name>, env.<name> for variables",
  },
  vars: {
    message: 'Orchestra has no "vars" context',
    hint: "declare values under `env:` (read env.NAME) or `params:` (read params.NAME)",
  },
  job: {
    message: 'Orchestra has no "job" context',
    hint: "read upstream jobs as needs.<id>.result and needs.<id>.outputs.<name>",
  },
  jobs: {
    message: 'Orchestra has no "jobs" context',
    hint: "read upstream jobs as needs.<id>.result and needs.<id>.outputs.<name>",
  },
};

/**
 * Why `root` cannot be read at `place`, with how to fix it: for a context Orchestra knows but
 * not there, and for GitHub's contexts Orchestra does not have (`github`, `vars`, `job`);
 * `undefined` when `root` is available there, or is no context anyone knows.
 *
 * @example
 * ```ts
 * import { explainMissing } from "./contexts.ts";
 * const why = explainMissing("item", "task", {});
 * console.assert(why?.message === '"item" is only available in a task with foreach');
 * console.assert(explainMissing("params", "task") === undefined);
 * console.assert(explainMissing("github", "task")?.hint.includes("run.id"));
 * ```
 */
export function explainMissing(
  root: string,
  place: Place,
  task: TaskShape = {},
): Missing | undefined {
  const name = root.toLowerCase();
  if (contextsAt(place, task).includes(name)) return undefined;
  if (Object.hasOwn(FOREIGN, name)) return FOREIGN[name];
  const notHere = `"${root}" is not available in ${WHERE[place]}`;
  switch (name) {
    case "item":
    case "index":
      if (!task.foreach) {
        return {
          message: `"${root}" is only available in a task with foreach`,
          hint: task.matrix
            ? "a matrix leg reads its values as matrix.<key>"
            : "add `foreach:` to the task, or use another value",
        };
      }
      return {
        message: notHere,
        hint: "`item` and `index` exist in `run:`, `with:` and `env:` of a foreach task",
      };
    case "matrix":
    case "strategy":
      if (!task.matrix) {
        return {
          message: `"${root}" is only available in a task with strategy.matrix`,
          hint: "add `strategy: { matrix: … }`, or for one list use `foreach:` and ${{ item }}",
        };
      }
      return { message: notHere, hint: "a matrix may read only params, which it is made of" };
    case "steps":
      return {
        message: '"steps" is only available inside a task\'s steps (and its outputs)',
        hint:
          "read another task's outputs as tasks.<id>.outputs.<name> or needs.<id>.outputs.<name>",
      };
    case "inputs":
      return task.workflow
        ? { message: notHere, hint: "" }
        : { message: '"inputs" exists in GitHub workflow files', hint: "use params.<name>" };
    case "secrets":
    case "tasks":
    case "needs":
    case "env":
      return { message: notHere, hint: readHint(name, place) };
    case "result":
      if (task.steps && place === "outputs") {
        return {
          message: `"${root}" is not available in the \`outputs:\` of a task with steps`,
          hint: "a task with steps computes its outputs from steps.<id>.outputs.<name>",
        };
      }
      return {
        message: `"${root}" is only available in \`outputs:\``,
        hint: "read another task's result as tasks.<id>.result",
      };
    case "params":
    case "run":
    case "runner":
      return { message: notHere, hint: "" };
  }
  return undefined;
}

// Where `secrets`, `tasks`, `needs` and `env` can be read instead of `place`.
function readHint(name: string, place: Place): string {
  switch (name) {
    case "secrets":
      return place === "name"
        ? "a name is shown everywhere; keep secrets in `env:` or `with:` of the task that uses them"
        : "read secrets in the `run:`, `with:` or `env:` of the task that uses them";
    case "env":
      return place === "env"
        ? "an `env:` value cannot read `env`; write the value itself, or read params or secrets"
        : "read `env` in a task's `run:`, `with:` or `if:`";
  }
  if (place === "outputs") return "outputs are computed from the task's own `result`";
  if (place === "strategy") {
    return "a matrix is expanded when the run starts; for a list a task computes, use " +
      "`foreach:` (read ${{ item }})";
  }
  return "read other tasks' results in a task's `run:`, `with:`, `env:` or `if:`";
}

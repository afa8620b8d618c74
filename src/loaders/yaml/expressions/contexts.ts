/**
 * Which contexts an expression may read where, in a YAML flow — GitHub's "context
 * availability" table, for Orchestra's contexts — and what to say when one is used where it
 * does not exist.
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
 * - `outputs`: a task's `outputs:` (computed from its own `result`);
 * - `name`: the `name:` of the flow or of a task (shown in logs, the view and the record).
 */
export type Place = "flow-env" | "task" | "env" | "foreach" | "if" | "outputs" | "name";

/** What a task has that decides which contexts exist in it. */
export interface TaskShape {
  /** Whether it has `foreach:` (then `item` and `index` exist in it). */
  foreach?: boolean;
  /** Whether it has a matrix (then `matrix` exists in it). */
  matrix?: boolean;
}

/**
 * The context names an expression at `place` may start with.
 *
 * @example
 * ```ts
 * import { contextsAt } from "./contexts.ts";
 * console.assert(contextsAt("task", { foreach: true }).includes("item"));
 * console.assert(!contextsAt("if", { foreach: true }).includes("item"));
 * console.assert(contextsAt("outputs").join() === "result,params,run");
 * ```
 */
export function contextsAt(place: Place, task: TaskShape = {}): string[] {
  const items = task.foreach ? ["item", "index"] : [];
  const matrix = task.matrix ? ["matrix"] : [];
  switch (place) {
    // `event`: what started the run (a webhook's JSON body under orchestra serve; {} otherwise).
    case "flow-env":
      return ["params", "secrets", "run", "event"];
    case "task":
      return ["params", "tasks", "env", "secrets", "run", "event", ...items, ...matrix];
    case "env":
      return ["params", "tasks", "secrets", "run", "event", ...items, ...matrix];
    case "foreach":
      return ["params", "tasks", "env", "secrets", "run", "event", ...matrix];
    case "if":
      return ["params", "tasks", "env", "secrets", "run", "event", ...matrix];
    case "outputs":
      return ["result", "params", "run"];
    case "name":
      return ["params", "run", ...matrix];
  }
}

/**
 * Whether the status functions (`success()`, `failure()`, `always()`, `cancelled()`) may be
 * called at `place`: only in `if:`, as on GitHub.
 */
export function statusFunctionsAt(place: Place): boolean {
  return place === "if";
}

const WHERE: Record<Place, string> = {
  "flow-env": "the flow's `env:` (set before any task runs)",
  task: "a task's `run:` and `with:`",
  env: "a task's `env:`",
  foreach: "`foreach:` (evaluated once, before the items exist)",
  if: "`if:` (evaluated before the task and its items)",
  outputs: "`outputs:`",
  name: "`name:` (shown in logs, the view and the run record)",
};

/**
 * Why `root`, a context Orchestra knows, cannot be read at `place`, with how to fix it; or
 * `undefined` when `root` is no context of Orchestra's (an unknown name) or is available.
 *
 * @example
 * ```ts
 * import { explainMissing } from "./contexts.ts";
 * const why = explainMissing("item", "task", {});
 * console.assert(why?.message === '"item" is only available in a task with foreach');
 * console.assert(explainMissing("params", "task") === undefined);
 * ```
 */
export function explainMissing(
  root: string,
  place: Place,
  task: TaskShape = {},
): { message: string; hint: string } | undefined {
  const name = root.toLowerCase();
  if (contextsAt(place, task).includes(name)) return undefined;
  switch (name) {
    case "item":
    case "index":
      if (!task.foreach) {
        return {
          message: `"${root}" is only available in a task with foreach`,
          hint: "add `foreach:` to the task, or use another value",
        };
      }
      return {
        message: `"${root}" is not available in ${WHERE[place]}`,
        hint: "`item` and `index` exist in `run:`, `with:` and `env:` of a foreach task",
      };
    case "matrix":
      return {
        message: `"${root}" is only available in a task with a matrix`,
        hint: "to run a task once per value, give it `foreach:` and read the value as `item`",
      };
    case "secrets":
      return {
        message: `"${root}" is not available in ${WHERE[place]}`,
        hint: place === "name"
          ? "a name is shown everywhere; keep secrets in `env:` or `with:` of the task that uses them"
          : "read secrets in the `run:`, `with:` or `env:` of the task that uses them",
      };
    case "tasks":
      return {
        message: `"${root}" is not available in ${WHERE[place]}`,
        hint: place === "outputs"
          ? "outputs are computed from the task's own `result`"
          : "read other tasks' results in a task's `run:`, `with:`, `env:` or `if:`",
      };
    case "env":
      return {
        message: `"${root}" is not available in ${WHERE[place]}`,
        hint: place === "env"
          ? "an `env:` value cannot read `env`; write the value itself, or read params or secrets"
          : "read `env` in a task's `run:`, `with:` or `if:`",
      };
    case "result":
      return {
        message: `"${root}" is only available in \`outputs:\``,
        hint: "read another task's result as tasks.<id>.result",
      };
    case "params":
    case "run":
      return { message: `"${root}" is not available in ${WHERE[place]}`, hint: "" };
  }
  return undefined;
}

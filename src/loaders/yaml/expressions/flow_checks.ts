/**
 * The checks of an expression against the flow it is written in: the names it reads exist
 * where it is written (a declared param, an upstream task, a declared output, an `env`
 * variable…), and the checks beyond GitHub's of `lint.ts`, with the types the flow declares.
 * Names are compared as GitHub compares them, without regard to case.
 *
 * @module
 */

import type { ParamSpec, ParamType } from "../../../core/params.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { checkExpression, type ExpressionIssue, type Reference, references } from "./analyze.ts";
import type { Expr } from "./ast.ts";
import {
  contextsAt,
  explainMissing,
  type Place,
  statusFunctionsAt,
  type TaskShape,
} from "./contexts.ts";
import { STATUS_FUNCTIONS } from "./functions.ts";
import { comparisonIssues, containerInText, type StaticType, type TypeOf } from "./lint.ts";
import type { Template } from "./template.ts";

/** What a flow declares that expressions may read. */
export interface FlowFacts {
  /** The flow's `params:` (a GitHub workflow's `on.workflow_dispatch.inputs`), if any. */
  params?: Record<string, ParamSpec | ParamType>;
  /** The names of the flow's `env:`. */
  env: readonly string[];
  /**
   * Each task: its id, the names of its `outputs:` (and those its command writes to
   * `$GITHUB_OUTPUT`), and whether others may appear when it runs (a JSON result).
   */
  tasks: readonly { id: string; outputs: readonly string[]; open?: boolean }[];
}

/** Where an expression is written. */
export interface Site {
  /** The kind of place (see {@linkcode Place}). */
  place: Place;
  /** The task it belongs to, unless it is the flow's own (`env:`, `name:`). */
  task?: {
    /** The task's id. */
    id: string;
    /** The names of its `env:` (and, inside a step, of the step's). */
    env: readonly string[];
    /** What decides which contexts exist in it. */
    shape: TaskShape;
    /** The tasks in its `needs:`: what `needs.<id>` may name. */
    needs?: readonly string[];
    /** The keys a matrix leg has, when they are all written out. */
    matrixKeys?: readonly string[];
    /** Inside steps: the ids of the steps before this one, what `steps.<id>` may name. */
    steps?: readonly string[];
  };
  /** Whether the file is a GitHub workflow (`inputs` is then `params`). */
  workflow?: boolean;
}

/** A problem found by {@linkcode checkAgainstFlow}. */
export interface FlowIssue extends ExpressionIssue {
  /** `warning` for an expression that runs but is likely wrong; `error` otherwise. */
  severity: "error" | "warning";
}

/** What {@linkcode checkAgainstFlow} found. */
export interface FlowCheck {
  /** The problems, in source order. */
  issues: FlowIssue[];
  /** The declared params it reads, named as declared. */
  params: string[];
  /** The secrets it reads, as written. */
  secrets: string[];
  /**
   * The tasks it reads (their ids as declared), where, and whether it reads their status
   * (`tasks.X.status`, `needs.X.result`) outside a task's `if:`.
   */
  tasks: { id: string; start: number; status: boolean }[];
}

function find(names: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower);
}

function paramType(spec: ParamSpec | ParamType | undefined): StaticType | undefined {
  const type = typeof spec === "string" ? spec : spec?.type;
  switch (type) {
    case "integer":
    case "number":
      return "number";
    case "string":
    case "boolean":
    case "array":
    case "object":
      return type;
  }
  return undefined;
}

function shapeOf(site: Site): TaskShape {
  return { ...site.task?.shape, ...(site.workflow ? { workflow: true } : {}) };
}

/**
 * The types the flow's declarations give to what an expression at `site` reads: params by
 * their declared type, `env`, `secrets`, `run.id` and task statuses as text, `index` as a
 * number.
 */
export function typesIn(facts: FlowFacts, site: Site): TypeOf {
  const available = contextsAt(site.place, shapeOf(site));
  return (ref: Reference): StaticType | undefined => {
    const root = ref.root.toLowerCase();
    if (!available.includes(root) || ref.filtered) return undefined;
    const [first, second, third] = ref.path;
    switch (root) {
      case "params":
      case "inputs": {
        if (ref.path.length !== 1 || typeof first !== "string" || !facts.params) return undefined;
        const name = find(Object.keys(facts.params), first);
        return name === undefined ? undefined : paramType(facts.params[name]);
      }
      case "env":
      case "secrets":
        return ref.path.length === 1 ? "string" : undefined;
      case "run":
        return ref.path.length === 1 && String(first).toLowerCase() === "id" ? "string" : undefined;
      case "index":
        return ref.path.length === 0 ? "number" : undefined;
      case "tasks":
      case "needs": {
        const member = root === "tasks" ? "status" : "result";
        return ref.path.length === 2 && String(second).toLowerCase() === member &&
            third === undefined
          ? "string"
          : undefined;
      }
    }
    return undefined;
  };
}

// An unknown name, a context used where it does not exist, a status function outside `if:`.
function nameIssues(expr: Expr, site: Site): FlowIssue[] {
  const shape = shapeOf(site);
  const status = statusFunctionsAt(site.place);
  const found = checkExpression(expr, {
    roots: contextsAt(site.place, shape),
    functions: status ? STATUS_FUNCTIONS : [],
  });
  return found.map((p) => {
    const name = /^Unknown name "(.*?)"/.exec(p.message)?.[1];
    const why = name === undefined ? undefined : explainMissing(name, site.place, shape);
    if (why) {
      return {
        ...p,
        message: why.message,
        ...(why.hint ? { hint: why.hint } : {}),
        severity: "error",
      };
    }
    if (!status && /^Unknown function "(success|failure|always|cancelled)"/i.test(p.message)) {
      return { ...p, hint: "status functions work only in `if:`", severity: "error" };
    }
    return { ...p, severity: "error" };
  });
}

type Emit = (start: number, end: number, message: string, hint?: string) => void;

const TASK_PARTS = ["result", "status", "outputs"];
const NEEDS_PARTS = ["result", "outputs"];
const STEP_PARTS = ["outputs", "outcome", "conclusion"];

// `tasks.X…` or `needs.X…`: a task that exists, is not this one, is needed directly (for
// `needs`), and has the member and the output read.
function taskRead(
  ref: Reference,
  root: "tasks" | "needs",
  site: Site,
  facts: FlowFacts,
  error: Emit,
): FlowCheck["tasks"][number] | undefined {
  const [first, second, third] = ref.path as [string, unknown, unknown];
  const at = [ref.start, ref.end] as const;
  const self = site.task!.id;
  const ids = facts.tasks.map((t) => t.id);
  const id = find(ids, first);
  if (id === undefined) {
    error(...at, `Unknown task "${first}"${didYouMean(first, ids.filter((i) => i !== self))}`);
    return undefined;
  }
  if (id === self) {
    error(...at, `Task "${self}" cannot read its own result`, "use `result` in `outputs:`");
    return undefined;
  }
  const parts = root === "tasks" ? TASK_PARTS : NEEDS_PARTS;
  const member = second === undefined ? undefined : find(parts, String(second));
  if (second !== undefined && member === undefined) {
    error(
      ...at,
      `${root}.${first}.${String(second)} does not exist${didYouMean(String(second), parts)}`,
      root === "tasks"
        ? "a task offers result, status and outputs"
        : "needs.<id> offers result (success, failure, cancelled or skipped) and outputs",
    );
  }
  if (root === "needs" && find(site.task!.needs ?? [], id) === undefined) {
    error(
      ...at,
      `Task "${self}" reads needs.${first} but does not need "${id}" directly`,
      `needs holds only the tasks in \`needs:\`: add "${id}" there, or read it as ` +
        `tasks.${id} (any task upstream)`,
    );
    return undefined;
  }
  if (member === "outputs" && typeof third === "string") {
    const task = facts.tasks.find((t) => t.id === id);
    const declared = task?.outputs ?? [];
    if (!task?.open && find(declared, third) === undefined) {
      error(
        ...at,
        `Task "${id}" has no output "${third}"${didYouMean(third, [...declared])}`,
        declared.length
          ? `its outputs: ${declared.join(", ")}`
          : 'declare it under its `outputs:`, or write name=value to "$GITHUB_OUTPUT" in its ' +
            "command",
      );
    }
  }
  const status = member === (root === "tasks" ? "status" : "result") && site.place !== "if";
  return { id, start: ref.start, status };
}

// `matrix.K` of a leg whose keys are known; `steps.X…` of a step before this one.
function legOrStepRead(ref: Reference, root: string, site: Site, error: Emit): void {
  const [first, second] = ref.path;
  if (typeof first !== "string") return;
  const at = [ref.start, ref.end] as const;
  const keys = site.task?.matrixKeys;
  if (root === "matrix" && keys && find(keys, first) === undefined) {
    error(
      ...at,
      `The matrix has no key "${first}"${didYouMean(first, [...keys])}`,
      `its keys: ${keys.join(", ")}`,
    );
  }
  const steps = site.task?.steps;
  if (root !== "steps" || !steps) return;
  if (find(steps, first) === undefined) {
    error(
      ...at,
      `No step "${first}" runs before this${didYouMean(first, [...steps])}`,
      steps.length
        ? `steps with an id before this one: ${steps.join(", ")}`
        : "give the step an `id:` and read it from a later step",
    );
  } else if (second !== undefined && find(STEP_PARTS, String(second)) === undefined) {
    error(
      ...at,
      `steps.${first}.${String(second)} does not exist${didYouMean(String(second), STEP_PARTS)}`,
      "a step offers outputs, outcome and conclusion",
    );
  }
}

/**
 * Checks `expr`, written at `site`, against what the flow declares, and says what it reads.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { checkAgainstFlow } from "./flow_checks.ts";
 * const facts = { params: { region: "string" as const }, env: [], tasks: [{ id: "build", outputs: ["name"] }] };
 * const site = { place: "task" as const, task: { id: "ship", env: [], shape: {} } };
 * const found = checkAgainstFlow(parseExpression("tasks.Build.outputs.nmae == params.REGION"), site, facts);
 * console.assert(found.issues[0].message === 'Task "build" has no output "nmae" (did you mean "name"?)');
 * console.assert(found.params.join() === "region" && found.tasks[0].id === "build");
 * ```
 */
export function checkAgainstFlow(expr: Expr, site: Site, facts: FlowFacts): FlowCheck {
  const out: FlowCheck = { issues: nameIssues(expr, site), params: [], secrets: [], tasks: [] };
  const available = contextsAt(site.place, shapeOf(site));
  const error: Emit = (start, end, message, hint) =>
    out.issues.push({ message, start, end, severity: "error", ...(hint ? { hint } : {}) });
  for (const ref of references(expr)) {
    const root = ref.root.toLowerCase();
    if (!available.includes(root)) continue;
    const [first] = ref.path;
    if ((root === "params" || root === "inputs") && typeof first !== "string") {
      // The whole of `params` (or a member chosen when it runs): every declared param.
      out.params.push(...Object.keys(facts.params ?? {}));
    } else if (root === "params" || root === "inputs") {
      const declared = Object.keys(facts.params ?? {});
      const name = find(declared, String(first));
      if (name !== undefined) out.params.push(name);
      else {
        error(
          ref.start,
          ref.end,
          `Unknown param "${first}"${didYouMean(String(first), declared)}`,
          declared.length ? `params: ${declared.join(", ")}` : "declare it under `params:`",
        );
      }
    } else if (root === "event") {
      // The event travels as the flow's param "event" (declared for it when the flow has none).
      out.params.push("event");
    } else if (root === "secrets" && typeof first === "string" && site.task) {
      out.secrets.push(first);
    } else if (root === "env" && typeof first === "string") {
      const known = [...facts.env, ...site.task?.env ?? []];
      if (find(known, first) === undefined) {
        error(
          ref.start,
          ref.end,
          `Unknown env variable "${first}"${didYouMean(first, known)}`,
          "declare it under `env:` (of the flow or the task); host variables are read with secrets.NAME",
        );
      }
    } else if ((root === "tasks" || root === "needs") && site.task && typeof first === "string") {
      const read = taskRead(ref, root, site, facts, error);
      if (read) out.tasks.push(read);
    } else if (root === "matrix" || root === "steps") legOrStepRead(ref, root, site, error);
  }
  for (const issue of comparisonIssues(expr, typesIn(facts, site))) {
    out.issues.push({ ...issue, severity: "warning" });
  }
  out.issues.sort((a, b) => a.start - b.start);
  return out;
}

/**
 * Warnings for the `${{ }}` of a template that becomes text (longer text, or any `env:` value),
 * whose values are lists or objects (GitHub writes them as `Array` and `Object`).
 */
export function textIssues(template: Template, facts: FlowFacts, site: Site): FlowIssue[] {
  const text = site.place === "env" || site.place === "flow-env";
  if (template.whole && !text) return [];
  const typeOf = typesIn(facts, site);
  const out: FlowIssue[] = [];
  for (const part of template.parts) {
    if (typeof part === "string") continue;
    const issue = containerInText(part.expr, typeOf);
    if (issue) out.push({ ...issue, severity: "warning" });
  }
  return out;
}

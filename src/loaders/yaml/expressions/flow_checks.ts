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
  /** The flow's `params:`, if it declares any. */
  params?: Record<string, ParamSpec | ParamType>;
  /** The names of the flow's `env:`. */
  env: readonly string[];
  /** Each task: its id and the names of its `outputs:`. */
  tasks: readonly { id: string; outputs: readonly string[] }[];
}

/** Where an expression is written. */
export interface Site {
  /** The kind of place (see {@linkcode Place}). */
  place: Place;
  /** The task it belongs to, unless it is the flow's own (`env:`, `name:`). */
  task?: {
    /** The task's id. */
    id: string;
    /** The names of its `env:`. */
    env: readonly string[];
    /** What decides which contexts exist in it. */
    shape: TaskShape;
  };
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
  /** The tasks it reads (their ids as declared), where, and whether it reads their status. */
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

/**
 * The types the flow's declarations give to what an expression at `site` reads: params by
 * their declared type, `env`, `secrets`, `run.id` and task statuses as text, `index` as a
 * number.
 */
export function typesIn(facts: FlowFacts, site: Site): TypeOf {
  const available = contextsAt(site.place, site.task?.shape);
  return (ref: Reference): StaticType | undefined => {
    const root = ref.root.toLowerCase();
    if (!available.includes(root) || ref.filtered) return undefined;
    const [first, second, third] = ref.path;
    switch (root) {
      case "params": {
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
        return ref.path.length === 2 && String(second).toLowerCase() === "status" &&
            third === undefined
          ? "string"
          : undefined;
    }
    return undefined;
  };
}

// An unknown name, a context used where it does not exist, a status function outside `if:`.
function nameIssues(expr: Expr, site: Site): FlowIssue[] {
  const shape = site.task?.shape ?? {};
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
  const available = contextsAt(site.place, site.task?.shape);
  const error = (start: number, end: number, message: string, hint?: string) =>
    out.issues.push({ message, start, end, severity: "error", ...(hint ? { hint } : {}) });
  const ids = facts.tasks.map((t) => t.id);
  for (const ref of references(expr)) {
    const root = ref.root.toLowerCase();
    if (!available.includes(root)) continue;
    const [first, second, third] = ref.path;
    const at = [ref.start, ref.end] as const;
    if (root === "params" && typeof first !== "string") {
      // The whole of `params` (or a member chosen when it runs): every declared param.
      out.params.push(...Object.keys(facts.params ?? {}));
    } else if (root === "params" && typeof first === "string") {
      const declared = Object.keys(facts.params ?? {});
      const name = find(declared, first);
      if (name !== undefined) out.params.push(name);
      else {
        error(
          ...at,
          `Unknown param "${first}"${didYouMean(first, declared)}`,
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
          ...at,
          `Unknown env variable "${first}"${didYouMean(first, known)}`,
          "declare it under `env:` (of the flow or the task); host variables are read with secrets.NAME",
        );
      }
    } else if (root === "tasks" && site.task && typeof first === "string") {
      const self = site.task.id;
      const id = find(ids, first);
      if (id === undefined) {
        error(...at, `Unknown task "${first}"${didYouMean(first, ids.filter((i) => i !== self))}`);
        continue;
      }
      if (id === self) {
        error(...at, `Task "${self}" cannot read its own result`, "use `result` in `outputs:`");
        continue;
      }
      const member = second === undefined
        ? undefined
        : find(["result", "status", "outputs"], String(second));
      if (second !== undefined && member === undefined) {
        error(
          ...at,
          `tasks.${first}.${String(second)} does not exist${
            didYouMean(String(second), ["result", "status", "outputs"])
          }`,
          "a task offers result, status and outputs",
        );
      }
      if (member === "outputs" && typeof third === "string") {
        const declared = facts.tasks.find((t) => t.id === id)?.outputs ?? [];
        if (find(declared, third) === undefined) {
          error(
            ...at,
            `Task "${id}" has no output "${third}"${didYouMean(third, [...declared])}`,
            declared.length
              ? `its outputs: ${declared.join(", ")}`
              : "declare it under its `outputs:`",
          );
        }
      }
      out.tasks.push({ id, start: ref.start, status: member === "status" && site.place !== "if" });
    }
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

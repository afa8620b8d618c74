/**
 * Validation of a flow graph before anything runs. Every problem is reported in one pass.
 *
 * @module
 */

import type { ValidationIssue } from "./errors.ts";
import { findCycles } from "./graph.ts";
import type { ExecutorKind, FlowGraph } from "./model.ts";
import { RESERVED_NAME_CHARS } from "./model.ts";
import { checkParamsSchema } from "./params.ts";
import { checkPermissionSet, exceedsCeiling, formatPermissions } from "./permissions.ts";
import { didYouMean } from "./suggest.ts";

/** Options of {@linkcode validateFlowGraph}. */
export interface ValidateGraphOptions {
  /** Executors this build can run; tasks that ask for another are invalid. @default all */
  executors?: readonly ExecutorKind[];
  /** The absolute directory relative permission paths resolve against. @default none */
  baseDir?: string;
}

/**
 * Validates a flow graph: duplicate ids, unknown dependencies (with did-you-mean), cycles with
 * their path, the params schema, permissions against the ceiling, executors, and the problems
 * the front end found while building the graph.
 *
 * @example
 * ```ts
 * import { validateFlowGraph } from "./validate.ts";
 * import { normalizeTaskOptions } from "./model.ts";
 * const node = (id: string, needs: string[]) => ({
 *   id, name: id, kind: "task" as const, needs, config: normalizeTaskOptions({ name: id }).config,
 * });
 * const issues = validateFlowGraph({
 *   name: "etl", issues: [], nodes: [node("extract", []), node("load", ["extrct"])],
 * });
 * console.assert(issues[0].message.includes('did you mean "extract"'));
 * ```
 */
export function validateFlowGraph(
  graph: FlowGraph,
  options: ValidateGraphOptions = {},
): ValidationIssue[] {
  const issues: ValidationIssue[] = [...graph.issues];
  const loc = graph.location;
  const withLoc = (i: ValidationIssue): ValidationIssue =>
    i.location || !loc ? i : { ...i, location: loc };
  for (const i of checkParamsSchema(graph.params)) issues.push(withLoc(i));
  for (const p of checkPermissionSet(graph.permissions, "the flow's permissions")) {
    issues.push(withLoc({ message: p }));
  }
  if (
    graph.concurrency !== undefined &&
    !(Number.isInteger(graph.concurrency) && graph.concurrency >= 1)
  ) {
    issues.push(withLoc({
      message: `concurrency must be a whole number ≥ 1, got ${graph.concurrency}`,
    }));
  }

  const seen = new Map<string, number>();
  for (const node of graph.nodes) seen.set(node.id, (seen.get(node.id) ?? 0) + 1);
  const reported = new Set<string>();
  const ids = [...seen.keys()];
  for (const node of graph.nodes) {
    const at = node.location ?? loc;
    const issue = (message: string, hint?: string) => {
      const i: ValidationIssue = { message, taskId: node.id };
      if (at) i.location = at;
      if (hint) i.hint = hint;
      issues.push(i);
    };
    if (seen.get(node.id)! > 1 && !reported.has(node.id)) {
      reported.add(node.id);
      issue(
        `Duplicate task id "${node.id}" (${seen.get(node.id)} tasks use it)`,
        "give each task a unique id",
      );
    }
    if (!node.name || RESERVED_NAME_CHARS.test(node.name)) {
      issue(
        `Task name ${JSON.stringify(node.name)} is not valid`,
        "use a non-empty name without spaces, '#', '[' or ']'",
      );
    }
    for (const dep of node.needs) {
      if (!seen.has(dep)) {
        issue(
          `Task "${node.id}" needs unknown task "${dep}"${
            didYouMean(dep, ids.filter((i) => i !== node.id))
          }`,
          ids.length ? `known tasks: ${ids.slice(0, 20).join(", ")}` : undefined,
        );
      }
    }
    const executors = options.executors;
    if (executors && !executors.includes(node.config.executor)) {
      issue(
        `Task "${node.id}" asks for executor "${node.config.executor}", which this build ` +
          `does not offer yet`,
        `use one of: ${executors.join(", ")}`,
      );
    }
    const ceilingOptions = options.baseDir === undefined ? {} : { baseDir: options.baseDir };
    for (const ex of exceedsCeiling(node.config.permissions, graph.permissions, ceilingOptions)) {
      const value = ex.value === true ? "all" : `"${ex.value}"`;
      issue(
        `Task "${node.id}" requests ${ex.name} ${value}, beyond the flow's ceiling (${
          formatPermissions(graph.permissions)
        })`,
        `add it to the flow's permissions, or narrow the task's request`,
      );
    }
  }
  for (const cycle of findCycles(graph.nodes)) {
    const first = graph.nodes.find((n) => n.id === cycle[0]);
    const i: ValidationIssue = {
      message: `Cycle: ${cycle.join(" → ")}`,
      taskId: cycle[0],
      hint: "remove one of these dependencies",
    };
    const at = first?.location ?? loc;
    if (at) i.location = at;
    issues.push(i);
  }
  return issues;
}

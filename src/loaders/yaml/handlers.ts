/**
 * A flow's `handlers: { failure, success, exit }`: tasks (`uses: notify`, …) that run once
 * the flow's tasks ended. They become ordinary tasks (`on-failure`, `on-success`, `on-exit`)
 * that need every task of the flow, with the condition that says when each runs; `on-exit`
 * also waits for the other two. Nothing else in the compiler knows about them but that they
 * are not the flow's result.
 *
 * @module
 */

import type { FlowSpec, HandlerKind } from "./spec.ts";

const HANDLER_IF: Record<HandlerKind, string> = {
  failure: "${{ failure() }}",
  success: "${{ success() }}",
  exit: "${{ always() }}",
};

/** Adds the tasks of `spec.fields.handlers` to `spec.tasks`, or the issues that stop them. */
export function addHandlers(spec: FlowSpec): void {
  const handlers = spec.fields.handlers;
  if (!handlers) return;
  const tasks = spec.tasks.map((t) => t.id);
  const added: string[] = [];
  for (const kind of ["failure", "success", "exit"] as const) {
    const fields = handlers[kind];
    if (!fields) continue;
    const id = `on-${kind}`;
    const path = ["handlers", kind];
    if (tasks.includes(id)) {
      spec.issues.push({
        message: `Task "${id}" is the name of the ${kind} handler`,
        location: spec.source.locate(path),
        hint: `rename the task "${id}"`,
      });
      continue;
    }
    for (const key of ["needs", "if", "foreach"] as const) {
      if (fields[key] === undefined) continue;
      spec.issues.push({
        message: `The ${kind} handler cannot have \`${key}\`: it runs once the flow's tasks ended`,
        location: spec.source.locate([...path, key]),
        hint: key === "if" ? "the handler's kind says when it runs" : `remove \`${key}\``,
      });
    }
    const needs = kind === "exit" ? [...tasks, ...added] : tasks;
    spec.tasks.push({
      id,
      source: spec.source,
      path,
      fields: { ...fields, needs, if: HANDLER_IF[kind] },
      handler: kind,
    });
    added.push(id);
  }
}

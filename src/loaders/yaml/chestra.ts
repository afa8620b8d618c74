/**
 * Chestra's form: a `workflow:` with a list of tasks, each naming its `plugin` and `params`
 * and joined to others by the signal names in its `inputs` and `outputs`. Each task becomes a
 * task that needs the producers of its input signals.
 *
 * @module
 */

import { didYouMean } from "../../core/suggest.ts";
import { chestraSchema } from "./schema.ts";
import { schemaIssues } from "./schema_issues.ts";
import type { FlowSpec } from "./spec.ts";
import type { YamlPath } from "./source.ts";

/** Reads Chestra's `workflow:` form into `spec`. */
export function loadChestra(spec: FlowSpec, data: object): FlowSpec {
  const { source } = spec;
  spec.chestra = true;
  spec.form = "chestra";
  const r = chestraSchema.safeParse(data);
  if (!r.success) {
    spec.issues.push(...schemaIssues(r.error, source, [], data, "chestra"));
    return spec;
  }
  const wf = r.data.workflow;
  spec.name = wf.name;
  if (wf.description !== undefined) spec.fields.description = wf.description;
  const producers = new Map<string, string[]>();
  for (const t of wf.tasks) {
    for (const s of t.outputs ?? []) producers.set(s, [...(producers.get(s) ?? []), t.name]);
  }
  const signals = [...producers.keys()];
  wf.tasks.forEach((t, i) => {
    const path: YamlPath = ["workflow", "tasks", i];
    const needs: string[] = [];
    (t.inputs ?? []).forEach((signal, j) => {
      const from = producers.get(signal);
      if (!from) {
        spec.issues.push({
          message: `Task "${t.name}" waits for signal "${signal}", which no task outputs${
            didYouMean(signal, signals)
          }`,
          taskId: t.name,
          location: source.locate([...path, "inputs", j]),
          hint: signals.length
            ? `signals that tasks output: ${signals.join(", ")}`
            : "list it under some task's `outputs:`",
        });
        return;
      }
      for (const p of from) if (p !== t.name && !needs.includes(p)) needs.push(p);
    });
    spec.tasks.push({
      id: t.name,
      source,
      path,
      fields: { uses: t.plugin, with: t.params ?? {}, needs },
      signals: { inputs: t.inputs ?? [], outputs: t.outputs ?? [] },
    });
  });
  return spec;
}

/**
 * Subflows in YAML: a task with `uses: ./other.yaml` runs that flow file (relative to this one,
 * compiled by the same compiler) with its `with:` as the child's params. Its tasks join the run
 * under the task's id (`report/extract`), as a TypeScript subflow's do (`engine/subflow.ts`).
 *
 * `with:` values that read only params, env or literals are rendered when the body runs, so
 * the child sees plain params; one that reads other tasks' results is rendered by a small task
 * of its own (`report/with.day`) once they are known, and the child's tasks wait for it.
 *
 * @module
 */

import type { TaskNode } from "../../core/model.ts";
import { paramSpec } from "../../core/params.ts";
import { didYouMean } from "../../core/suggest.ts";
import {
  type CallOptions,
  type FlowDefinition,
  PROTOCOL_VERSION,
  TASK_BRAND,
  type TaskDefinition,
} from "../../core/protocol.ts";
import type { FlowHandle } from "../../engine/run.ts";
import { SUBFLOW_AFTER } from "../../engine/subflow.ts";
import type { TaskContext } from "../../engine/types.ts";
import type { Checker, Scope } from "./checker.ts";
import type { CompiledTask } from "./compiled.ts";
import { parseTemplate, renderTemplate } from "./expressions/mod.ts";
import type { FlowGraph } from "../../core/model.ts";
import { fieldPath } from "./plugin_task.ts";
import { type Input, taskValues, type Values, type ValueSources } from "./values.ts";

/** What a `uses:` of a flow file resolved to. */
export interface SubflowUse {
  /** The child as written in `uses:`. */
  uses: string;
  /** The child's file, as shown in messages. */
  file: string;
  /** The compiled child, when it could be read. */
  flow?: { def: FlowDefinition; graph: FlowGraph };
  /** Why it could not (a cycle, a missing file). */
  error?: { message: string; hint?: string };
}

/** Whether a `uses:` names a flow file (a path ending in `.yaml` or `.yml`), not a plugin. */
export function isSubflowUses(uses: unknown): uses is string {
  return typeof uses === "string" && /^(\.{1,2}\/|\/)/.test(uses) && /\.ya?ml$/i.test(uses);
}

/** The compile step of a `uses: ./flow.yaml` task: the child, and its `with:` checked. */
export function compileSubflow(
  checker: Checker,
  c: CompiledTask,
  use: SubflowUse | undefined,
  scope: Scope,
): void {
  const t = c.spec;
  const withPath = fieldPath(t, "with");
  const params = (t.fields.with ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(params)) checker.templatesIn(v, [...withPath, k], scope);
  c.with = params;
  const usesAt = t.source.locate(fieldPath(t, "uses"));
  if (!use || use.error || !use.flow) {
    const e = use?.error ?? { message: `Cannot read flow "${t.fields.uses}"` };
    checker.issueAt(t, usesAt, `Task "${t.id}" uses flow "${t.fields.uses}": ${e.message}`, e.hint);
    return;
  }
  c.subflow = use;
  if (t.fields.if !== undefined || t.fields.foreach !== undefined || t.fields.strategy) {
    const key = t.fields.if !== undefined
      ? "if"
      : t.fields.foreach !== undefined
      ? "foreach"
      : "strategy";
    checker.issueAt(
      t,
      t.source.locateKey(t.path, key),
      `Task "${t.id}" uses a flow and has \`${key}\`, which a subflow task cannot have yet`,
      "move the condition or the fan-out into the child flow",
    );
  }
  // A child that did not parse has no params to check against: its own problems say why.
  if (use.flow.graph.issues.some((i) => i.severity !== "warning")) return;
  const schema = use.flow.graph.params ?? {};
  const names = Object.keys(schema);
  for (const k of Object.keys(params)) {
    if (!Object.hasOwn(schema, k)) {
      checker.issueAt(
        t,
        t.source.locateKey(withPath, k),
        `Task "${t.id}": flow ${use.file} has no param "${k}"${didYouMean(k, names)}`,
        names.length ? `its params are: ${names.join(", ")}` : "it takes no params",
      );
    }
  }
  for (const k of names) {
    const spec = paramSpec(schema[k]);
    if (spec.required && spec.default === undefined && params[k] === undefined) {
      checker.issueAt(
        t,
        t.source.locate(t.fields.with ? withPath : fieldPath(t, "uses")),
        `Task "${t.id}": flow ${use.file} needs param "${k}" (${spec.type})`,
        `add it under \`with:\`: ${k}: …`,
      );
    }
  }
}

/**
 * The graph nodes of a subflow task: the child's nodes under its id (those that need nothing
 * wait for what the task needs), then the task itself, which waits for the child's last tasks.
 */
export function subflowNodes(c: CompiledTask, base: TaskNode): TaskNode[] {
  const child = c.subflow!.flow!.graph;
  const prefix = `${base.id}/`;
  const inline = { ...base.config, executor: "inline" as const };
  delete inline.permissions;
  const renders: TaskNode[] = Object.entries((c.with ?? {}) as Record<string, unknown>)
    .filter(([, v]) => readsTasks(v))
    .map(([k]) => ({
      ...base,
      id: `${prefix}with.${k}`,
      name: `with.${k}`,
      config: { ...inline, name: `with.${k}` },
    }));
  const roots = [...base.needs, ...renders.map((r) => r.id)];
  const needed = new Set(child.nodes.flatMap((n) => n.needs));
  const nodes: TaskNode[] = child.nodes.map((n) => ({
    ...n,
    id: prefix + n.id,
    needs: n.needs.length ? n.needs.map((d) => prefix + d) : roots,
  }));
  const last = child.nodes.filter((n) => !needed.has(n.id)).map((n) => prefix + n.id);
  const own: TaskNode = { ...base, config: inline, needs: last, subflow: child.name };
  return [...renders, ...nodes, own];
}

// A param's value reads other tasks: rendered by a task of its own once they are known.
const READS_TASKS = /\$\{\{[^}]*\b(tasks|needs|steps)\b/;

function readsTasks(value: unknown): boolean {
  if (typeof value === "string") return READS_TASKS.test(value);
  if (Array.isArray(value)) return value.some(readsTasks);
  if (value !== null && typeof value === "object") return Object.values(value).some(readsTasks);
  return false;
}

function render(value: unknown, values: Values): unknown {
  if (typeof value === "string") {
    return value.includes("${{") ? renderTemplate(parseTemplate(value), { values }) : value;
  }
  if (Array.isArray(value)) return value.map((v) => render(v, values));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, values)]));
  }
  return value;
}

const renderers = new WeakMap<CompiledTask, Map<string, TaskDefinition>>();

/** The task that renders param `key` of subflow task `c` once the tasks it reads are done. */
function renderer(
  c: CompiledTask,
  key: string,
  sources: (ctx: TaskContext) => ValueSources,
): TaskDefinition {
  let byKey = renderers.get(c);
  if (!byKey) renderers.set(c, byKey = new Map());
  let def = byKey.get(key);
  if (!def) {
    const value = (c.with as Record<string, unknown>)[key];
    def = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options: { name: `with.${key}`, executor: "inline" },
      fn: ((input: Input, ctx: TaskContext) =>
        render(value, taskValues(c, input, sources(ctx), false)) ?? null) as never,
      identity: JSON.stringify({ subflow: c.spec.id, with: key, value }),
    };
    byKey.set(key, def);
  }
  return def;
}

/** Calls subflow task `c` in the body: its params rendered (or to be), then the child. */
export function callSubflowTask(
  f: FlowHandle,
  c: CompiledTask,
  input: Input,
  src: ValueSources,
  sources: (ctx: TaskContext) => ValueSources,
): unknown {
  const id = c.spec.id;
  const params: Record<string, unknown> = {};
  let now: Values | undefined;
  for (const [key, value] of Object.entries((c.with ?? {}) as Record<string, unknown>)) {
    if (readsTasks(value)) {
      const call: CallOptions = { id: `${id}/with.${key}` };
      params[key] = f.call(renderer(c, key, sources) as never, [input], call);
    } else {
      // Params, env and literals are known now: the child's graph sees the values.
      now ??= taskValues(c, { ...input, tasks: {} }, src, false);
      params[key] = render(value, now);
    }
  }
  // The child's tasks wait for what this task needs (`needs:`), as the task itself would.
  const after = Object.values(input.tasks);
  if (input.after !== undefined) after.push(input.after);
  if (after.length) (params as Record<symbol, unknown>)[SUBFLOW_AFTER] = after;
  return f.call(c.subflow!.flow!.def as never, params, { id });
}

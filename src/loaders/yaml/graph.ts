/**
 * The build step of the compiler, for validation: reads linked to upstream tasks, params
 * checked at their place, and the flow graph that `validate`, `describe`, `graph` and
 * `--dry-run` show, with a node per matrix leg.
 *
 * @module
 */

import { formatLocation, type SourceLocation } from "../../core/errors.ts";
import {
  type FlowGraph,
  normalizeTaskOptions,
  type TaskNode,
  type TaskSettings,
} from "../../core/model.ts";
import { paramSpec } from "../../core/params.ts";
import { validateFlowGraph } from "../../core/validate.ts";
import type { Checker } from "./checker.ts";
import type { CompiledTask } from "./compiled.ts";
import { titleOf } from "./legs.ts";
import { legId } from "./matrix.ts";
import type { PluginUse } from "./plugins.ts";
import type { FlowSpec } from "./spec.ts";
import { toSettings } from "./task_compile.ts";

/**
 * Checks that each task reads only tasks upstream of it (that it needs, directly or not), and
 * records what it reads; gives each task the secrets and params its expressions read.
 */
export function linkReads(
  checker: Checker,
  compiled: CompiledTask[],
  plugins?: ReadonlyMap<string, PluginUse>,
): void {
  const byId = new Map(compiled.map((c) => [c.spec.id, c]));
  const upstream = new Map<string, Set<string>>();
  const visiting = new Set<string>();
  const closure = (id: string): Set<string> => {
    const known = upstream.get(id);
    if (known) return known;
    if (visiting.has(id)) return new Set(); // a cycle: reported by the graph's validation
    visiting.add(id);
    const out = new Set<string>();
    for (const n of byId.get(id)?.needs ?? []) {
      out.add(n);
      for (const x of closure(n)) out.add(x);
    }
    visiting.delete(id);
    upstream.set(id, out);
    return out;
  };
  for (const r of checker.pendingReads) {
    const reader = byId.get(r.task.id);
    if (!reader || !byId.has(r.id)) continue;
    if (!closure(r.task.id).has(r.id)) {
      checker.issueAt(
        r.task,
        r.at,
        `Task "${r.task.id}" reads tasks.${r.id} but does not need "${r.id}"`,
        `add "${r.id}" to its \`needs:\` so it runs after "${r.id}"`,
      );
      continue;
    }
    reader.reads.add(r.id);
    if (r.status) reader.readsStatus = true;
  }
  const shared = checker.paramRefs.get("") ?? new Set<string>();
  for (const c of compiled) {
    // Secrets its expressions read, and those its plugin reads (named in its params).
    const plugin = c.uses ? plugins?.get(c.spec.id)?.check?.secrets ?? [] : [];
    const names = new Set([...checker.secretRefs.get(c.spec.id) ?? [], ...plugin]);
    if (names.size) c.options.secrets = [...names];
    c.params = [...new Set([...(checker.paramRefs.get(c.spec.id) ?? []), ...shared])];
  }
}

/**
 * The ancestors of each task whose `if:` calls failure(), always() or cancelled(): what its
 * status functions look at. Only those tasks wait for their ancestors, so only theirs are
 * walked (once each): a chain of 20,000 tasks without such conditions costs nothing here.
 */
export function ancestorsOf(compiled: CompiledTask[]): Map<string, string[]> {
  const byId = new Map(compiled.map((c) => [c.spec.id, c]));
  const out = new Map<string, string[]>();
  for (const c of compiled) {
    if (typeof c.condition !== "object" || !c.condition.always) continue;
    const found = new Set<string>();
    const stack = [...c.needs, ...c.reads];
    while (stack.length) {
      const id = stack.pop()!;
      if (found.has(id) || id === c.spec.id) continue;
      found.add(id);
      const d = byId.get(id);
      if (d) stack.push(...d.needs, ...d.reads);
    }
    out.set(c.spec.id, [...found]);
  }
  return out;
}

/** Checks each param's default and enum against its type, where they are written. */
export function checkParams(checker: Checker): void {
  const spec = checker.spec;
  const where = spec.form === "workflow" ? ["on", "workflow_dispatch", "inputs"] : ["params"];
  for (const [name, raw] of Object.entries(spec.fields.params ?? {})) {
    const p = paramSpec(raw as never);
    const at = (key: string) => spec.source.locate([...where, name, key]);
    const fits = (v: unknown) => fitsType(p.type, v);
    if (p.default !== undefined && !fits(p.default)) {
      checker.issueAt(
        undefined,
        at("default"),
        `Param "${name}": default ${JSON.stringify(p.default)} is not of type ${p.type}`,
        `write a default of type ${p.type}, or change its type`,
      );
    } else if (p.default !== undefined && p.enum && !p.enum.some((e) => same(e, p.default))) {
      checker.issueAt(
        undefined,
        at("default"),
        `Param "${name}": default ${JSON.stringify(p.default)} is not one of its enum values ` +
          `(${p.enum.map((e) => JSON.stringify(e)).join(", ")})`,
        "make the default one of the values, or add it to `enum:`",
      );
    }
    for (const [i, e] of (p.enum ?? []).entries()) {
      if (fits(e)) continue;
      checker.issueAt(
        undefined,
        spec.source.locate([...where, name, "enum", i]),
        `Param "${name}": enum value ${JSON.stringify(e)} is not of type ${p.type}`,
      );
    }
  }
}

function fitsType(type: string, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    default:
      return v !== null && typeof v === "object" && !Array.isArray(v);
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** The settings of the flow's `defaults:`, as the engine takes them. */
export function flowDefaults(spec: FlowSpec): TaskSettings | undefined {
  return spec.fields.defaults ? toSettings(spec.fields.defaults) : undefined;
}

/** The ids of each matrix task's legs, when the matrix is known before the run. */
export function staticLegs(
  compiled: CompiledTask[],
): Map<string, { id: string; values: Record<string, unknown> }[]> {
  const out = new Map<string, { id: string; values: Record<string, unknown> }[]>();
  for (const c of compiled) {
    const legs = c.matrix?.legs;
    if (!legs) continue;
    const taken = new Set<string>();
    out.set(c.spec.id, legs.map((values) => ({ id: legId(c.spec.id, values, taken), values })));
  }
  return out;
}

/** The flow graph, with every problem the compiler found in `issues`. */
export function buildGraph(
  checker: Checker,
  compiled: CompiledTask[],
  flowDir?: string,
): FlowGraph {
  const spec = checker.spec;
  const defaults = flowDefaults(spec);
  const legs = staticLegs(compiled);
  const reported = new Set<string>();
  const nodes: TaskNode[] = [];
  for (const c of compiled) {
    const base = taskNode(checker, c, defaults, reported);
    base.needs = c.needs.flatMap((n) => legs.get(n)?.map((l) => l.id) ?? [n]);
    const own = legs.get(c.spec.id);
    if (own) {
      for (const leg of own) nodes.push({ ...base, id: leg.id, title: titleOf(c, {}, leg.values) });
    } else if (c.matrix) {
      nodes.push({ ...base, kind: "map", map: { items: "dynamic" } });
    } else nodes.push(base);
  }
  const graph: FlowGraph = { name: spec.name, nodes, issues: [], location: spec.source.at(0) };
  if (spec.fields.description !== undefined) graph.description = spec.fields.description;
  if (spec.fields.params) graph.params = spec.fields.params;
  if (spec.fields.permissions) graph.permissions = spec.fields.permissions;
  if (spec.fields.concurrency !== undefined) graph.concurrency = spec.fields.concurrency;
  if (spec.schedules.length) {
    graph.schedules = spec.schedules.map((s) => ({ cron: s.cron, location: s.location }));
  }
  if (spec.notes.length) graph.notes = [...new Set(spec.notes)];
  duplicateIds(checker);
  const own = new Set(checker.issues.map((i) => i.message));
  graph.issues = [
    ...checker.issues,
    ...validateFlowGraph(graph, {
      executors: ["inline", "process", "worker"],
      ...(flowDir !== undefined ? { baseDir: flowDir } : {}),
    }).filter((i) =>
      !/needs unknown task|^Duplicate task id/.test(i.message) && !own.has(i.message)
    ),
  ];
  return graph;
}

function taskNode(
  checker: Checker,
  c: CompiledTask,
  defaults: TaskSettings | undefined,
  reported: Set<string>,
): TaskNode {
  const spec = checker.spec;
  const t = c.spec;
  const { config, problems } = normalizeTaskOptions(c.options, defaults);
  for (const p of problems) {
    // "timeout: …", "retries.delay: …": point at the value the problem is about.
    const m = /^(timeout|retries|priority|cache|executor|permissions)(?:\.(\w+))?\b/.exec(p);
    const field = m ? (m[2] ? [m[1], m[2]] : [m[1]]) : [];
    const inTask = m && t.fields[m[1] as keyof typeof t.fields] !== undefined;
    if (inTask || !m || !spec.fields.defaults) {
      const loc = t.source.locate(inTask ? [...t.path, ...field] : t.path);
      checker.issueAt(t, loc, `Task "${t.id}": ${p}`);
    } else if (!reported.has(p)) {
      // A bad default is one problem, not one per task.
      reported.add(p);
      checker.issueAt(undefined, spec.source.locate(["defaults", ...field]), `defaults.${p}`);
    }
  }
  if ((c.run || c.steps) && t.fields.executor === undefined) config.executor = "process";
  const node: TaskNode = {
    id: t.id,
    name: t.id,
    kind: c.foreach !== undefined ? "map" : "task",
    needs: c.needs,
    config,
    location: typeof t.path.at(-1) === "string"
      ? t.source.locateKey(t.path.slice(0, -1), String(t.path.at(-1)))
      : t.source.at(t.source.node(t.path)?.range?.[0] ?? 0),
  };
  if (t.displayName !== undefined) node.title = t.displayName;
  if (c.uses) {
    const m = c.uses.manifest;
    node.plugin = { name: m.name, version: m.version, source: c.uses.source };
  }
  if (c.foreach !== undefined) {
    node.map = { items: Array.isArray(c.foreach) ? c.foreach.length : "dynamic" };
    if (t.fields.concurrency !== undefined) node.map.concurrency = t.fields.concurrency;
  }
  return node;
}

// A repeated id is reported where it is repeated, pointing back at its first use.
function duplicateIds(checker: Checker): void {
  const firstAt = new Map<string, SourceLocation>();
  for (const t of checker.spec.tasks) {
    const key = t.fields.id !== undefined ? "id" : "name";
    const at = typeof t.path[t.path.length - 1] === "number"
      ? t.source.locate([...t.path, key])
      : t.source.locateKey(t.path.slice(0, -1), t.id);
    const first = firstAt.get(t.id);
    if (first === undefined) firstAt.set(t.id, at);
    else {
      checker.issueAt(
        t,
        at,
        `Duplicate task id "${t.id}" (first used at ${formatLocation(first)})`,
        "give each task a unique id",
      );
    }
  }
}

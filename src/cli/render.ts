/**
 * Text renderings of a flow graph: problems, `describe`, the `--dry-run` plan, and `graph`
 * as Mermaid, Graphviz dot or JSON.
 *
 * @module
 */

import { formatIssue, formatLocation, formatMs, type ValidationIssue } from "../core/errors.ts";
import { layers } from "../core/graph.ts";
import type { FlowGraph, TaskConfig, TaskNode } from "../core/model.ts";
import { paramSpec } from "../core/params.ts";
import { formatPermissions, isUnsandboxed } from "../core/permissions.ts";

/** Every problem, one per line, under `error: <subject> is invalid (N problems):`. */
export function renderProblems(subject: string, issues: readonly ValidationIssue[]): string {
  const n = issues.length;
  return `error: ${subject} is invalid (${n} problem${n === 1 ? "" : "s"}):\n` +
    issues.map((i) => `  ${formatIssue(i).replaceAll("\n", "\n  ")}`).join("\n") + "\n";
}

/** Every problem of a flow, one per line. */
export function renderIssues(flow: string, issues: readonly ValidationIssue[]): string {
  return renderProblems(`flow "${flow}"`, issues);
}

/** Rows as aligned columns, two spaces apart, each line after `indent`; no final newline. */
export function renderTable(rows: string[][], indent = ""): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => indent + r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd())
    .join("\n");
}

function table(rows: string[][]): string {
  return renderTable(rows, "  ");
}

function retries(c: TaskConfig): string {
  const r = c.retry;
  if (r.attempts <= 1) return "none";
  const parts = [`${r.attempts - 1}× after ${formatMs(r.delayMs)}`];
  if (r.backoff !== 1) parts.push(`×${r.backoff}`);
  if (r.jitter) parts.push(`±${Math.round(r.jitter * 100)}%`);
  return parts.join(" ");
}

function label(node: TaskNode): string {
  if (node.kind !== "map") return node.id;
  const n = node.map?.items;
  return `${node.id} (map × ${n === "dynamic" || n === undefined ? "?" : n})`;
}

/** What the task would be granted, as `describe` and `--dry-run` show it. */
function grant(node: TaskNode): string {
  const perms = formatPermissions(node.config.permissions);
  const notes: string[] = [];
  if (isUnsandboxed(node.config.permissions)) notes.push("unsandboxed");
  if (node.config.executor === "inline" && node.config.permissions) notes.push("shares isolate");
  return notes.length ? `${perms} (${notes.join(", ")})` : perms;
}

/** The human description of a flow (`orchestra describe`). */
export function renderDescribe(graph: FlowGraph): string {
  const out: string[] = [];
  out.push(`Flow "${graph.name}"${graph.description ? ` — ${graph.description}` : ""}`);
  if (graph.location) out.push(`  defined at ${formatLocation(graph.location)}`);
  const params = Object.entries(graph.params ?? {});
  if (params.length) {
    out.push("", "Params:");
    const rows = [["NAME", "TYPE", "DEFAULT", "REQUIRED", "DESCRIPTION"]];
    for (const [name, raw] of params) {
      const p = paramSpec(raw);
      const type = p.enum
        ? `${p.type} (${p.enum.map((e) => JSON.stringify(e)).join("|")})`
        : p.type;
      rows.push([
        name,
        type,
        p.default === undefined ? "-" : JSON.stringify(p.default),
        p.required ? "yes" : "no",
        p.description ?? "",
      ]);
    }
    out.push(table(rows));
  }
  out.push(
    "",
    `Permission ceiling: ${
      graph.permissions
        ? formatPermissions(graph.permissions)
        : "none declared (tasks may request anything)"
    }`,
  );
  out.push(`Concurrency: ${graph.concurrency ?? "unlimited"}`);
  out.push("", `Tasks (${graph.nodes.length}):`);
  const rows = [[
    "ID",
    "NEEDS",
    "EXECUTOR",
    "RETRIES",
    "TIMEOUT",
    "CACHE",
    "PRIORITY",
    "PERMISSIONS",
  ]];
  for (const n of graph.nodes) {
    rows.push([
      label(n),
      n.needs.length ? n.needs.join(", ") : "-",
      n.config.executor,
      retries(n.config),
      n.config.timeoutMs === undefined ? "-" : formatMs(n.config.timeoutMs),
      n.config.cache ? `ttl ${formatMs(n.config.cache.ttlMs)}` : "-",
      String(n.config.priority),
      grant(n),
    ]);
  }
  out.push(table(rows));
  const described = graph.nodes.filter((n) => n.config.description);
  if (described.length) {
    out.push("");
    for (const n of described) out.push(`  ${n.id}: ${n.config.description}`);
  }
  out.push("", ...notes(graph));
  return out.join("\n").trimEnd() + "\n";
}

function notes(graph: FlowGraph): string[] {
  const out: string[] = [];
  if (graph.nodes.some((n) => n.config.executor === "inline")) {
    out.push(
      "Note: inline tasks run in the orchestrator's own isolate and are not sandboxed; " +
        "their permissions are what the orchestrator has.",
    );
  }
  const unsandboxed = graph.nodes.filter((n) => isUnsandboxed(n.config.permissions));
  if (unsandboxed.length) {
    out.push(
      `Note: ${unsandboxed.map((n) => n.id).join(", ")} request run or ffi, which escape ` +
        "Deno's sandbox (unsandboxed).",
    );
  }
  if (graph.dynamicAfter) {
    const at = graph.dynamicAfter.location
      ? ` (${formatLocation(graph.dynamicAfter.location)})`
      : "";
    out.push(
      `Note: the body awaits the result of "${graph.dynamicAfter.taskId}"${at}; tasks after ` +
        "that point depend on run-time values and are not shown.",
    );
  }
  return out;
}

/** The `--dry-run` plan: tasks in the order they can start, with executor and grant. */
export function renderPlan(graph: FlowGraph): string {
  const out = [`Plan for flow "${graph.name}" (dry run: nothing is executed)`, ""];
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const rows = [["STEP", "TASK", "NEEDS", "EXECUTOR", "GRANT"]];
  layers(graph.nodes).forEach((layer, i) => {
    for (const id of layer) {
      const n = byId.get(id)!;
      rows.push([
        String(i + 1),
        label(n),
        n.needs.length ? n.needs.join(", ") : "-",
        n.config.executor,
        grant(n),
      ]);
    }
  });
  out.push(table(rows));
  out.push(
    "",
    `${graph.nodes.length} task${graph.nodes.length === 1 ? "" : "s"} in ${
      layers(graph.nodes).length
    } step(s); tasks in the same step can run in parallel.`,
  );
  const n = notes(graph);
  if (n.length) out.push(...n);
  return out.join("\n") + "\n";
}

/** The graph as JSON: what `graph --format json` and `describe --json` print. */
export function graphJson(graph: FlowGraph): unknown {
  return {
    name: graph.name,
    description: graph.description ?? null,
    location: graph.location ? formatLocation(graph.location) : null,
    params: graph.params ?? {},
    permissions: graph.permissions ?? null,
    concurrency: graph.concurrency ?? null,
    tasks: graph.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      kind: n.kind,
      needs: n.needs,
      executor: n.config.executor,
      retries: n.config.retry.attempts - 1,
      timeoutMs: n.config.timeoutMs ?? null,
      priority: n.config.priority,
      cache: n.config.cache ? { ttlMs: n.config.cache.ttlMs } : null,
      permissions: n.config.permissions ?? null,
      continueOnError: n.config.continueOnError,
      ...(n.map ? { items: n.map.items, mapConcurrency: n.map.concurrency ?? null } : {}),
      location: n.location ? formatLocation(n.location) : null,
    })),
    dynamicAfter: graph.dynamicAfter?.taskId ?? null,
  };
}

/** The graph as a Mermaid flowchart. */
export function renderMermaid(graph: FlowGraph): string {
  const key = new Map(graph.nodes.map((n, i) => [n.id, `t${i}`]));
  const out = ["flowchart TD"];
  for (const n of graph.nodes) {
    const text = label(n).replaceAll('"', "#quot;");
    out.push(
      n.kind === "map" ? `  ${key.get(n.id)}[["${text}"]]` : `  ${key.get(n.id)}["${text}"]`,
    );
  }
  for (const n of graph.nodes) {
    for (const d of n.needs) if (key.has(d)) out.push(`  ${key.get(d)} --> ${key.get(n.id)}`);
  }
  return out.join("\n") + "\n";
}

/** The graph in Graphviz dot. */
export function renderDot(graph: FlowGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const out = [`digraph ${q(graph.name)} {`, "  rankdir=LR;", "  node [shape=box];"];
  for (const n of graph.nodes) {
    out.push(`  ${q(n.id)} [label=${q(label(n))}${n.kind === "map" ? ", shape=box3d" : ""}];`);
  }
  for (const n of graph.nodes) for (const d of n.needs) out.push(`  ${q(d)} -> ${q(n.id)};`);
  out.push("}");
  return out.join("\n") + "\n";
}

/**
 * Text renderings of a flow graph: problems, `describe`, the `--dry-run` plan, and `graph`
 * as Mermaid, Graphviz dot or JSON.
 *
 * @module
 */

import {
  formatIssue,
  formatLocation,
  formatMs,
  isError,
  type ValidationIssue,
} from "../core/errors.ts";
import { layers } from "../core/graph.ts";
import type { FlowGraph, TaskConfig, TaskNode } from "../core/model.ts";
import { paramSpec } from "../core/params.ts";
import { formatPermissions, isUnsandboxed, type PermissionSet } from "../core/permissions.ts";
import type { JsonSchema, PluginManifest } from "../plugins/contract.ts";
import { escapeControl } from "./view/format.ts";
import { displayWidth, padEnd } from "./view/text.ts";
import { describeCacheKey } from "../engine/task_cache.ts";

/**
 * Every problem, one per line, under `error: <subject> is invalid (N problems):`, warnings
 * (marked `warning:`) counted apart; with warnings only, under `warning: <subject> has N
 * warnings:`.
 */
export function renderProblems(subject: string, issues: readonly ValidationIssue[]): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const n = issues.filter(isError).length;
  const warnings = issues.length - n;
  const head = n === 0
    ? `warning: ${subject} has ${plural(warnings, "warning")}:`
    : `error: ${subject} is invalid (${plural(n, "problem")}${
      warnings ? `, ${plural(warnings, "warning")}` : ""
    }):`;
  return `${head}\n` +
    issues.map((i) => `  ${formatIssue(i).replaceAll("\n", "\n  ")}`).join("\n") + "\n";
}

/** Every problem of a flow, one per line. */
export function renderIssues(flow: string, issues: readonly ValidationIssue[]): string {
  return renderProblems(`flow "${flow}"`, issues);
}

/**
 * Rows as aligned columns, two spaces apart, each line after `indent`; no final newline.
 * Cells are measured in terminal cells (an emoji or a CJK character takes two) and their
 * control characters are shown escaped, so a task id cannot break the columns.
 *
 * @example
 * ```ts
 * import { renderTable } from "./render.ts";
 * console.assert(renderTable([["ID", "STATUS"], ["日本", "ok"], ["a", "ok"]]) ===
 *   "ID    STATUS\n日本  ok\na     ok");
 * ```
 */
export function renderTable(rows: string[][], indent = ""): string {
  const cells = rows.map((r) => r.map((cell) => escapeControl(cell)));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => displayWidth(r[c]))));
  return cells.map((r) => indent + r.map((cell, c) => padEnd(cell, widths[c])).join("  ").trimEnd())
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
  if (graph.sandboxed !== undefined) out.push(`Sandbox: ${sandboxLine(graph.sandboxed)}`);
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
  const plugins = graph.nodes.filter((n) => n.plugin);
  if (plugins.length) {
    out.push("", "Plugins:");
    for (const n of plugins) {
      out.push(`  ${n.id}: ${n.plugin!.name}@${n.plugin!.version} (${n.plugin!.source})`);
    }
  }
  out.push(...cacheKeys(graph));
  const named = graph.nodes.filter((n) => n.title !== undefined);
  if (named.length) {
    out.push("", "Names:");
    for (const n of named) out.push(`  ${n.id}: ${n.title}`);
  }
  const described = graph.nodes.filter((n) => n.config.description);
  if (described.length) {
    out.push("");
    for (const n of described) out.push(`  ${n.id}: ${n.config.description}`);
  }
  if (graph.schedules?.length) {
    out.push("", "Schedule (run by `orchestra serve`):");
    for (const s of graph.schedules) {
      out.push(`  cron "${s.cron}"${s.location ? ` (${formatLocation(s.location)})` : ""}`);
    }
  }
  out.push("", ...notes(graph));
  return out.join("\n").trimEnd() + "\n";
}

/** What each cached task's key is made of (`describe`, `--dry-run`). */
function cacheKeys(graph: FlowGraph): string[] {
  const cached = graph.nodes.filter((n) => n.config.cache);
  if (!cached.length) return [];
  const seen = new Set<string>();
  const out = ["", "Cache keys (a result is reused only while every part matches):"];
  for (const n of cached) {
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    out.push(`  ${n.name}: ${describeCacheKey(graph.name, n.name, n.config.cache!)}`);
  }
  return out;
}

/** Where the flow's own code runs, as `describe` says it. */
function sandboxLine(sandboxed: boolean): string {
  return sandboxed
    ? "on — the flow's module, body and inline tasks run in a flow isolate with no permissions"
    : "OFF (unsandboxed) — the flow opted out: its module and inline tasks run in the " +
      "orchestrator, with all of its rights";
}

function notes(graph: FlowGraph): string[] {
  const out: string[] = (graph.notes ?? []).map((n) => `Note: ${n}.`);
  if (graph.sandboxed === true) {
    out.push(
      "Note: inline tasks run in the flow's isolate with no permissions; a task that requests " +
        "permissions or declares secrets runs in a task worker with exactly its grant.",
    );
  } else if (graph.sandboxed === false) {
    out.push(
      "Note: this flow runs unsandboxed: its module and inline tasks run in the orchestrator's " +
        "own isolate, with all of its rights.",
    );
  } else if (graph.nodes.some((n) => n.config.executor === "inline")) {
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
  out.push(...cacheKeys(graph));
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
    ...(graph.sandboxed !== undefined ? { sandboxed: graph.sandboxed } : {}),
    tasks: graph.nodes.map((n) => ({
      id: n.id,
      name: n.name,
      kind: n.kind,
      needs: n.needs,
      executor: n.config.executor,
      retries: n.config.retry.attempts - 1,
      timeoutMs: n.config.timeoutMs ?? null,
      priority: n.config.priority,
      cache: n.config.cache
        ? {
          ttlMs: n.config.cache.ttlMs,
          key: describeCacheKey(graph.name, n.name, n.config.cache),
          ...(n.config.cache.version !== undefined ? { version: n.config.cache.version } : {}),
          ...(n.config.cache.code !== undefined ? { code: n.config.cache.code } : {}),
        }
        : null,
      permissions: n.config.permissions ?? null,
      continueOnError: n.config.continueOnError,
      ...(n.title !== undefined ? { title: n.title } : {}),
      ...(n.map ? { items: n.map.items, mapConcurrency: n.map.concurrency ?? null } : {}),
      ...(n.plugin ? { plugin: n.plugin } : {}),
      location: n.location ? formatLocation(n.location) : null,
    })),
    dynamicAfter: graph.dynamicAfter?.taskId ?? null,
    schedules: (graph.schedules ?? []).map((s) => s.cron),
    notes: graph.notes ?? [],
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

// ---------------------------------------------------------------------------------------------
// Plugin pages: `orchestra plugins list` and `orchestra plugins info`.

type Schema = JsonSchema;

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Follows a local `$ref` (`#/$defs/x`); an unknown or cyclic one reads as "any". */
function deref(s: unknown, root: Schema, seen: ReadonlySet<string> = new Set()): Schema {
  if (!isSchema(s)) return {};
  const ref = s.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#")) return s;
  if (seen.has(ref)) return {};
  let target: unknown = root;
  for (const part of ref.slice(1).split("/").filter(Boolean)) {
    target = isSchema(target) ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  }
  return deref(target, root, new Set([...seen, ref]));
}

function variantsOf(s: Schema): Schema[] | undefined {
  const v = s.oneOf ?? s.anyOf;
  return Array.isArray(v) ? v.filter(isSchema) : undefined;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/**
 * A JSON Schema's type, written as people read it: `string`, `"GET" | "POST"`,
 * `string[]`, `Record<string, string>`, `integer | null`.
 *
 * @example
 * ```ts
 * import { schemaTypeText } from "./render.ts";
 * console.assert(schemaTypeText({ enum: ["a", "b"] }) === '"a" | "b"');
 * console.assert(schemaTypeText({ type: "array", items: { type: "string" } }) === "string[]");
 * console.assert(schemaTypeText({ anyOf: [{ type: "number" }, { type: "null" }] }) ===
 *   "number | null");
 * ```
 */
export function schemaTypeText(
  schema: JsonSchema,
  root: JsonSchema = schema,
  depth = 0,
): string {
  const s = deref(schema, root);
  if (depth > 6) return "…";
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return unique(s.enum.map((e) => JSON.stringify(e))).join(" | ");
  const variants = variantsOf(s);
  if (variants) return unique(variants.map((v) => schemaTypeText(v, root, depth + 1))).join(" | ");
  if (Array.isArray(s.allOf)) {
    return unique(s.allOf.filter(isSchema).map((v) => schemaTypeText(v, root, depth + 1)))
      .join(" & ");
  }
  if (Array.isArray(s.type)) {
    return s.type.map((t) => schemaTypeText({ ...s, type: t }, root, depth + 1)).join(" | ");
  }
  const type = s.type ?? (isSchema(s.properties) ? "object" : isSchema(s.items) ? "array" : "");
  switch (type) {
    case "array": {
      if (Array.isArray(s.prefixItems)) {
        const items = s.prefixItems.filter(isSchema).map((v) => schemaTypeText(v, root, depth + 1));
        return `[${items.join(", ")}]`;
      }
      if (!isSchema(s.items)) return "array";
      const inner = schemaTypeText(s.items, root, depth + 1);
      return /[|&]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
    }
    case "object":
      if (!isSchema(s.properties) && isSchema(s.additionalProperties)) {
        return `Record<string, ${schemaTypeText(s.additionalProperties, root, depth + 1)}>`;
      }
      return "object";
    case "string":
      return typeof s.format === "string" ? `string (${s.format})` : "string";
    case "":
      return "any";
    default:
      return String(type);
  }
}

function constraints(s: Schema): string[] {
  const out: string[] = [];
  const add = (key: string, text: string) => {
    const v = s[key];
    // zod's .int() states the safe-integer range: no news to anyone.
    if (typeof v === "number" && Math.abs(v) >= Number.MAX_SAFE_INTEGER) return;
    if (v !== undefined) out.push(`${text} ${JSON.stringify(v)}`);
  };
  add("minimum", "min");
  add("exclusiveMinimum", ">");
  add("maximum", "max");
  add("exclusiveMaximum", "<");
  add("minLength", "min length");
  add("maxLength", "max length");
  add("minItems", "min items");
  add("maxItems", "max items");
  if (typeof s.pattern === "string") out.push(`matches /${s.pattern}/`);
  if (s.deprecated === true) out.push("deprecated");
  return out;
}

/** The object a param's nested properties are listed from, if it is (or may be) one. */
function objectOf(s: Schema, root: Schema): Schema | undefined {
  if (isSchema(s.properties)) return s;
  const variants = variantsOf(s)?.map((v) => deref(v, root));
  const objects = variants?.filter((v) => isSchema(v.properties)) ?? [];
  const rest = variants?.filter((v) => !isSchema(v.properties) && v.type !== "null") ?? [];
  return objects.length === 1 && rest.length === 0 ? objects[0] : undefined;
}

function addParamRows(rows: string[][], schema: Schema, root: Schema, prefix: string, depth = 0) {
  const props = schema.properties;
  if (!isSchema(props)) return;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  for (const [key, raw] of Object.entries(props)) {
    const s = deref(raw, root);
    const name = prefix + key;
    const about = [typeof s.description === "string" ? s.description : s.title ?? ""]
      .map(String).filter(Boolean);
    const limits = constraints(s);
    if (limits.length) about.push(`(${limits.join(", ")})`);
    rows.push([
      name,
      schemaTypeText(s, root),
      required.has(key) ? "yes" : "no",
      "default" in s ? JSON.stringify(s.default) : "-",
      about.join(" "),
    ]);
    if (depth >= 4) continue;
    const nested = objectOf(s, root);
    if (nested) addParamRows(rows, nested, root, `${name}.`, depth + 1);
    else if (s.type === "array" && isSchema(s.items)) {
      const items = objectOf(deref(s.items, root), root);
      if (items) addParamRows(rows, items, root, `${name}[].`, depth + 1);
    }
  }
}

/**
 * The rows of a plugin's params table (without the header): param (nested properties as
 * `a.b`, items of arrays of objects as `a[].b`), type, required, default, description.
 *
 * @example
 * ```ts
 * import { paramRows } from "./render.ts";
 * const rows = paramRows({
 *   type: "object",
 *   properties: { url: { type: "string" }, retries: { type: "integer", default: 2 } },
 *   required: ["url"],
 * });
 * console.assert(rows[0].join(",") === "url,string,yes,-,");
 * console.assert(rows[1].join(",") === "retries,integer,no,2,");
 * ```
 */
export function paramRows(schema: JsonSchema): string[][] {
  const rows: string[][] = [];
  const top = objectOf(deref(schema, schema), schema);
  if (top) addParamRows(rows, top, schema, "");
  return rows;
}

/**
 * Splits text into lines of at most `width` characters at spaces (a longer word keeps its
 * own line).
 *
 * @example
 * ```ts
 * import { wrapText } from "./render.ts";
 * console.assert(wrapText("one two three", 8).join("|") === "one two|three");
 * ```
 */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/**
 * Like {@linkcode renderTable}, for cells of several lines: a cell may hold `\n`, and the
 * last column is wrapped so each line fits in `width` (when at least 20 columns are left for
 * it). The other cells of a taller row are blank below their first line. No final newline.
 *
 * @example
 * ```ts
 * import { renderWrappedTable } from "./render.ts";
 * const text = renderWrappedTable([["A", "B"], ["x\ny", "one two three four five six"]], 26);
 * console.assert(text === "A  B\nx  one two three four five\ny  six");
 * ```
 */
export function renderWrappedTable(rows: string[][], width: number, indent = ""): string {
  const cells = rows.map((r) => r.map((c) => c.split("\n")));
  const last = rows[0].length - 1;
  const widths = cells[0].map((_, c) =>
    Math.max(...cells.flatMap((r) => r[c].map((l) => l.length)))
  );
  const room = width - indent.length - widths.slice(0, last).reduce((a, w) => a + w + 2, 0);
  const out: string[][] = [];
  for (const row of cells) {
    if (room >= 20) row[last] = row[last].flatMap((l) => l.length > room ? wrapText(l, room) : [l]);
    const height = Math.max(...row.map((c) => c.length));
    for (let i = 0; i < height; i++) out.push(row.map((c) => c[i] ?? ""));
  }
  return renderTable(out, indent);
}

function inlineMarkdown(text: string): string {
  return text
    .replace(
      /!?\[([^\]]*)\]\(([^)\s]+)\)/g,
      (_, label: string, url: string) => label && label !== url ? `${label} (${url})` : url,
    )
    .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, (_, a?: string, b?: string) => a ?? b ?? "")
    .replace(/(^|[\s(])\*([^*\s][^*]*?)\*(?=$|[\s.,;:!?)])/g, "$1$2");
}

/**
 * Markdown shown as plain text lines, wrapped to `width`: paragraphs and list items are
 * re-flowed (list items with a hanging indent), headings lose their `#`, links read
 * `text (url)`, fenced and indented code and tables are kept as written.
 *
 * @example
 * ```ts
 * import { markdownLines } from "./render.ts";
 * const lines = markdownLines("# Use\n\nSends **one** request.\n\n- a b c\n", 80);
 * console.assert(lines.join("|") === "Use||Sends one request.||• a b c");
 * ```
 */
export function markdownLines(markdown: string, width: number): string[] {
  const out: string[] = [];
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  let para: string[] = [];
  const blank = () => {
    if (out.length && out[out.length - 1] !== "") out.push("");
  };
  const flush = () => {
    if (para.length) out.push(...wrapText(inlineMarkdown(para.join(" ")), width));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) {
        out.push(`  ${lines[i]}`.trimEnd());
      }
      continue;
    }
    if (line.trim() === "") {
      flush();
      blank();
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flush();
      blank();
      out.push(inlineMarkdown(heading[1]));
      continue;
    }
    const item = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const marker = /\d/.test(item[2]) ? item[2] : "•";
      const text = [item[3]];
      while (
        i + 1 < lines.length && lines[i + 1].trim() !== "" &&
        !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i + 1]) && !/^\s*(```|~~~)/.test(lines[i + 1])
      ) text.push(lines[++i].trim());
      const pad = " ".repeat(Math.min(item[1].length, 8));
      const hang = " ".repeat(marker.length + 1);
      const wrapped = wrapText(inlineMarkdown(text.join(" ")), width - pad.length - hang.length);
      wrapped.forEach((w, n) => out.push(`${pad}${n === 0 ? `${marker} ` : hang}${w}`));
      continue;
    }
    if ((/^( {4}|\t)/.test(line) && para.length === 0) || /^\s*\|/.test(line)) {
      flush();
      out.push(line.trimEnd());
      continue;
    }
    para.push(line.trim().replace(/^>\s?/, ""));
  }
  flush();
  while (out.length && out[out.length - 1] === "") out.pop();
  return out;
}

/**
 * A plugin's permissions in Deno's compact style: `net=api.example.com read=./data`,
 * `none`, or `computed from params`.
 *
 * @example
 * ```ts
 * import { pluginPermissionsText } from "./render.ts";
 * console.assert(pluginPermissionsText({ net: ["api.example.com"] }) === "net=api.example.com");
 * console.assert(pluginPermissionsText("computed") === "computed from params");
 * ```
 */
export function pluginPermissionsText(permissions: PermissionSet | "computed"): string {
  return permissions === "computed" ? "computed from params" : formatPermissions(permissions);
}

/** What a plugin's manual page shows besides its manifest. */
export interface PluginPageInfo {
  /** Where it comes from, for people: `built-in`, a path or a URL. */
  source: string;
  /** Its pinned integrity, for a remote plugin. */
  integrity?: string;
  /** Every version of it available, with where each is (when there are several). */
  versions?: { version: string; source: string }[];
}

/**
 * A plugin's manual page: NAME, SYNOPSIS, SOURCE, PARAMS (a table from its JSON Schema),
 * PERMISSIONS, RESULT, DOCS (its Markdown as text) and EXAMPLE, wrapped to `width`.
 */
export function renderPluginPage(
  manifest: PluginManifest,
  info: PluginPageInfo,
  width: number,
): string {
  const inner = width - 2;
  const out: string[] = [];
  const section = (title: string, lines: string[]) => {
    if (out.length) out.push("");
    out.push(title, ...lines.map((l) => l ? `  ${l}` : ""));
  };
  const head = `${manifest.name}@${manifest.version} — ${manifest.description}`;
  section("NAME", wrapText(head, inner).map((l, i) => i ? `  ${l}` : l));

  const rows = paramRows(manifest.params);
  const withKeys = rows.filter((r) => !/[.[]/.test(r[0]))
    .map((r) => r[2] === "yes" ? r[0] : `${r[0]}?`);
  const withLines = wrapText(`with: { ${withKeys.join(", ")} }`, inner - 6);
  section("SYNOPSIS", [
    `uses: ${manifest.name}`,
    ...(withKeys.length ? withLines.map((l, i) => i ? `      ${l}` : l) : []),
  ]);

  const source = [info.source];
  if (info.integrity) source.push(`pinned: ${info.integrity}`);
  section("SOURCE", source);
  if (info.versions && info.versions.length > 1) {
    section("VERSIONS", renderTable(info.versions.map((v) => [v.version, v.source])).split("\n"));
  }

  if (rows.length) {
    // Long types (unions, records) wrap in their own column, so descriptions keep room.
    const narrow = rows.map((r) => [r[0], wrapText(r[1], 30).join("\n"), ...r.slice(2)]);
    const table = [["PARAM", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], ...narrow];
    section("PARAMS", renderWrappedTable(table, inner).split("\n"));
  } else {
    const s = manifest.params;
    const open = s.additionalProperties !== false && !isSchema(s.properties);
    section("PARAMS", [open ? `any mapping (${schemaTypeText(s)})` : "none"]);
  }

  const p = manifest.permissions;
  let perms: string[];
  if (p === "computed") {
    perms = wrapText(
      "computed from params: the grant depends on the values under `with:` (see DOCS); " +
        "`orchestra run FLOW --dry-run` shows what each task is granted.",
      inner,
    );
  } else {
    const text = formatPermissions(p);
    perms = text === "none" ? ["none"] : text.split(" ");
    if (isUnsandboxed(p)) perms.push("(run or ffi: escapes Deno's sandbox)");
  }
  if (manifest.pure) {
    perms.push(
      ...wrapText(
        "pure: touches nothing outside its params and inputs (a built-in pure " +
          "plugin runs inline)",
        inner,
      ),
    );
  }
  section("PERMISSIONS", perms);

  if (manifest.result) section("RESULT", wrapText(manifest.result, inner));
  if (manifest.docs) section("DOCS", markdownLines(manifest.docs, inner));
  if (manifest.example) {
    section("EXAMPLE", manifest.example.replace(/\s+$/, "").split("\n").map((l) => l.trimEnd()));
  }
  return out.join("\n") + "\n";
}

/**
 * The commands that read a flow without running it: `validate`, `describe` and `graph`. They
 * share one path with `run --dry-run`: load, check params, plan, validate.
 *
 * @module
 */

import { layers } from "../../core/graph.ts";
import { formatLocation, isError } from "../../core/errors.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { graphJson, renderDescribe, renderDot, renderIssues, renderMermaid } from "../render.ts";
import { placeholderNote } from "../placeholders.ts";
import { FLOW_OPTIONS, prepare } from "./common.ts";

/**
 * Options of `validate` and `describe`: those of `run` that decide what a flow is (where its
 * plugins come from, the state dir with pinned plugins, the policy, the secrets file).
 */
export const INSPECT_OPTIONS = {
  ...FLOW_OPTIONS,
  "plugin-dir": { type: "string", multiple: true },
  "state-dir": { type: "string" },
} as const;

/** Options of `graph`. */
export const GRAPH_OPTIONS = {
  ...INSPECT_OPTIONS,
  format: { type: "string", short: "f" },
} as const;

/** `orchestra validate FILE`. */
export async function validateCommand(parsed: Parsed, io: Io): Promise<number> {
  const prepared = await prepare("validate", parsed, io, { allowInvalid: true });
  if (typeof prepared === "number") return prepared;
  const { graph } = prepared;
  const errors = graph.issues.filter(isError).length;
  const warnings = graph.issues.length - errors;
  if (parsed.values.json) {
    io.stdout(
      JSON.stringify(
        {
          valid: errors === 0,
          flow: graph.name,
          tasks: graph.nodes.length,
          issues: graph.issues.map((i) => ({
            severity: i.severity ?? "error",
            message: i.message,
            taskId: i.taskId ?? null,
            location: i.location ? formatLocation(i.location) : null,
            hint: i.hint ?? null,
          })),
        },
        null,
        2,
      ) + "\n",
    );
    return errors ? 2 : 0;
  }
  if (graph.issues.length) io.stderr(renderIssues(graph.name, graph.issues));
  if (errors) return 2;
  if (prepared.placeholders.length) io.stderr(`${placeholderNote(prepared.placeholders)}\n`);
  const steps = layers(graph.nodes).length;
  const dynamic = graph.dynamicAfter
    ? `; more tasks follow at run time after "${graph.dynamicAfter.taskId}"`
    : "";
  io.stdout(
    `✓ flow "${graph.name}" is valid: ${graph.nodes.length} task${
      graph.nodes.length === 1 ? "" : "s"
    } in ${steps} step${steps === 1 ? "" : "s"}${dynamic}${
      warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : ""
    }\n`,
  );
  return 0;
}

/** `orchestra describe FILE`. */
export async function describeCommand(parsed: Parsed, io: Io): Promise<number> {
  const prepared = await prepare("describe", parsed, io);
  if (typeof prepared === "number") return prepared;
  const note = prepared.placeholders.length ? placeholderNote(prepared.placeholders) : "";
  if (parsed.values.json) {
    if (note) io.stderr(`${note}\n`);
    io.stdout(JSON.stringify(graphJson(prepared.graph), null, 2) + "\n");
  } else io.stdout(renderDescribe(prepared.graph) + (note ? `\n${note}\n` : ""));
  return 0;
}

/** `orchestra graph FILE`. */
export async function graphCommand(parsed: Parsed, io: Io): Promise<number> {
  const format = (parsed.values.format as string | undefined) ??
    (parsed.values.json ? "json" : "mermaid");
  if (parsed.values.json && format !== "json") {
    throw new UsageError("graph", `--json is --format json; it cannot go with --format ${format}`);
  }
  if (!["mermaid", "dot", "json"].includes(format)) {
    throw new UsageError("graph", `--format must be mermaid, dot or json, got "${format}"`);
  }
  const prepared = await prepare("graph", parsed, io);
  if (typeof prepared === "number") return prepared;
  const { graph } = prepared;
  if (prepared.placeholders.length) io.stderr(`${placeholderNote(prepared.placeholders)}\n`);
  io.stdout(
    format === "json"
      ? JSON.stringify(graphJson(graph), null, 2) + "\n"
      : format === "dot"
      ? renderDot(graph)
      : renderMermaid(graph),
  );
  return 0;
}

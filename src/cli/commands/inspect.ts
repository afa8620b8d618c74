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
import { FLOW_OPTIONS, prepare } from "./common.ts";

/** Options of `validate` and `describe`. */
export const INSPECT_OPTIONS = FLOW_OPTIONS;

/** Options of `graph`. */
export const GRAPH_OPTIONS = { ...FLOW_OPTIONS, format: { type: "string", short: "f" } } as const;

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
  io.stdout(
    parsed.values.json
      ? JSON.stringify(graphJson(prepared.graph), null, 2) + "\n"
      : renderDescribe(prepared.graph),
  );
  return 0;
}

/** `orchestra graph FILE`. */
export async function graphCommand(parsed: Parsed, io: Io): Promise<number> {
  const format = (parsed.values.format as string | undefined) ?? "mermaid";
  if (!["mermaid", "dot", "json"].includes(format)) {
    throw new UsageError("graph", `--format must be mermaid, dot or json, got "${format}"`);
  }
  const prepared = await prepare("graph", parsed, io);
  if (typeof prepared === "number") return prepared;
  const { graph } = prepared;
  io.stdout(
    format === "json"
      ? JSON.stringify(graphJson(graph), null, 2) + "\n"
      : format === "dot"
      ? renderDot(graph)
      : renderMermaid(graph),
  );
  return 0;
}

/**
 * What a serve runner says of a file: the flows in it, each with its params schema, its
 * schedule as written and every problem (validation, schedule entries, schedule params). A TS
 * module that exports no flow is not a flow file and gives none; one that cannot be loaded
 * gives one invalid entry named after the file. `orchestra schedules` reads flows the same way.
 *
 * @module
 */

import { errorMessage } from "../../core/errors.ts";
import type { FlowDefinition } from "../../core/protocol.ts";
import type { ScheduleSpec } from "../../core/schedule.ts";
import { FlowIsolate } from "../../host/flow_isolate.ts";
import { scanModuleGraph } from "../../host/module_graph.ts";
import { checkFlowFile } from "../../loaders/ts_loader.ts";
import { isYamlFile } from "../../loaders/yaml_loader.ts";
import type { FlowInfo } from "../../server/runner_protocol.ts";
import type { Parsed } from "../args.ts";
import type { Io } from "../io.ts";
import { prepare } from "./common.ts";

/** The flows of `file` (absolute), as {@linkcode FlowInfo}s. */
export async function describeFile(file: string, parsed: Parsed, io: Io): Promise<FlowInfo[]> {
  let names: (string | undefined)[] = [undefined];
  if (!isYamlFile(file)) {
    try {
      // Only to list the flows it exports: prepare() loads each below.
      names = await exportedFlows(file, io.cwd);
      if (names.length === 0) return [];
    } catch (e) {
      return [invalid(file, errorMessage(e))];
    }
  }
  const out: FlowInfo[] = [];
  for (const name of names) out.push(await describeFlow(file, name, parsed, io));
  return out;
}

async function describeFlow(
  file: string,
  name: string | undefined,
  parsed: Parsed,
  io: Io,
): Promise<FlowInfo> {
  let err = "";
  const quiet: Io = { ...io, stdout: () => {}, stderr: (t) => void (err += t) };
  const values = { ...parsed.values, flow: name, param: undefined, "params-file": undefined };
  const prepared = await prepare("validate", { values, positionals: [file] }, quiet, {
    allowInvalid: true,
    params: {},
  });
  if (typeof prepared === "number") {
    return invalid(file, err.replace(/^error: /, "").trim(), name);
  }
  const { def, graph } = prepared;
  // A flow with required params is valid: its runs pass them.
  const issues = graph.issues.filter((i) => !i.message.startsWith("Missing required param"));
  // The schedule's problems are the flow's: validate reports them too (YAML: the loader, at
  // their line; TS: planning).
  const schedule = scheduleOf(def);
  return {
    name: graph.name,
    file,
    ...(name ? { exportName: name } : {}),
    ...(graph.description ? { description: graph.description } : {}),
    params: graph.params ?? {},
    schedule,
    issues,
    tasks: graph.nodes.length,
  };
}

/**
 * The names of the flows a TS module exports, read in a flow isolate (the host never imports
 * user code); a module whose imports a flow isolate refuses is left to prepare() to report.
 */
async function exportedFlows(file: string, cwd: string): Promise<string[]> {
  const { url } = await checkFlowFile(file, cwd);
  const modules = await scanModuleGraph(url);
  const isolate = await FlowIsolate.open(url, modules.files);
  try {
    return (await isolate.describe()).map((f) => f.options.name);
  } finally {
    isolate.terminate();
  }
}

function scheduleOf(def: FlowDefinition): ScheduleSpec[] {
  const s = (def.options as { schedule?: unknown }).schedule;
  return s === undefined ? [] : Array.isArray(s) ? s as ScheduleSpec[] : [s as ScheduleSpec];
}

function invalid(file: string, message: string, name?: string): FlowInfo {
  const base = file.slice(file.lastIndexOf("/") + 1).replace(/\.(ts|ya?ml)$/i, "");
  return { name: name ?? base, file, params: {}, schedule: [], issues: [{ message }], tasks: 0 };
}

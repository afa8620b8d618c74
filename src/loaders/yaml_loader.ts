/**
 * The YAML front end: reads a flow file (GitHub Actions' vocabulary or Chestra's
 * `workflow:` form) and gives the same flow graph and runnable flow as a TypeScript file.
 *
 * @module
 */

import { displayPath } from "../core/protocol.ts";
import { type CompiledFlow, compileFlow } from "./yaml/compile.ts";
import { loadFlowSpec } from "./yaml/load.ts";

/** Whether `path` names a YAML flow file. */
export function isYamlFile(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Options of {@linkcode loadYamlFlow}. */
export interface LoadYamlOptions {
  /** Reads host environment variables (secrets, the commands' base environment). */
  env?: (name: string) => string | undefined;
}

/**
 * Loads, validates and compiles a YAML flow. Never throws for bad input: every problem, with
 * its file:line:col, is in `graph.issues`.
 *
 * @example
 * ```ts ignore
 * import { loadYamlFlow } from "./yaml_loader.ts";
 * const { graph, def } = await loadYamlFlow("examples/etl.yaml", Deno.cwd());
 * if (graph.issues.length === 0) console.log(graph.nodes.map((n) => n.id));
 * ```
 */
export async function loadYamlFlow(
  path: string,
  cwd: string,
  options: LoadYamlOptions = {},
): Promise<CompiledFlow> {
  const absolute = path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
  const shown = displayPath(new URL(`file://${absolute}`).href);
  const spec = await loadFlowSpec(absolute, shown);
  const flowDir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const compileOptions = options.env ? { flowDir, env: options.env } : { flowDir };
  return compileFlow(spec, compileOptions);
}

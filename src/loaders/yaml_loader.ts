/**
 * The YAML front end: reads a flow file (GitHub Actions' vocabulary or Chestra's
 * `workflow:` form) and gives the same flow graph and runnable flow as a TypeScript file.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { displayPath } from "../core/protocol.ts";
import type { PluginSearch } from "../plugins/resolve.ts";
import { type CompiledFlow, compileFlow } from "./yaml/compile.ts";
import { loadFlowSpec } from "./yaml/load.ts";
import { resolveFlowPlugins } from "./yaml/plugins.ts";

/** Whether `path` names a YAML flow file. */
export function isYamlFile(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Options of {@linkcode loadYamlFlow}. */
export interface LoadYamlOptions {
  /** Reads host environment variables (secrets, the commands' base environment). */
  env?: (name: string) => string | undefined;
  /**
   * Where plugins named in `uses:` are looked for besides the built-ins and the `plugins/`
   * folder next to the flow (its `flowDir` is the flow file's directory).
   */
  plugins?: Omit<PluginSearch, "flowDir">;
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
export function loadYamlFlow(
  path: string,
  cwd: string,
  options: LoadYamlOptions = {},
): Promise<CompiledFlow> {
  return load(path, cwd, undefined, options);
}

/**
 * Like {@linkcode loadYamlFlow}, for a flow whose text is already in memory: `file` is where
 * it is (or would be), which locates its includes, its commands' directory and its messages.
 *
 * @example
 * ```ts ignore
 * import { loadYamlFlowText } from "./yaml_loader.ts";
 * const text = "tasks:\n  hello:\n    run: echo hello\n";
 * const { graph } = await loadYamlFlowText(text, "hello.yaml", { cwd: Deno.cwd() });
 * console.assert(graph.issues.length === 0);
 * ```
 */
export function loadYamlFlowText(
  text: string,
  file: string,
  options: LoadYamlOptions & {
    /** The directory a relative `file` is relative to. @default Deno.cwd() */
    cwd?: string;
  } = {},
): Promise<CompiledFlow> {
  return load(file, options.cwd ?? Deno.cwd(), text, options);
}

async function load(
  path: string,
  cwd: string,
  text: string | undefined,
  options: LoadYamlOptions,
): Promise<CompiledFlow> {
  const absolute = resolve(cwd, path);
  const shown = displayPath(pathToFileURL(absolute).href);
  const spec = await loadFlowSpec(absolute, shown, text);
  const flowDir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const plugins = await resolveFlowPlugins(spec, { ...options.plugins, flowDir });
  return compileFlow(spec, { flowDir, plugins, ...(options.env ? { env: options.env } : {}) });
}

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
import type { FlowSpec } from "./yaml/spec.ts";
import { isSubflowUses, type SubflowUse } from "./yaml/subflow.ts";

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
  chain: readonly { file: string; shown: string }[] = [],
): Promise<CompiledFlow> {
  const absolute = resolve(cwd, path);
  const shown = displayPath(pathToFileURL(absolute).href);
  const spec = await loadFlowSpec(absolute, shown, text);
  const flowDir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const subflows = await loadSubflows(spec, flowDir, options, [...chain, {
    file: absolute,
    shown,
  }]);
  // A `uses:` of a flow file is no plugin.
  const pluginSpec = { ...spec, tasks: spec.tasks.filter((t) => !isSubflowUses(t.fields.uses)) };
  const plugins = await resolveFlowPlugins(pluginSpec, { ...options.plugins, flowDir });
  return compileFlow(spec, {
    flowDir,
    plugins,
    subflows,
    ...(options.env ? { env: options.env } : {}),
  });
}

/**
 * Loads the flow file of each `uses: ./other.yaml`, relative to the flow's own directory, with
 * the same compiler; a file already in `chain` (the flows calling this one) is a cycle.
 */
async function loadSubflows(
  spec: FlowSpec,
  flowDir: string,
  options: LoadYamlOptions,
  chain: readonly { file: string; shown: string }[],
): Promise<Map<string, SubflowUse>> {
  const out = new Map<string, SubflowUse>();
  for (const t of spec.tasks) {
    const uses = t.fields.uses;
    if (!isSubflowUses(uses)) continue;
    const file = resolve(flowDir, uses);
    const shown = displayPath(pathToFileURL(file).href);
    const at = chain.findIndex((c) => c.file === file);
    if (at >= 0) {
      const names = [...chain.slice(at).map((c) => c.shown), shown];
      out.set(t.id, {
        uses,
        file: shown,
        error: {
          message: `flows call each other in a cycle: ${names.join(" → ")}`,
          hint: "a flow may not call itself, directly or through its subflows; break the cycle",
        },
      });
      continue;
    }
    const missing = await Deno.stat(file).then(
      () => undefined,
      (e) =>
        e instanceof Deno.errors.NotFound
          ? `no such file (looked for ${shown})`
          : String(e.message),
    );
    if (missing !== undefined) {
      out.set(t.id, {
        uses,
        file: shown,
        error: { message: missing, hint: "`uses:` of a flow file is relative to this flow's file" },
      });
      continue;
    }
    const child = await load(file, flowDir, undefined, options, chain);
    out.set(t.id, { uses, file: shown, flow: child });
  }
  return out;
}

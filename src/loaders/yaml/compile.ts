/**
 * Turns a checked YAML flow into the flow graph (for validation, `describe`, `graph`,
 * `--dry-run`) and into a runnable flow: the same engine and the same run record as a
 * TypeScript flow. A pipeline of small steps, each a function a test can call:
 *
 * 1. parse: `loadFlowSpec` (`load.ts`) reads the file, its includes and templates, and checks
 *    them against the schema (GitHub workflows through `github.ts`, Chestra's form through
 *    `chestra.ts`);
 * 2. check: {@linkcode checkFlow} makes the {@linkcode Checker} that parses every `${{ }}` and
 *    checks its names, and checks the flow's env and params;
 * 3. normalise: {@linkcode compileTask} (`task_compile.ts`) compiles each task;
 *    {@linkcode linkReads} checks that tasks read only tasks upstream;
 * 4. build: {@linkcode buildGraph} (`graph.ts`) and {@linkcode buildFlow} (`runtime.ts`).
 *
 * @module
 */

import type { FlowGraph } from "../../core/model.ts";
import type { FlowDefinition } from "../../core/protocol.ts";
import { Checker } from "./checker.ts";
import type { CompiledTask } from "./compiled.ts";
import type { Template } from "./expressions/mod.ts";
import { buildGraph, checkParams, flowDefaults, linkReads } from "./graph.ts";
import type { PluginUse } from "./plugins.ts";
import { buildFlow } from "./runtime.ts";
import { addServeOptions } from "./serve_options.ts";
import type { FlowSpec } from "./spec.ts";
import { compileTask, outputNames } from "./task_compile.ts";

export { buildFlow } from "./runtime.ts";
export { buildGraph, checkParams, linkReads } from "./graph.ts";
export { Checker } from "./checker.ts";
export { compileTask } from "./task_compile.ts";

/** A YAML flow ready to validate, describe and run. */
export interface CompiledFlow {
  /** The runnable flow (same contract as a TypeScript flow). */
  def: FlowDefinition;
  /** The static graph, with every problem found in `issues`. */
  graph: FlowGraph;
}

/** Where compiled tasks run commands and find files. */
export interface CompileOptions {
  /** The directory of the flow file: commands run there unless `working-directory` says. */
  flowDir: string;
  /** Reads a host environment variable (for `secrets.X` and the base environment). */
  env?: (name: string) => string | undefined;
  /**
   * What each task's `uses:` resolved to, by task id (see `resolveFlowPlugins`). Without it,
   * only built-in plugins are known.
   */
  plugins?: ReadonlyMap<string, PluginUse>;
}

/**
 * The check step: a {@linkcode Checker} for `spec`, the flow's params checked and its env's
 * expressions parsed (they may read params, secrets and the run's id).
 */
export function checkFlow(spec: FlowSpec): { checker: Checker; flowEnv: [string, Template][] } {
  const checker = new Checker(spec);
  for (const t of spec.tasks) checker.outputs.set(t.id, outputNames(t));
  checkParams(checker);
  const flowEnv: [string, Template][] = [];
  for (const [k, v] of Object.entries(spec.fields.env ?? {})) {
    const tpl = checker.template(String(v), ["env", k], { place: "flow-env" });
    if (tpl) flowEnv.push([k, tpl]);
  }
  // Names are shown everywhere: what an expression in one may read is checked.
  if (spec.name.includes("${{")) checker.template(spec.name, ["name"], { place: "name" });
  return { checker, flowEnv };
}

/** Compiles a checked spec. Problems are returned in `graph.issues`; nothing throws. */
export function compileFlow(spec: FlowSpec, options: CompileOptions): CompiledFlow {
  const { checker, flowEnv } = checkFlow(spec);
  const ctx = {
    flowDir: options.flowDir,
    ...(options.plugins ? { plugins: options.plugins } : {}),
  };
  const compiled: CompiledTask[] = spec.tasks.map((t) => compileTask(checker, t, ctx));
  linkReads(checker, compiled, options.plugins);
  const graph = buildGraph(checker, compiled, options.flowDir);
  const defaults = flowDefaults(spec);
  const def = buildFlow(spec, compiled, {
    flowDir: options.flowDir,
    hostEnv: options.env ?? ((n: string) => Deno.env.get(n)),
    flowEnv,
    ...(defaults ? { defaults } : {}),
  });
  addServeOptions(spec, compiled, graph, def);
  return { def, graph };
}

/**
 * Loading a TypeScript flow file as a host does: its module graph is read first (what it
 * imports from where), its module is loaded in a flow isolate (never into the host), and the
 * host gets the flow's options as data. Only a flow that opts out of the sandbox
 * (`sandbox: false`, or `--no-sandbox`), where the policy allows it, is imported into the
 * host, as the library does.
 *
 * @module
 */

import { basename } from "node:path";
import { FlowValidationError, type ValidationIssue } from "../core/errors.ts";
import { FLOW_BRAND, type FlowDefinition, PROTOCOL_VERSION } from "../core/protocol.ts";
import { checkFlowFile, FlowLoadError, loadFlowModule, pickFlow } from "../loaders/ts_loader.ts";
import type { Policy } from "../permissions/policy.ts";
import { FlowIsolate, IsolateError } from "./flow_isolate.ts";
import type { FlowSummary } from "./isolate_protocol.ts";
import { type ModuleGraph, scanModuleGraph } from "./module_graph.ts";
import { staticImportIssues, unsandboxedImportIssues } from "./remote_imports.ts";

/** A TypeScript flow, loaded for a command. */
export interface LoadedTsFlow {
  /** The flow: the real one when unsandboxed, else its options as data (its body is not here). */
  def: FlowDefinition;
  /** The export that holds it. */
  exportName: string;
  /** The module's URL. */
  url: string;
  /** The module graph. */
  modules: ModuleGraph;
  /** Whether its code runs in a flow isolate. */
  sandboxed: boolean;
  /** The isolate it was loaded in, while the command still needs it. */
  isolate?: FlowIsolate;
  /** Why it runs unsandboxed, when it does. */
  unsandboxedBy?: "flow" | "flag";
}

/** Options of {@linkcode loadTsFlow}. */
export interface LoadTsFlowOptions {
  /** The flow to pick (flow or export name). */
  flow?: string;
  /** `--no-sandbox`: the module is imported into the host. */
  noSandbox?: boolean;
  /** The local policy (`sandbox: required` forbids opting out). */
  policy?: Policy;
}

/** The flow's options as the host holds them: data, and a body that is not here. */
function stubDefinition(summary: FlowSummary): FlowDefinition {
  const { keys: _keys, ...options } = summary.options;
  return {
    [FLOW_BRAND]: PROTOCOL_VERSION,
    options,
    body: () => {
      throw new Error(`the body of flow "${options.name}" runs in its flow isolate`);
    },
    ...(summary.location ? { location: summary.location } : {}),
  } as FlowDefinition;
}

function refused(path: string, issues: ValidationIssue[]): never {
  throw new FlowValidationError(basename(path), issues);
}

function loadFailure(path: string, e: IsolateError): FlowLoadError {
  const denied = /Requires (\w+) access/.exec(e.message);
  const hint = denied
    ? `; a flow's module loads in its flow isolate, which has no permissions: do what needs ` +
      `${denied[1]} access inside a task that requests it`
    : "";
  return new FlowLoadError(path, `Cannot load "${path}": ${e.message}${hint}`, { cause: e });
}

async function unsandboxed(
  path: string,
  cwd: string,
  modules: ModuleGraph,
  by: "flow" | "flag",
  options: LoadTsFlowOptions,
): Promise<LoadedTsFlow> {
  if (options.policy?.sandbox === "required") {
    throw new FlowLoadError(
      path,
      `Cannot run "${path}" unsandboxed: ${
        by === "flag" ? "--no-sandbox was given" : "the flow says sandbox: false"
      }, and the policy${
        options.policy.file ? ` (${options.policy.file})` : ""
      } says sandbox: required; remove ${by === "flag" ? "--no-sandbox" : "sandbox: false"}`,
    );
  }
  const issues = unsandboxedImportIssues(modules, basename(path));
  if (issues.length) refused(path, issues);
  const loaded = await loadFlowModule(path, cwd, options.flow ? { flow: options.flow } : {});
  return {
    def: loaded.flow,
    exportName: loaded.exportName,
    url: loaded.url,
    modules,
    sandboxed: false,
    unsandboxedBy: by,
  };
}

/**
 * Loads the flow file at `path` (relative to `cwd`): its module graph first, then its module
 * in a flow isolate. Throws {@linkcode FlowLoadError} (or {@linkcode FlowValidationError}
 * for imports of remote code it may not make).
 */
export async function loadTsFlow(
  path: string,
  cwd: string,
  options: LoadTsFlowOptions = {},
): Promise<LoadedTsFlow> {
  const { url } = await checkFlowFile(path, cwd);
  const modules = await scanModuleGraph(url);
  if (options.noSandbox) return await unsandboxed(path, cwd, modules, "flag", options);
  const issues = staticImportIssues(modules);
  if (issues.length) refused(path, issues);
  let isolate: FlowIsolate;
  try {
    isolate = await FlowIsolate.open(url, modules.files);
  } catch (e) {
    if (e instanceof IsolateError) throw loadFailure(path, e);
    throw e;
  }
  let summary: FlowSummary;
  try {
    const flows = (await isolate.describe()).map((f) => ({
      ...f,
      name: f.exportName,
      flowName: f.options.name,
    }));
    summary = pickFlow(flows, path, options.flow);
  } catch (e) {
    isolate.terminate();
    if (e instanceof IsolateError) throw loadFailure(path, e);
    throw e;
  }
  if (summary.options.sandbox === false) {
    isolate.terminate();
    return await unsandboxed(path, cwd, modules, "flow", {
      ...options,
      flow: summary.exportName,
    });
  }
  return {
    def: stubDefinition(summary),
    exportName: summary.exportName,
    url,
    modules,
    sandboxed: true,
    isolate,
  };
}

/**
 * The worker side of plugin inspection. A plugin module from a folder, a URL or a package is
 * imported in a worker without any permission; this module reads the plugins it exports and
 * checks params against them, so the process that validates a flow never runs plugin code.
 * The worker starts from the sandbox bootstrap, like a task worker: the plugin's code cannot
 * signal or end the orchestrator, and its answers travel only on the bootstrap's private port.
 *
 * @module
 */

import { primordials as P, type SandboxScope, takeBridge } from "../executors/sandbox_bootstrap.ts";

import { type PluginDefinition, type PluginEnv, pluginManifest } from "./contract.ts";
import { checkPlugin, pluginsOf } from "./inspect_check.ts";

/** A request to check params against one of the module's plugins. */
export interface CheckRequest {
  /** Message type. */
  type: "check";
  /** Matches the reply to the request. */
  id: number;
  /** The plugin's name. */
  name: string;
  /** The params as written (values may still hold `${{ }}`). */
  params: unknown;
  /** What the plugin's permission function is told. */
  env: PluginEnv;
}

// Taken at this module's evaluation, before the plugin's module is imported.
const bridge = takeBridge();

let failed = false;

/** Tells the inspector that the module could not be read; only the first failure counts. */
export function inspectionFailed(e: unknown): void {
  if (failed) return;
  failed = true;
  let message: string;
  try {
    message = e instanceof P.SafeError ? P.SafeString(e.message) : P.SafeString(e);
  } catch {
    message = "an error that cannot be shown";
  }
  bridge.send({ type: "failed", message });
}

const moduleName = P.SafeString((globalThis as { name?: string }).name ?? "")
  .replace(/^orchestra:inspect:/, "");
// While the plugin's module loads, what its top-level code does is the module's.
bridge.setTopLevel({
  who: `the top-level code of plugin module ${moduleName || "being read"}`,
  context: undefined,
  loading: true,
  fail: (error: Error) => inspectionFailed(error),
});

/** Answers the inspector: call once, at the end of the worker's entry module. */
export function serveInspection(mod: Record<string, unknown>): void {
  bridge.setTopLevel(undefined);
  if (failed) return;
  let plugins: PluginDefinition[];
  let manifests: unknown;
  try {
    plugins = pluginsOf(mod);
    manifests = plugins.map(pluginManifest);
  } catch (e) {
    inspectionFailed(e);
    return;
  }
  bridge.receive((data) => {
    const m = data as CheckRequest;
    const plugin = plugins.find((p) => p.name === m.name);
    if (!plugin) {
      bridge.send({ type: "checked", id: m.id, error: `no plugin "${m.name}" here` });
      return;
    }
    // The plugin's permission and secret functions are its code: they run as its scope.
    let answered = false;
    const scope: SandboxScope = {
      who: `plugin "${m.name}"`,
      context: undefined,
      fail: (error: Error) => {
        if (answered) return;
        answered = true;
        bridge.send({ type: "checked", id: m.id, error: error.message });
      },
    };
    try {
      const check = bridge.run(scope, checkPlugin, plugin, m.params, m.env);
      if (!answered) bridge.send({ type: "checked", id: m.id, check });
    } catch (e) {
      scope.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      answered = true;
      bridge.end(scope);
    }
  });
  bridge.send({ type: "manifests", manifests });
}

/**
 * The worker side of plugin inspection. A plugin module from a folder, a URL or a package is
 * imported in a worker without any permission; this module reads the plugins it exports and
 * checks params against them, so the process that validates a flow never runs plugin code.
 *
 * @module
 */

import {
  isPluginDefinition,
  parsePluginParams,
  type PluginDefinition,
  type PluginEnv,
  pluginManifest,
  pluginPermissions,
  pluginSecrets,
} from "./contract.ts";
import type { ParamsCheck } from "./inspect.ts";

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

const self = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

/** The plugins a module exports, default export first, each once. */
export function pluginsOf(mod: Record<string, unknown>): PluginDefinition[] {
  const out: PluginDefinition[] = [];
  const keys = Object.keys(mod).sort((a, b) => (a === "default" ? -1 : b === "default" ? 1 : 0));
  for (const k of keys) {
    const v = mod[k];
    if (isPluginDefinition(v) && !out.includes(v)) out.push(v);
  }
  return out;
}

/** Checks params against a plugin and computes its permissions: the same in both processes. */
export function checkPlugin(
  plugin: PluginDefinition,
  params: unknown,
  env: PluginEnv,
): ParamsCheck {
  const parsed = parsePluginParams(plugin, params);
  const out: ParamsCheck = { problems: parsed.ok ? [] : parsed.problems };
  const secrets = pluginSecrets(plugin, parsed.ok ? parsed.value : params);
  if (secrets.length) out.secrets = secrets;
  try {
    out.permissions = pluginPermissions(plugin, parsed.ok ? parsed.value : params, env);
  } catch (e) {
    out.permissionsError = e instanceof Error ? e.message : String(e);
  }
  return out;
}

/** Answers the inspector: call once, at the end of the worker's entry module. */
export function serveInspection(mod: Record<string, unknown>): void {
  const plugins = pluginsOf(mod);
  self.onmessage = (e: MessageEvent<CheckRequest>) => {
    const m = e.data;
    const plugin = plugins.find((p) => p.name === m.name);
    if (!plugin) {
      self.postMessage({ type: "checked", id: m.id, error: `no plugin "${m.name}" here` });
      return;
    }
    self.postMessage({ type: "checked", id: m.id, check: checkPlugin(plugin, m.params, m.env) });
  };
  self.postMessage({ type: "manifests", manifests: plugins.map(pluginManifest) });
}

/**
 * What plugin inspection computes, the same in the inspection worker (for plugins from
 * folders, URLs and packages) and in the host (for the built-ins, our own code): the plugins a
 * module exports, and a check of params against one of them.
 *
 * @module
 */

import {
  isPluginDefinition,
  parsePluginParams,
  type PluginDefinition,
  type PluginEnv,
  pluginPermissions,
  pluginSecrets,
} from "./contract.ts";
import type { ParamsCheck } from "./inspect.ts";

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

/**
 * The built-in plugins, imported statically so the compiled binary embeds them.
 *
 * @module
 */

import end from "../../plugins/end.ts";
import start from "../../plugins/start.ts";
import type { PluginDefinition } from "./contract.ts";

/** The built-in plugins by name. */
export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(
  ([start, end] as PluginDefinition[]).map((p) => [p.name, p]),
);

/**
 * The built-in plugins, imported statically so the compiled binary embeds them. The full
 * plugin contract (`definePlugin`, schemas, loading from paths and URLs) builds on this.
 *
 * @module
 */

import end from "../../plugins/end.ts";
import start from "../../plugins/start.ts";
import type { TaskContext } from "../engine/types.ts";

/** What a plugin's `run` receives besides its params. */
export interface PluginContext {
  /** Results of the tasks this one waited for, by id. */
  inputs: Record<string, unknown>;
  /** The task's context: ids, logger, abort signal. */
  task: TaskContext;
}

/** A plugin as the engine runs it. */
export interface Plugin {
  /** The name `uses:` refers to. */
  name: string;
  /** Its version. */
  version: string;
  /** One line on what it does. */
  description: string;
  /** Does the work; the return value is the task's result. */
  run(params: Record<string, unknown>, ctx: PluginContext): unknown;
}

/** The built-in plugins by name. */
export const BUILTIN_PLUGINS: ReadonlyMap<string, Plugin> = new Map(
  [start, end].map((p) => [p.name, p]),
);

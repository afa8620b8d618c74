/**
 * The built-in plugins, imported statically so the compiled binary embeds them.
 *
 * @module
 */

import deno from "../../plugins/deno.ts";
import end from "../../plugins/end.ts";
import fs from "../../plugins/fs.ts";
import http from "../../plugins/http.ts";
import log from "../../plugins/log.ts";
import notify from "../../plugins/notify.ts";
import shell from "../../plugins/shell.ts";
import sleep from "../../plugins/sleep.ts";
import start from "../../plugins/start.ts";
import type { PluginDefinition } from "./contract.ts";

/** The built-in plugins by name. */
export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(
  ([start, end, shell, http, fs, deno, sleep, log, notify] as PluginDefinition[]).map((
    p,
  ) => [p.name, p]),
);

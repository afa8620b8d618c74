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

/** The built-in plugins by name, with their types: `usePlugin("http", …)` checks its params. */
export interface BuiltinPlugins {
  /** Chestra's first task. */
  start: typeof start;
  /** Chestra's last task. */
  end: typeof end;
  /** `sh -c` a command. */
  shell: typeof shell;
  /** An HTTP request. */
  http: typeof http;
  /** File operations inside the granted paths. */
  fs: typeof fs;
  /** A TypeScript module or snippet with the permissions given to it. */
  deno: typeof deno;
  /** Waits for a duration. */
  sleep: typeof sleep;
  /** A message to the task's log. */
  log: typeof log;
  /** A message to a Slack-compatible webhook. */
  notify: typeof notify;
}

/** The built-in plugins by name. */
export const BUILTIN_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(
  ([start, end, shell, http, fs, deno, sleep, log, notify] as PluginDefinition[]).map((
    p,
  ) => [p.name, p]),
);

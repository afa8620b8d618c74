/**
 * Orchestra's built-in plugins, for use from TypeScript: each export is the plugin's
 * definition (the value `definePlugin` returned), with its params schema, permissions,
 * documentation and `run`. YAML flows name them in `uses:` (`uses: http`).
 *
 * - `start`, `end`: where a Chestra workflow begins and ends
 * - `shell`: runs a command with `sh -c`
 * - `http`: sends an HTTP request (JSON, headers, retries, timeout)
 * - `fs`: reads, writes, copies, lists and globs files inside the granted paths
 * - `deno`: runs a TypeScript module or snippet with the permissions given to it
 * - `sleep`: waits for a duration
 * - `log`: writes a message to the task's log
 * - `notify`: posts to a Slack-compatible webhook
 *
 * @example
 * ```ts
 * import { flow, usePlugin } from "@orchestra/orchestra";
 * import { log, sleep } from "@orchestra/orchestra/plugins";
 *
 * const greet = flow("greet", () => {
 *   const pause = usePlugin(sleep, { duration: "10ms" });
 *   return usePlugin(log, { message: "hello", level: "info" }, { inputs: { pause } });
 * });
 * const record = await greet.run();
 * console.assert(record.status === "succeeded" && record.result === "hello");
 * ```
 *
 * @module
 */

// Chestra's markers
export { default as end } from "./end.ts";
export { default as start } from "./start.ts";

// Work
export { default as deno } from "./deno.ts";
export { default as fs } from "./fs.ts";
export { default as http } from "./http.ts";
export { default as shell } from "./shell.ts";

// Flow control and reporting
export { default as log } from "./log.ts";
export { default as notify } from "./notify.ts";
export { default as sleep } from "./sleep.ts";

// Their params
export type { DenoContext, DenoInput, DenoParams } from "./deno.ts";
export type { FsInput, FsOp, FsParams } from "./fs.ts";
export type { HttpInput, HttpMethod, HttpParams, HttpResult, QueryValue } from "./http.ts";
export type { LogInput, LogParams } from "./log.ts";
export type { NotifyInput, NotifyParams, NotifyResult } from "./notify.ts";
export type { ShellInput, ShellParams } from "./shell.ts";
export type { SleepParams } from "./sleep.ts";

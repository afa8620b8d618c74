/**
 * Testing utilities for flows and plugins (`@orchestra/orchestra/testing`).
 *
 * - {@linkcode runFlow} runs a TypeScript flow, YAML text or a flow file in this process on
 *   virtual time ({@linkcode TestClock}), journaled to an in-memory store, with tasks
 *   (`mocks`) or plugins (`plugins`) replaced, and resolves with the run record and its events.
 * - {@linkcode runPlugin} runs a plugin here with a fake context and captures its logs;
 *   {@linkcode runPluginInWorker} runs it in a worker with exactly its permissions.
 * - `assert*` helpers check a run record and, when they fail, list every task with its status.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 * import {
 *   assertRanBefore,
 *   assertSucceeded,
 *   assertTaskAttempts,
 *   assertTaskResult,
 *   runFlow,
 * } from "@orchestra/orchestra/testing";
 *
 * const download = task("download", async () => {
 *   const response = await fetch("https://example.com/users.csv");
 *   return await response.text();
 * });
 * let attempts = 0;
 * const parse = task({ name: "parse", retries: { attempts: 3, delay: "1m" } }, (text: string) => {
 *   if (++attempts < 3) throw new Error("flaky");
 *   return text.split(",");
 * });
 * const users = flow("users", () => parse(download()));
 *
 * // No network, and two one-minute retry delays that take no real time.
 * const run = await runFlow(users, { mocks: { download: "ada,alan" } });
 * assertSucceeded(run);
 * assertTaskResult(run, "parse", ["ada", "alan"]);
 * assertTaskAttempts(run, "parse", 3);
 * assertRanBefore(run, "download", "parse");
 * ```
 *
 * @module
 */

export { runFlow } from "./src/testing/flow.ts";
export type { RunFlowOptions, TestRun, TestRunExtras } from "./src/testing/flow.ts";
export { usesName } from "./src/testing/mocks.ts";
export type { PluginMock, TaskMock } from "./src/testing/mocks.ts";
export { runPlugin, runPluginInWorker } from "./src/testing/plugin.ts";
export type {
  PluginLogLine,
  PluginRun,
  PluginRunOptions,
  RunPluginInWorkerOptions,
  RunPluginOptions,
} from "./src/testing/plugin.ts";
export {
  assertFailed,
  assertLogged,
  assertRanBefore,
  assertSucceeded,
  assertTaskAttempts,
  assertTaskResult,
  assertTaskStatus,
  describeTasks,
  getTask,
  taskResult,
} from "./src/testing/assertions.ts";

// Time and state, for tests that pass their own
export { TestClock } from "./src/testing/clock.ts";
export { FakeClock, systemClock } from "./src/engine/clock.ts";
export type { Clock } from "./src/engine/clock.ts";
export { MemoryStore } from "./src/store/memory_store.ts";

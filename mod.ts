/**
 * Orchestra: workflows as TypeScript. Calling a task inside a flow returns a reference to its
 * result; passing references makes edges; independent tasks run in parallel.
 *
 * @example
 * ```ts
 * import { flow, task } from "@orchestra/orchestra";
 *
 * const extract = task("extract", () => [1, 2, 3, 4]);
 * const square = task("square", (n: number) => n * n);
 * const load = task({ name: "load", retries: 2 }, (xs: number[]) => xs.reduce((a, b) => a + b));
 *
 * const etl = flow("etl", (f) => load(f.map(extract(), square)));
 * const record = await etl.run();
 * console.assert(record.status === "succeeded" && record.result === 30);
 * ```
 *
 * @module
 */

// Defining flows and tasks
export { task } from "./src/api/task.ts";
export type { Input, Task, TaskArgs } from "./src/api/task.ts";
export { flow } from "./src/api/flow.ts";
export { context } from "./src/api/context.ts";

// Plugins
export { usePlugin } from "./src/api/plugin.ts";
export type { UsePluginOptions } from "./src/api/plugin.ts";
export type { BuiltinPlugins } from "./src/plugins/builtin.ts";
export { definePlugin, isPluginDefinition, PLUGIN_BRAND } from "./src/plugins/contract.ts";
export type {
  JsonSchema,
  ParamsProblem,
  PluginContext,
  PluginDefinition,
  PluginEnv,
  PluginManifest,
  PluginParams,
  PluginPermissions,
  PluginResult,
  PluginSecrets,
  PluginSpec,
  WithDefaults,
  ZodLike,
} from "./src/plugins/contract.ts";
export { PluginLoadError } from "./src/plugins/resolve.ts";
export type { PluginSearch, PluginSourceKind, ResolvedPlugin } from "./src/plugins/resolve.ts";
export { PluginInspector } from "./src/plugins/inspect.ts";
export type { ParamsCheck } from "./src/plugins/inspect.ts";
export type { Flow, FlowBody, NoParams, Resolved } from "./src/api/flow.ts";
export type { FlowHandle, MapOptions, TaskRef } from "./src/engine/run.ts";
export type { WorkerCall, WorkerTaskInfo } from "./src/executors/worker_pool.ts";

// Options, context, hooks and records
export type {
  FlowOptions,
  Hooks,
  Journal,
  JournalEvent,
  Middleware,
  PriorAttempts,
  RestoredTask,
  RunOptions,
  RunRecord as RunRecordData,
  TaskContext,
  TaskLogger,
  TaskLogLine,
  TaskRecord,
} from "./src/engine/types.ts";
export type {
  CancelledRunRecord,
  FailedRunRecord,
  RunRecord,
  RunRecordBase,
  SucceededRunRecord,
} from "./src/api/record.ts";
export type {
  CacheOptions,
  CachePolicy,
  ExecutorKind,
  RetryFilter,
  RetryOptions,
  RetryPolicy,
  TaskConfig,
  TaskOptions,
  TaskSettings,
} from "./src/core/model.ts";
export type {
  ParamsOf,
  ParamSpec,
  ParamsSchema,
  ParamType,
  ParamTypeOf,
  ParamValue,
} from "./src/core/params.ts";
export { PERMISSION_NAMES } from "./src/core/permissions.ts";
export type { PermissionName, PermissionSet } from "./src/core/permissions.ts";
export { FLOW_BRAND, PROTOCOL_VERSION, TASK_BRAND } from "./src/core/protocol.ts";
export type {
  CallOptions,
  ConditionInfo,
  FlowDefinition,
  TaskCondition,
  TaskDefinition,
} from "./src/core/protocol.ts";
export type { Duration } from "./src/core/duration.ts";

// Events
export type {
  EventListener,
  LogLevel,
  RunEvent,
  RunEventBase,
  RunStatus,
  TaskEventBase,
  TaskStatus,
} from "./src/core/events.ts";

// Running, planning, executors, time and caching
export { executeFlow } from "./src/engine/execute.ts";
export { planFlow, type PlanOptions } from "./src/engine/plan.ts";
export type { FlowGraph, FlowSchedule, TaskNode } from "./src/core/model.ts";
export { FakeClock, systemClock } from "./src/engine/clock.ts";
export type { Clock } from "./src/engine/clock.ts";
export { MemoryCache } from "./src/engine/cache.ts";
export { ExecutorRegistry, InlineExecutor } from "./src/engine/executor.ts";
export type { Executor, TaskCall } from "./src/engine/executor.ts";
export { WorkerExecutor } from "./src/executors/worker_executor.ts";
export type { WorkerRunner } from "./src/executors/worker_executor.ts";

// Durable state
export { MemoryStore } from "./src/store/memory_store.ts";
export type { MemoryStoreOptions } from "./src/store/memory_store.ts";
export { SqliteStore } from "./src/store/sqlite_store.ts";
export type { Durability, SqlitePragmas, SqliteStoreOptions } from "./src/store/sqlite_store.ts";
export { RunNotFoundError, StoreError, StoreVersionError } from "./src/store/store.ts";
export type {
  AppendEvent,
  CacheEntry,
  EventQuery,
  NewRun,
  ProcessRecord,
  ReopenOptions,
  RunFilter,
  RunRow,
  RunRowStatus,
  StateEntry,
  StatePutOptions,
  Store,
  StoredEvent,
  TaskRow,
} from "./src/store/store.ts";
export { RunLeaseLostError, RunOwnedError } from "./src/store/ownership.ts";
export type { RunClaim, RunLease, RunOwner, RunOwnership } from "./src/store/ownership.ts";
// Schedules of flows (run by orchestra serve).
export type { CatchupPolicy, OverlapPolicy, ScheduleSpec } from "./src/core/schedule.ts";
export { StoreCache } from "./src/engine/cache.ts";
export type { CacheHit, ResultCache } from "./src/engine/cache.ts";
export { Orchestrator } from "./src/orchestrator/orchestrator.ts";
export type {
  OrchestratorOptions,
  OrchestratorStopOptions,
  RunRetryOptions,
  RunStatusReport,
  RunTaskSummary,
} from "./src/orchestrator/orchestrator.ts";

// Errors
export {
  FlowValidationError,
  MapLimitError,
  NonDeterminismError,
  NotJsonError,
  OrchestraError,
  ParamsValidationError,
  RunCancelledError,
  TaskFailedError,
  TaskSkippedError,
  TaskTimeoutError,
} from "./src/core/errors.ts";
export type { SourceLocation, ValidationIssue } from "./src/core/errors.ts";

/**
 * The flow graph both front ends produce (the IR), and the task options they share.
 * Nothing downstream knows whether a TypeScript body or a YAML file made a graph.
 *
 * @module
 */

import type { Duration } from "./duration.ts";
import { parseDuration } from "./duration.ts";
import type { SourceLocation, ValidationIssue } from "./errors.ts";
import type { ParamsSchema } from "./params.ts";
import { checkPermissionSet, type PermissionSet } from "./permissions.ts";
import { didYouMean } from "./suggest.ts";

/** Where a task runs. */
export type ExecutorKind = "inline" | "worker" | "process";

/** Every executor name, including those a given build may not offer yet. */
export const EXECUTOR_KINDS: readonly ExecutorKind[] = ["inline", "worker", "process"];

/** Which errors are retried: a predicate, or a list of error names or classes. */
export type RetryFilter =
  | ((error: unknown) => boolean)
  | readonly (string | (abstract new (...args: never[]) => Error))[];

/** Retry settings in their long form. */
export interface RetryOptions {
  /** Total attempts, including the first. @default 1 */
  attempts?: number;
  /** Delay before the first retry. @default "1s" */
  delay?: Duration;
  /** Factor the delay grows by after each retry. @default 2 */
  backoff?: number;
  /** Upper bound of any delay. @default "5m" */
  maxDelay?: Duration;
  /** Random spread of each delay, as a fraction (0.2 = ±20%). @default 0 */
  jitter?: number;
  /** Which errors are retried. @default every error except invalid data */
  retryOn?: RetryFilter;
}

/** Result cache settings. */
export interface CacheOptions {
  /** How long a cached result stays valid. @default "1h" */
  ttl?: Duration;
  /**
   * Computes the cache key from the task's resolved arguments. An explicit key replaces the
   * flow, the task and its code in the key, so tasks of other flows that compute the same key
   * share results. @default the flow, the task, its code and the arguments
   */
  key?: (args: readonly unknown[]) => string;
  /** Bump it to drop the results cached so far (a string or a number). @default none */
  version?: string | number;
}

/** Settings a task may carry; flows can give defaults for most of them. */
export interface TaskSettings {
  /** Extra attempts (a number), or the long form with `attempts` = total attempts. */
  retries?: number | RetryOptions;
  /** Per-attempt time limit: `"500ms"`, `"30s"`, `"10m"`, or milliseconds. */
  timeout?: Duration;
  /** Among ready tasks, higher priority starts first. @default 0 */
  priority?: number;
  /** Cache results by task and inputs: `true` for the defaults or cache options. */
  cache?: boolean | CacheOptions;
  /** Where the task runs. @default "inline" */
  executor?: ExecutorKind;
  /** Deno permissions the task requests. @default none */
  permissions?: PermissionSet;
  /** Downstream tasks run and the run does not fail when this task fails. @default false */
  continueOnError?: boolean;
  /** The secrets the task may read with `ctx.secret(name)`. @default none */
  secrets?: readonly string[];
}

/** Options of a task: its name plus its settings. */
export interface TaskOptions extends TaskSettings {
  /** The task's name; ids of its calls derive from it. */
  name: string;
  /** One line on what the task does. */
  description?: string;
  /** Free-form labels. */
  tags?: readonly string[];
}

/** A normalised retry policy. */
export interface RetryPolicy {
  /** Total attempts, at least 1. */
  attempts: number;
  /** Delay before the first retry, in ms. */
  delayMs: number;
  /** Growth factor of the delay. */
  backoff: number;
  /** Upper bound of a delay, in ms. */
  maxDelayMs: number;
  /** Random spread, 0..1. */
  jitter: number;
  /** Which errors are retried; undefined means every error except invalid data. */
  retryOn?: RetryFilter;
}

/** A normalised cache policy. */
export interface CachePolicy {
  /** Validity in ms. */
  ttlMs: number;
  /** Custom key function. */
  key?: (args: readonly unknown[]) => string;
  /** The version the user gave, as text. */
  version?: string;
  /**
   * A hash of what the task is (its identity string, or its function's source), once the engine
   * has computed it (planning shows it).
   */
  code?: string;
}

/** A task's settings after defaults are applied and values are parsed. */
export interface TaskConfig {
  /** The task's name. */
  name: string;
  /** What it does. */
  description?: string;
  /** Labels. */
  tags: readonly string[];
  /** Retry policy. */
  retry: RetryPolicy;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
  /** Scheduling priority. */
  priority: number;
  /** Cache policy, if caching is on. */
  cache?: CachePolicy;
  /** Executor. */
  executor: ExecutorKind;
  /** Requested permissions. */
  permissions?: PermissionSet;
  /** Whether failure lets downstream tasks run. */
  continueOnError: boolean;
  /** The secrets it may read. */
  secrets: readonly string[];
}

/** One node of the flow graph. */
export interface TaskNode {
  /** Unique within the run: the task name, `name#2` for a second call, `name[3]` for a map item. */
  id: string;
  /** The task's name. */
  name: string;
  /** `map` for a fan-out group, `task` otherwise. */
  kind: "task" | "map";
  /** Ids of the nodes this one waits for. */
  needs: readonly string[];
  /** The task's settings. */
  config: TaskConfig;
  /** Where the task is called or declared. */
  location?: SourceLocation;
  /** For a map: how many items (a number once known) and its concurrency limit. */
  map?: { items: number | "dynamic"; concurrency?: number };
  /** For a task that runs a plugin: which one, and where it was found. */
  plugin?: { name: string; version: string; source: string };
  /** The name shown to people, when it differs from the id (a YAML task's `name:`). */
  title?: string;
  /** The URL of the module whose top level defined the task (what a worker of it loads). */
  module?: string;
}

/** A cron entry of a flow's schedule: when `orchestra serve` runs it. */
export interface FlowSchedule {
  /** Five fields: minute hour day-of-month month day-of-week. */
  cron: string;
  /** Where it was written. */
  location?: SourceLocation;
}

/** The flow graph: what validation, `describe`, `graph` and `--dry-run` work on. */
export interface FlowGraph {
  /** The flow's name. */
  name: string;
  /** What the flow does. */
  description?: string;
  /** Where the flow is defined. */
  location?: SourceLocation;
  /** The params schema. */
  params?: ParamsSchema;
  /** The permission ceiling: no task may request more. */
  permissions?: PermissionSet;
  /** The global concurrency limit. */
  concurrency?: number;
  /** The nodes, in call (or declaration) order. */
  nodes: TaskNode[];
  /** Set when the body awaits a result: the graph past this point is known only at run time. */
  dynamicAfter?: { taskId: string; location?: SourceLocation };
  /** Problems found while the front end built the graph. */
  issues: ValidationIssue[];
  /** When `orchestra serve` runs the flow. */
  schedules?: FlowSchedule[];
  /** What the flow's file says that is accepted and ignored, for `describe`. */
  notes?: string[];
  /**
   * Where the flow's own code runs: `true` in a flow isolate with no permissions (the CLI's
   * default for TypeScript flows), `false` in the orchestrator itself (the flow opted out).
   * Unset for YAML flows (they hold no code of their own) and in the library.
   */
  sandboxed?: boolean;
}

const RETRY_KEYS = ["attempts", "delay", "backoff", "maxDelay", "jitter", "retryOn"];
const SETTING_KEYS = [
  "retries",
  "timeout",
  "priority",
  "cache",
  "executor",
  "permissions",
  "continueOnError",
  "secrets",
];
const TASK_KEYS = ["name", "description", "tags", ...SETTING_KEYS];
const DEFAULT_RETRY: RetryPolicy = {
  attempts: 1,
  delayMs: 1000,
  backoff: 2,
  maxDelayMs: 300_000,
  jitter: 0,
};

function duration(
  value: Duration,
  what: string,
  issues: string[],
): number | undefined {
  try {
    return parseDuration(value);
  } catch (e) {
    issues.push(`${what}: ${(e as Error).message}`);
    return undefined;
  }
}

function normalizeRetry(value: number | RetryOptions | undefined, issues: string[]): RetryPolicy {
  if (value === undefined) return DEFAULT_RETRY;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) {
      issues.push(`retries must be a whole number of extra attempts, got ${value}`);
      return DEFAULT_RETRY;
    }
    return { ...DEFAULT_RETRY, attempts: value + 1 };
  }
  if (value === null || typeof value !== "object") {
    issues.push(`retries must be a number or { attempts, delay, backoff, maxDelay, jitter }`);
    return DEFAULT_RETRY;
  }
  for (const k of Object.keys(value)) {
    if (!RETRY_KEYS.includes(k)) {
      issues.push(`retries has unknown option "${k}"${didYouMean(k, RETRY_KEYS)}`);
    }
  }
  const policy: RetryPolicy = { ...DEFAULT_RETRY };
  if (value.attempts !== undefined) {
    if (!Number.isInteger(value.attempts) || value.attempts < 1) {
      issues.push(`retries.attempts must be a whole number ≥ 1 (total attempts)`);
    } else policy.attempts = value.attempts;
  }
  if (value.delay !== undefined) {
    policy.delayMs = duration(value.delay, "retries.delay", issues) ?? policy.delayMs;
  }
  if (value.maxDelay !== undefined) {
    policy.maxDelayMs = duration(value.maxDelay, "retries.maxDelay", issues) ?? policy.maxDelayMs;
  }
  if (value.backoff !== undefined) {
    if (typeof value.backoff !== "number" || !(value.backoff >= 1)) {
      issues.push(`retries.backoff must be a number ≥ 1, got ${value.backoff}`);
    } else policy.backoff = value.backoff;
  }
  if (value.jitter !== undefined) {
    if (typeof value.jitter !== "number" || value.jitter < 0 || value.jitter > 1) {
      issues.push(`retries.jitter must be a fraction between 0 and 1, got ${value.jitter}`);
    } else policy.jitter = value.jitter;
  }
  if (value.retryOn !== undefined) {
    if (typeof value.retryOn !== "function" && !Array.isArray(value.retryOn)) {
      issues.push(`retries.retryOn must be a function or a list of error names or classes`);
    } else policy.retryOn = value.retryOn;
  }
  return policy;
}

/**
 * Applies flow defaults to a task's options and parses them. Problems are returned as
 * sentences (the caller adds the task id and location).
 *
 * @example
 * ```ts
 * import { normalizeTaskOptions } from "./model.ts";
 * const { config, problems } = normalizeTaskOptions({ name: "load", timeout: "30s" }, { retries: 2 });
 * console.assert(problems.length === 0 && config.timeoutMs === 30_000 && config.retry.attempts === 3);
 * ```
 */
export function normalizeTaskOptions(
  options: TaskOptions,
  defaults: TaskSettings = {},
): { config: TaskConfig; problems: string[] } {
  const problems: string[] = [];
  for (const k of Object.keys(options)) {
    if (!TASK_KEYS.includes(k)) {
      problems.push(`unknown task option "${k}"${didYouMean(k, TASK_KEYS)}`);
    }
  }
  for (const k of Object.keys(defaults)) {
    if (!SETTING_KEYS.includes(k)) {
      problems.push(`unknown task default "${k}"${didYouMean(k, SETTING_KEYS)}`);
    }
  }
  const o = { ...defaults, ...stripUndefined(options) } as TaskOptions;
  const config: TaskConfig = {
    name: o.name,
    tags: o.tags ?? [],
    retry: normalizeRetry(o.retries, problems),
    priority: 0,
    executor: "inline",
    continueOnError: !!o.continueOnError,
    secrets: [],
  };
  if (o.secrets !== undefined) {
    if (!Array.isArray(o.secrets) || !o.secrets.every((s) => typeof s === "string" && s)) {
      problems.push(`secrets must be a list of secret names, e.g. ["API_TOKEN"]`);
    } else config.secrets = [...o.secrets];
  }
  if (o.description !== undefined) config.description = o.description;
  if (o.timeout !== undefined) {
    const ms = duration(o.timeout, "timeout", problems);
    if (ms !== undefined) {
      if (ms <= 0) problems.push(`timeout must be greater than zero`);
      else config.timeoutMs = ms;
    }
  }
  if (o.priority !== undefined) {
    if (typeof o.priority !== "number" || !Number.isFinite(o.priority)) {
      const got = typeof o.priority === "number" ? o.priority : JSON.stringify(o.priority);
      problems.push(`priority must be a number, got ${got}`);
    } else config.priority = o.priority;
  }
  if (o.cache) {
    const c = o.cache === true ? {} : o.cache;
    const ttlMs = c.ttl === undefined ? 3_600_000 : duration(c.ttl, "cache.ttl", problems);
    config.cache = { ttlMs: ttlMs ?? 3_600_000 };
    if (c.key) config.cache.key = c.key;
    if (c.version !== undefined) {
      if (
        typeof c.version === "string" ||
        (typeof c.version === "number" && Number.isFinite(c.version))
      ) {
        config.cache.version = String(c.version);
      } else problems.push(`cache.version must be a string or a number, got ${typeof c.version}`);
    }
  }
  if (o.executor !== undefined) {
    if (!EXECUTOR_KINDS.includes(o.executor)) {
      problems.push(
        `unknown executor "${o.executor}"${didYouMean(String(o.executor), EXECUTOR_KINDS)}`,
      );
    } else config.executor = o.executor;
  }
  if (o.permissions !== undefined) {
    problems.push(...checkPermissionSet(o.permissions, "permissions"));
    config.permissions = o.permissions;
  }
  return { config, problems };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Characters a task name may not contain, because ids are built from names. */
export const RESERVED_NAME_CHARS: RegExp = /[#\[\]\s]/;

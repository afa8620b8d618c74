/**
 * What running and planning a flow share: ids of task calls, task settings with the flow's
 * defaults applied, and the checks every call's arguments pass.
 *
 * @module
 */

import { NotJsonError, type ValidationIssue } from "../core/errors.ts";
import { findNonJson } from "../core/json.ts";
import { normalizeTaskOptions, type TaskConfig, type TaskSettings } from "../core/model.ts";
import { exceedsCeiling, formatPermissions, type PermissionSet } from "../core/permissions.ts";
import type { TaskDefinition } from "../core/protocol.ts";

/** The executors this build offers. */
export const AVAILABLE_EXECUTORS = ["inline", "worker"] as const;

// A matrix leg's id names its values, `build[os=linux,node=20]`: never a map item's `name[3]`.
const LEG_ID = /^[^\[\]\s#]+\[[^\[\]\s#=,]+=[^\[\]\s#]*\]$/;

/**
 * Deterministic call ids: the first call of `load` is `load`, the second `load#2`, and so on,
 * so the same body makes the same ids on every run (the basis of durable replay).
 */
export class CallIds {
  #counts = new Map<string, number>();
  #explicit = new Set<string>();

  /** The id of the next call of a task named `name`. */
  next(name: string): string {
    for (;;) {
      const n = (this.#counts.get(name) ?? 0) + 1;
      this.#counts.set(name, n);
      const id = n === 1 ? name : `${name}#${n}`;
      if (this.#explicit.size === 0 || !this.#explicit.has(id)) return id;
    }
  }

  /** Claims an id given explicitly; throws when it is taken or malformed. */
  claim(id: string): string {
    if (typeof id !== "string" || id === "" || (/[\[\]\s]/.test(id) && !LEG_ID.test(id))) {
      throw new TypeError(
        `Invalid task id ${JSON.stringify(id)}: use a name without spaces or brackets`,
      );
    }
    const [name, nth] = id.split("#");
    const taken = this.#explicit.has(id) ||
      (this.#counts.get(name) ?? 0) >= (nth === undefined ? 1 : Number(nth));
    if (taken) throw new TypeError(`Duplicate task id "${id}": give each call a unique id`);
    this.#explicit.add(id);
    return id;
  }
}

/** A task's settings within one flow, with the problems found in them. */
export interface ResolvedTask {
  /** Settings with the flow's defaults applied. */
  config: TaskConfig;
  /** Every problem, as issues without a task id: what a run refuses. */
  issues: ValidationIssue[];
  /** Only the problems in the task's own options (graph validation checks the rest). */
  optionIssues: ValidationIssue[];
  /**
   * The problems of where the task would run (a worker task a worker cannot load, an inline
   * task under `sandbox: "strict"`): graph validation cannot see them, so planning reports them.
   */
  placementIssues: ValidationIssue[];
}

/** The working directory, where relative permission paths go by default; none if unknown. */
export function workingDir(): string | undefined {
  try {
    return Deno.cwd();
  } catch {
    return undefined; // an isolate without read permission: paths compare as written
  }
}

/** Resolves and caches each task's settings for one flow. */
export class TaskConfigs {
  #cache = new Map<TaskDefinition, ResolvedTask>();
  #defaults: TaskSettings | undefined;
  #ceiling: PermissionSet | undefined;

  #strict: boolean;
  #sandboxed: boolean;
  #baseDir: string | undefined;
  #executors: readonly string[];

  /**
   * Resolves settings against the flow's `defaults`, permission `ceiling` and sandbox mode;
   * `executors` names those the run offers besides this build's own, and relative permission
   * paths compare against the ceiling's as resolved against `baseDir`. With `sandboxed`, the
   * flow's user code runs in a flow isolate with no permissions, so a task that requests
   * permissions or declares secrets runs in a task worker whatever its executor.
   */
  constructor(
    defaults: TaskSettings | undefined,
    ceiling: PermissionSet | undefined,
    sandbox?: "strict" | boolean,
    more: { executors?: readonly string[]; baseDir?: string; sandboxed?: boolean } = {},
  ) {
    this.#defaults = defaults;
    this.#ceiling = ceiling;
    this.#strict = sandbox === "strict";
    this.#sandboxed = more.sandboxed === true;
    this.#executors = more.executors ?? [];
    this.#baseDir = more.baseDir;
  }

  /** The settings of `task`. */
  get(task: TaskDefinition): ResolvedTask {
    let r = this.#cache.get(task);
    if (r) return r;
    const { config, problems } = normalizeTaskOptions(task.options, this.#defaults);
    const optionIssues: ValidationIssue[] = problems.map((p) => ({
      message: `Task "${config.name}": ${p}`,
    }));
    if (task.location) { for (const i of optionIssues) i.location = task.location; }
    const issues = [...optionIssues];
    const placementIssues: ValidationIssue[] = [];
    if (
      !(AVAILABLE_EXECUTORS as readonly string[]).includes(config.executor) &&
      !this.#executors.includes(config.executor)
    ) {
      issues.push({
        message: `Task "${config.name}" asks for executor "${config.executor}", which this ` +
          `build does not offer yet`,
        hint: `use executor "inline" or "worker" (shell commands run as processes from YAML flows)`,
      });
    }
    if (this.#strict && requestsAny(config.permissions)) {
      if (task.options.executor === "inline" || this.#defaults?.executor === "inline") {
        placementIssues.push({
          message: `Task "${config.name}" requests permissions but runs inline, and the flow ` +
            `demands sandbox: "strict"`,
          hint: 'remove executor: "inline" so it runs in a worker with exactly its grant',
        });
      } else if (task.options.executor === undefined) config.executor = "worker";
    }
    const needsRights = requestsAny(config.permissions) || config.secrets.length > 0;
    if (this.#sandboxed && needsRights && config.executor === "inline") config.executor = "worker";
    if (config.executor === "worker" && !task.moduleUrl) {
      placementIssues.push({
        message: `Task "${config.name}" cannot run in a worker: it is not defined at the top ` +
          `level of a module, so a worker cannot load it`,
        hint: this.#sandboxed && needsRights
          ? "define it with task(…) at the top level of a module (exported or not): a task " +
            "that requests permissions or declares secrets runs in a task worker, since the " +
            "flow isolate has no permissions"
          : "define it with task(…) at the top level of a module (exported or not), or use " +
            'executor: "inline"',
      });
    }
    issues.push(...placementIssues);
    const base = this.#baseDir === undefined ? {} : { baseDir: this.#baseDir };
    for (const ex of exceedsCeiling(config.permissions, this.#ceiling, base)) {
      issues.push({
        message: `Task "${config.name}" requests ${ex.name} ${
          ex.value === true ? "(all)" : `"${ex.value}"`
        }, beyond the flow's ceiling (${formatPermissions(this.#ceiling)})`,
        hint: "add it to the flow's permissions, or narrow the task's request",
      });
    }
    if (task.location) { for (const i of issues) i.location ??= task.location; }
    r = { config, issues, optionIssues, placementIssues };
    this.#cache.set(task, r);
    return r;
  }
}

/**
 * Checks that a call's arguments are JSON values or references, calling `onRef` for each
 * reference. Throws {@linkcode NotJsonError} naming the task and the path.
 */
export function scanArgs(
  taskId: string,
  args: readonly unknown[],
  isRef: (v: object) => boolean,
  onRef: (ref: object) => void,
  offset = 0,
): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === null || a === undefined) continue;
    const t = typeof a;
    if (t === "string" || t === "boolean" || (t === "number" && Number.isFinite(a))) continue;
    if (t === "object" && isRef(a as object)) {
      onRef(a as object);
      continue;
    }
    const p = findNonJson(a, `args[${i + offset}]`, isRef, onRef);
    if (p) throw new NotJsonError(taskId, p.path, p.what, p.hint);
  }
}

/** A copy of `value` with every reference replaced by `valueOf(ref)`. */
export function substitute(
  value: unknown,
  isRef: (v: object) => boolean,
  valueOf: (ref: object) => unknown,
): unknown {
  if (value === null || typeof value !== "object") return value;
  if (isRef(value)) return valueOf(value);
  if (Array.isArray(value)) return value.map((v) => substitute(v, isRef, valueOf));
  const out: Record<string, unknown> = {};
  for (const k in value) {
    out[k] = substitute((value as Record<string, unknown>)[k], isRef, valueOf);
  }
  return out;
}

/** Whether a permission set asks for anything. */
export function requestsAny(set: PermissionSet | undefined): boolean {
  if (!set) return false;
  for (const v of Object.values(set)) {
    if (v === true || (Array.isArray(v) && v.length > 0)) return true;
  }
  return false;
}

/** A time-ordered UUID (version 7): run ids sort by start time. */
export function newRunId(now = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ts = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = ts % 256;
    ts = Math.floor(ts / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Schema problems as positioned issues: what is wrong, where (file:line:col), and how to fix
 * it, with translations for words from GitHub Actions and other tools (see `hints.ts`).
 *
 * @module
 */

import type { ValidationIssue } from "../../core/errors.ts";
import { JOB_KEYS, WORKFLOW_KEYS } from "./github_schema.ts";
import { keyHint, type KeyPlace } from "./hints.ts";
import { DEFAULT_KEYS, FLOW_KEYS, STEP_KEYS, STRATEGY_KEYS, TASK_KEYS, z } from "./schema.ts";
import type { FlowSpec } from "./spec.ts";
import type { YamlPath, YamlSource } from "./source.ts";

/** Which form of file a path is in. */
export type FileForm = "tasks" | "workflow" | "chestra";

/** A path as it reads in a message: `tasks.build.retries`, `jobs.test.steps[2]`. */
export function describePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  }
  return out || "the file";
}

/** A value as it reads in a message: `a list`, `number 5`, `string "x"`. */
export function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const p of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[p];
  return v;
}

const RETRY_KEYS = ["attempts", "delay", "backoff", "maxDelay", "jitter"];
const PERMISSION_KEYS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"];
const PARAM_KEYS = ["type", "default", "description", "enum", "required"];

/** Where a mapping at `full` is, and the keys it accepts, for hints. */
export function placeOf(full: YamlPath, form: FileForm): [KeyPlace, readonly string[]] {
  if (form === "chestra") {
    if (full.length === 0) return ["chestra", ["$schema", "workflow"]];
    if (full.length === 1) return ["chestra", ["name", "description", "tasks"]];
    return ["chestra", ["name", "plugin", "inputs", "outputs", "params"]];
  }
  if (full.length === 0) {
    return form === "workflow" ? ["workflow", WORKFLOW_KEYS] : ["flow", FLOW_KEYS];
  }
  const [top, , third, fourth, fifth] = full;
  if (top === "defaults") {
    if (full.length === 1) {
      return [
        form === "workflow" ? "workflow" : "defaults",
        form === "workflow" ? ["run"] : DEFAULT_KEYS,
      ];
    }
    return ["defaults", ["shell", "working-directory"]];
  }
  if (top === "params") return ["flow", PARAM_KEYS];
  const group = top === "jobs"
    ? "job"
    : top === "tasks" || top === "templates"
    ? "task"
    : undefined;
  if (group === undefined) return ["flow", []];
  const keys = group === "job" ? JOB_KEYS : TASK_KEYS;
  // tasks.<id> or tasks[<i>]
  if (full.length === 2) return [group, keys];
  if (third === "steps" && full.length === 4) return ["step", STEP_KEYS];
  if (third === "strategy" && full.length === 3) return [group, STRATEGY_KEYS];
  if (third === "retries") return [group, RETRY_KEYS];
  if (third === "cache") return [group, ["ttl", "key"]];
  if (third === "permissions") return [group, PERMISSION_KEYS];
  if (third === "defaults") {
    return [group, fourth === undefined ? ["run"] : ["shell", "working-directory"]];
  }
  void fifth;
  return [group, []];
}

/** Turns schema problems into positioned issues. */
export function schemaIssues(
  error: z.ZodError,
  source: YamlSource,
  base: YamlPath,
  data: unknown,
  form: FileForm = "tasks",
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of flattenUnions(error.issues)) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const full = [...base, ...path];
    const where = describePath(full);
    if (issue.code === "unrecognized_keys") {
      const [place, known] = placeOf(full, form);
      for (const key of issue.keys) {
        const h = keyHint(key, place, known);
        const instead = h?.instead === undefined ? "" : ` (did you mean "${h.instead}"?)`;
        const i: ValidationIssue = {
          message: `Unknown key "${key}" in ${where}${instead}`,
          location: source.locateKey(full, key),
        };
        const hint = h?.hint ?? (known.length ? `known keys: ${known.join(", ")}` : undefined);
        if (hint) i.hint = hint;
        out.push(i);
      }
      continue;
    }
    out.push({
      message: `${where}${problem(issue, valueAt(data, path))}`,
      location: source.locate(full),
    });
  }
  return out;
}

/** What is wrong with the value at a path, as the rest of a sentence after the path. */
function problem(issue: ZodIssue, value: unknown): string {
  if (issue.code === "invalid_type") {
    if (value === undefined) return " is required";
    const expected = issue.expected === "object"
      ? "a mapping"
      : issue.expected === "array"
      ? "a list"
      : issue.expected === "int"
      ? "a whole number"
      : `a ${issue.expected}`;
    return ` must be ${expected}, got ${typeOf(value)}`;
  }
  if (issue.code === "invalid_value") {
    const options = (issue.values ?? []).map((v) => String(v));
    const close = keyHint(String(value), "flow", options);
    const mean = close?.instead ? ` (did you mean "${close.instead}"?)` : "";
    return ` must be one of ${options.join(", ")}, got ${typeOf(value)}${mean}`;
  }
  if ((issue.code === "too_small" || issue.code === "too_big") && issue.origin === "number") {
    const small = issue.code === "too_small";
    const bound = small ? issue.minimum : issue.maximum;
    const op = small ? (issue.inclusive ? "≥" : ">") : (issue.inclusive ? "≤" : "<");
    return ` must be ${op} ${String(bound)}, got ${typeOf(value)}`;
  }
  const message = issue.message.replace(/^Invalid input: /, "");
  // A message that names the value already (a bare number's unit) needs no "got".
  const got = (issue.code === "invalid_union" || issue.code === "invalid_format") &&
    value !== undefined && !/bare number/.test(message);
  return `: ${message}${got ? `, got ${typeOf(value)}` : ""}`;
}

type ZodIssue = z.ZodError["issues"][number];

/**
 * A union's own message says little ("expected a number or { … }"); when exactly one branch
 * fits the value's shape, its problems (an unknown key, a bad field) say what to fix. A branch
 * that is one literal (the 0 of a duration) does not fit a value that is not it.
 */
function flattenUnions(issues: readonly ZodIssue[]): ZodIssue[] {
  const out: ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code !== "invalid_union" || !("errors" in issue)) {
      out.push(issue);
      continue;
    }
    const fitting = (issue.errors as ZodIssue[][]).filter((branch) =>
      !branch.some((i) =>
        i.path.length === 0 &&
        (i.code === "invalid_type" || i.code === "invalid_union" || i.code === "invalid_format" ||
          (i.code === "invalid_value" && i.values.length === 1))
      )
    );
    if (fitting.length !== 1) {
      out.push(issue);
      continue;
    }
    for (const inner of flattenUnions(fitting[0])) {
      out.push({ ...inner, path: [...issue.path, ...inner.path] } as ZodIssue);
    }
  }
  return out;
}

/**
 * Checks `raw` against `schema` and reports its problems. Returns the valid fields: one bad
 * field does not hide the others' problems, nor make every task that needs this one "unknown".
 */
export function checkFields(
  schema: z.ZodObject,
  raw: object,
  source: YamlSource,
  path: YamlPath,
  spec: FlowSpec,
  options: { taskId?: string; form?: FileForm } = {},
): { fields: Record<string, unknown>; invalid: boolean } {
  const r = schema.safeParse(raw);
  if (r.success) return { fields: r.data as Record<string, unknown>, invalid: false };
  const found = schemaIssues(r.error, source, path, raw, options.form);
  const taskId = options.taskId;
  spec.issues.push(...(taskId === undefined ? found : found.map((i) => ({ ...i, taskId }))));
  const shape = schema.shape as Record<string, z.ZodType>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!Object.hasOwn(shape, k)) continue;
    const one = shape[k].safeParse(v);
    if (one.success) fields[k] = one.data;
  }
  return { fields, invalid: true };
}

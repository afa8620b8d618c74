/**
 * Flow params: a small schema (the same for TypeScript and YAML flows), validation with
 * every problem reported at once, and coercion of command-line strings.
 *
 * @module
 */

import type { ValidationIssue } from "./errors.ts";
import { didYouMean } from "./suggest.ts";

/** The types a param may have. */
export type ParamType = "string" | "integer" | "number" | "boolean" | "array" | "object";

const PARAM_TYPES: readonly ParamType[] = [
  "string",
  "integer",
  "number",
  "boolean",
  "array",
  "object",
];

/** One param of a flow. */
export interface ParamSpec {
  /** The value's type. */
  type: ParamType;
  /** The value used when none is given. */
  default?: unknown;
  /** What the param is for; shown by `describe`. */
  description?: string;
  /** The only values allowed. */
  enum?: readonly unknown[];
  /** Whether a value must be given. @default false */
  required?: boolean;
}

/** A flow's params: name → spec, or name → type as shorthand. */
export type ParamsSchema = Record<string, ParamSpec | ParamType>;

/** The TypeScript type of a param type name. */
export type ParamTypeOf<T extends ParamType> = T extends "string" ? string
  : T extends "integer" | "number" ? number
  : T extends "boolean" ? boolean
  : T extends "array" ? unknown[]
  : Record<string, unknown>;

/** The TypeScript type of one param, derived from its spec. */
export type ParamValue<S> = S extends ParamType ? ParamTypeOf<S> | undefined
  : S extends { enum: readonly (infer E)[] } ?
      | E
      | (S extends { default: unknown } ? never
        : S extends { required: true } ? never
        : undefined)
  : S extends { type: infer T extends ParamType } ? (
      | ParamTypeOf<T>
      | (S extends { default: unknown } ? never : S extends { required: true } ? never : undefined)
    )
  : unknown;

/** The TypeScript type of a flow's params, derived from its schema. */
export type ParamsOf<S> = S extends ParamsSchema ? { [K in keyof S]: ParamValue<S[K]> }
  : Record<string, unknown>;

/** Normalises the shorthand `name: "integer"` to `{ type: "integer" }`. */
export function paramSpec(spec: ParamSpec | ParamType): ParamSpec {
  return typeof spec === "string" ? { type: spec } : spec;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && Number.isInteger(v)) return "integer";
  return typeof v;
}

// JSON.stringify would print Infinity as null and throw on a bigint.
function show(v: unknown): string {
  if (typeof v !== "object" && typeof v !== "string" && typeof v !== "boolean") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function matches(type: ParamType, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v);
  }
}

/** Converts a command-line string to the param's type, or returns an error sentence. */
export function coerceParam(type: ParamType, raw: string): { value: unknown } | { error: string } {
  const text = raw.trim();
  switch (type) {
    case "string":
      return { value: raw };
    case "integer": {
      if (!/^[-+]?\d+$/.test(text)) return { error: `"${raw}" is not an integer` };
      return { value: Number(text) };
    }
    case "number": {
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) return { error: `"${raw}" is not a number` };
      return { value: n };
    }
    case "boolean": {
      const t = text.toLowerCase();
      if (["true", "1", "yes", "on"].includes(t)) return { value: true };
      if (["false", "0", "no", "off"].includes(t)) return { value: false };
      return { error: `"${raw}" is not a boolean (use true or false)` };
    }
    case "array":
    case "object": {
      try {
        const value = JSON.parse(text);
        if (matches(type, value)) return { value };
      } catch {
        // reported below
      }
      return {
        error: `"${raw}" is not a JSON ${type} (write it as JSON, e.g. ${
          type === "array" ? "[1,2]" : '{"a":1}'
        })`,
      };
    }
  }
}

/** Checks that a params schema itself is well formed. */
export function checkParamsSchema(schema: unknown): ValidationIssue[] {
  if (schema === undefined) return [];
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return [{
      message: "params must be an object mapping names to specs",
      hint: 'e.g. params: { factor: { type: "integer", default: 2 } }',
    }];
  }
  const issues: ValidationIssue[] = [];
  for (const [name, raw] of Object.entries(schema)) {
    const spec = (typeof raw === "string" ? { type: raw } : raw) as ParamSpec;
    if (spec === null || typeof spec !== "object") {
      issues.push({ message: `Param "${name}" must be a type name or an object with "type"` });
      continue;
    }
    if (!PARAM_TYPES.includes(spec.type as ParamType)) {
      issues.push({
        message: `Param "${name}" has unknown type "${spec.type}"${
          didYouMean(String(spec.type), PARAM_TYPES)
        }`,
        hint: `use one of ${PARAM_TYPES.join(", ")}`,
      });
      continue;
    }
    if (spec.enum !== undefined && !Array.isArray(spec.enum)) {
      issues.push({ message: `Param "${name}": enum must be a list of values` });
    }
    if (spec.default !== undefined && !matches(spec.type, spec.default)) {
      issues.push({
        message: `Param "${name}": default ${
          JSON.stringify(spec.default)
        } is not of type ${spec.type}`,
      });
    } else if (
      spec.default !== undefined && Array.isArray(spec.enum) &&
      !spec.enum.some((e) => e === spec.default)
    ) {
      // The default would be used without the check every passed value gets.
      issues.push({
        message: `Param "${name}": default ${JSON.stringify(spec.default)} is not one of its ` +
          `enum values ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}`,
        hint: "make the default one of the enum values, or add it to the enum",
      });
    }
  }
  return issues;
}

/** Options of {@linkcode validateParams}. */
export interface ValidateParamsOptions {
  /** Treat string values as command-line input and convert them to the param's type. @default false */
  coerceStrings?: boolean;
}

/**
 * Validates params against a schema: fills defaults, converts command-line strings when asked,
 * and reports every problem at once. Without a schema the flow takes no params: any given is
 * an unknown param.
 *
 * @example
 * ```ts
 * import { validateParams } from "./params.ts";
 * const { values, issues } = validateParams(
 *   { factor: { type: "integer", default: 2 } },
 *   { factor: "3" },
 *   { coerceStrings: true },
 * );
 * console.assert(issues.length === 0 && values.factor === 3);
 * ```
 */
export function validateParams(
  schema: ParamsSchema | undefined,
  input: Record<string, unknown>,
  options: ValidateParamsOptions = {},
): { values: Record<string, unknown>; issues: ValidationIssue[] } {
  // A flow that declares no params takes none: a param given to it is a mistake, as any
  // unknown param is (below).
  const values: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  const names = Object.keys(schema ?? {});
  for (const name of Object.keys(input)) {
    if (!schema || !Object.hasOwn(schema, name)) {
      issues.push({
        param: name,
        message: `Unknown param "${name}"${didYouMean(name, names)}`,
        hint: names.length ? `this flow takes: ${names.join(", ")}` : "this flow takes no params",
      });
    }
  }
  for (const name of names) {
    const spec = paramSpec(schema![name]);
    let value = input[name];
    if (value === undefined) {
      if (spec.default !== undefined) values[name] = structuredClone(spec.default);
      else if (spec.required) {
        issues.push({
          param: name,
          message: `Missing required param "${name}" (${spec.type})`,
          hint: `pass it with --param ${name}=VALUE`,
        });
      }
      continue;
    }
    if (options.coerceStrings && typeof value === "string") {
      const c = coerceParam(spec.type, value);
      if ("error" in c) {
        issues.push({ param: name, message: `Param "${name}": ${c.error}` });
        continue;
      }
      value = c.value;
    }
    if (!matches(spec.type, value)) {
      issues.push({
        param: name,
        message: `Param "${name}" must be ${spec.type}, got ${typeName(value)} ${show(value)}`,
      });
      continue;
    }
    if (spec.enum && !spec.enum.some((e) => e === value)) {
      issues.push({
        param: name,
        message: `Param "${name}" must be one of ${
          spec.enum.map((e) => JSON.stringify(e)).join(", ")
        }, got ${show(value)}`,
      });
      continue;
    }
    values[name] = value;
  }
  return { values, issues };
}

/**
 * The values expressions work on: JSON values. Reading them never runs code: members are read
 * from own data properties of plain objects and arrays only, so getters, prototypes and class
 * instances stay out of reach.
 *
 * @module
 */

/**
 * How deeply a value may nest for `==`, `toJSON()` and interpolation: deeper (or circular) data
 * is an error, never a stack overflow.
 */
export const MAX_VALUE_DEPTH = 512;

/**
 * A value did not suit an operation. Internal: evaluation turns it into an `ExpressionError`
 * located at the expression that failed.
 */
export class ValueError extends Error {
  /** How to fix it. */
  readonly hint?: string;
  /** Creates the error. */
  constructor(message: string, hint?: string) {
    super(message);
    this.name = "ValueError";
    if (hint !== undefined) this.hint = hint;
  }
}

/**
 * Whether `value` is a plain object: made by a literal, `JSON.parse` or `Object.create(null)`.
 *
 * @example
 * ```ts
 * import { isPlainObject } from "./values.ts";
 * console.assert(isPlainObject({ a: 1 }) && !isPlainObject([]) && !isPlainObject(new Date()));
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The type of a value as messages name it: `null`, `boolean`, `number`, `string`, `array`,
 * `object`, or what it is when it is not JSON (`function`, `bigint`, `non-JSON object`…).
 *
 * @example
 * ```ts
 * import { typeName } from "./values.ts";
 * console.assert(typeName([1]) === "array" && typeName(undefined) === "null");
 * ```
 */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  if (isPlainObject(value)) return "object";
  const t = typeof value;
  return t === "object" ? "non-JSON object" : t;
}

/**
 * Truthiness as in GitHub Actions and JavaScript: `false`, `0`, `-0`, `NaN`, `""` and `null`
 * are false; everything else, including `[]` and `{}`, is true.
 *
 * @example
 * ```ts
 * import { isTruthy } from "./values.ts";
 * console.assert(isTruthy("no") && isTruthy([]) && !isTruthy(0) && !isTruthy(""));
 * ```
 */
export function isTruthy(value: unknown): boolean {
  return !(value === false || value === 0 || value === "" || value === null ||
    value === undefined || Number.isNaN(value));
}

/**
 * The value of an own data property, or `null` when there is none (accessors are never run).
 */
export function ownValue(target: object, key: string): unknown {
  const desc = Object.getOwnPropertyDescriptor(target, key);
  if (desc === undefined || !("value" in desc) || desc.value === undefined) return null;
  return desc.value;
}

/**
 * `target[key]` by the language's rules: arrays take integer indexes, plain objects take string
 * keys (a number is used as its string); anything else, including a missing key, gives `null`.
 *
 * @example
 * ```ts
 * import { getMember } from "./values.ts";
 * console.assert(getMember({ a: [5] }, "a") !== null && getMember([5], 0) === 5);
 * console.assert(getMember({}, "constructor") === null && getMember([5], "length") === null);
 * ```
 */
export function getMember(target: unknown, key: unknown): unknown {
  if (Array.isArray(target)) {
    if (typeof key !== "number" || !Number.isInteger(key) || key < 0 || key >= target.length) {
      return null;
    }
    return ownValue(target, String(key));
  }
  if (!isPlainObject(target)) return null;
  if (typeof key === "string") return ownValue(target, key);
  if (typeof key === "number") return ownValue(target, String(key));
  return null;
}

/**
 * A copy of an array's items read as own data properties (holes and accessors give `null`),
 * so no getter or overridden iterator of a foreign array ever runs.
 */
export function itemsOf(array: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(array.length);
  for (let i = 0; i < array.length; i++) out[i] = ownValue(array, String(i));
  return out;
}

/** The own enumerable data entries of a plain object whose value is not `undefined`. */
export function entriesOf(target: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const key of Object.keys(target)) {
    const desc = Object.getOwnPropertyDescriptor(target, key);
    if (desc !== undefined && "value" in desc && desc.value !== undefined) {
      out.push([key, desc.value]);
    }
  }
  return out;
}

function tooDeep(): ValueError {
  return new ValueError(
    `Value is nested more than ${MAX_VALUE_DEPTH} levels deep (or contains itself)`,
  );
}

/**
 * Deep equality of JSON values, without type coercion: `1 == '1'` is false, key order does not
 * matter, `NaN` equals nothing. Values that are not JSON are equal only to themselves.
 *
 * @example
 * ```ts
 * import { deepEqual } from "./values.ts";
 * console.assert(deepEqual({ a: [1, 2] }, { a: [1, 2] }) && !deepEqual(1, "1"));
 * ```
 */
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === b) return true;
  if (depth > MAX_VALUE_DEPTH) throw tooDeep();
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!deepEqual(getMember(a, i), getMember(b, i), depth + 1)) return false;
    }
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ea = entriesOf(a);
    const eb = entriesOf(b);
    if (ea.length !== eb.length) return false;
    for (const [key, value] of ea) {
      const desc = Object.getOwnPropertyDescriptor(b, key);
      if (desc === undefined || !("value" in desc) || desc.value === undefined) return false;
      if (!deepEqual(value, desc.value, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

/**
 * JSON text of a value, like `JSON.stringify` but without calling any `toJSON` method: only
 * JSON values are accepted; `undefined` members of objects are left out as JSON does.
 *
 * @throws {ValueError} for values that are not JSON, non-finite numbers, circular or too deep
 *   data.
 *
 * @example
 * ```ts
 * import { toJsonText } from "./values.ts";
 * console.assert(toJsonText({ a: [1, "x"] }) === '{"a":[1,"x"]}');
 * console.assert(toJsonText([1], 2) === "[\n  1\n]");
 * ```
 */
export function toJsonText(value: unknown, indent = 0): string {
  return write(value, indent > 0 ? " ".repeat(indent) : "", "", 0);
}

function write(value: unknown, indent: string, current: string, depth: number): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) {
        throw new ValueError(`The number ${value} has no JSON form`);
      }
      return JSON.stringify(value);
  }
  if (depth >= MAX_VALUE_DEPTH) throw tooDeep();
  const inner = current + indent;
  const open = indent ? "\n" + inner : "";
  const sep = indent ? ",\n" + inner : ",";
  const close = indent ? "\n" + current : "";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      items.push(write(getMember(value, i), indent, inner, depth + 1));
    }
    return `[${open}${items.join(sep)}${close}]`;
  }
  if (isPlainObject(value)) {
    const entries = entriesOf(value);
    if (entries.length === 0) return "{}";
    const colon = indent ? ": " : ":";
    const items = entries.map(([k, v]) =>
      JSON.stringify(k) + colon + write(v, indent, inner, depth + 1)
    );
    return `{${open}${items.join(sep)}${close}}`;
  }
  throw new ValueError(
    `A ${typeName(value)} is not a JSON value`,
    "expressions work on JSON values only: null, booleans, numbers, strings, arrays and objects",
  );
}

/**
 * The text of a value when it is interpolated into a string: strings as they are, `null` as
 * `""`, numbers and booleans via `String`, arrays and objects as compact JSON.
 *
 * @throws {ValueError} for values that are not JSON.
 *
 * @example
 * ```ts
 * import { toText } from "./values.ts";
 * console.assert(toText("a") === "a" && toText(null) === "" && toText(1.5) === "1.5");
 * console.assert(toText({ a: [1] }) === '{"a":[1]}');
 * ```
 */
export function toText(value: unknown): string {
  if (value === null || value === undefined) return "";
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
      return String(value);
  }
  return toJsonText(value);
}

/**
 * The values expressions work on. Flows hold plain JSON values; `@actions/expressions`, which
 * evaluates expressions, holds its own data objects. This module converts between the two:
 * lazily (a task's large result is not copied to read one field of it), case-insensitively (as
 * on GitHub, `params.Region` reads `region`) and safely (only own data properties of plain
 * objects and arrays are read: getters, prototypes and class instances stay out of reach).
 *
 * @module
 */

import { data } from "@actions/expressions";

/** A value of `@actions/expressions`. */
export type Data = data.ExpressionData;

/**
 * How deeply a value may nest for `toJSON()` and for copying a computed value out of an
 * expression: deeper (or circular) data is an error, never a stack overflow.
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
 * Truthiness as on GitHub: `false`, `0`, `-0`, `NaN`, `""` and `null` are false; everything
 * else, including `[]`, `{}` and the text `"false"`, is true.
 *
 * @example
 * ```ts
 * import { isTruthy } from "./values.ts";
 * console.assert(isTruthy("false") && isTruthy([]) && !isTruthy(0) && !isTruthy(""));
 * ```
 */
export function isTruthy(value: unknown): boolean {
  return !(value === false || value === 0 || value === "" || value === null ||
    value === undefined || Number.isNaN(value));
}

/**
 * The value of an own data property, or `undefined` when there is none (accessors never run).
 */
function ownValue(target: object, key: string): unknown {
  const desc = Object.getOwnPropertyDescriptor(target, key);
  return desc !== undefined && "value" in desc ? desc.value : undefined;
}

/** Whether `value` is already a value of `@actions/expressions`. */
function isData(value: unknown): value is Data {
  return value instanceof data.Null || value instanceof data.BooleanData ||
    value instanceof data.NumberData || value instanceof data.StringData ||
    value instanceof data.Array || value instanceof data.Dictionary;
}

const NULL = new data.Null();

/**
 * A JSON array seen as an array of `@actions/expressions`. Items are converted on first use
 * and kept, so reading the same item twice gives the same object (`a == a` holds for arrays
 * and objects, which compare by identity on GitHub).
 */
class JsonArray extends data.Array {
  readonly source: readonly unknown[];
  #items?: Data[];

  constructor(source: readonly unknown[]) {
    super();
    this.source = source;
  }

  override get(index: number): Data {
    return this.values()[index];
  }

  override values(): Data[] {
    if (this.#items) return this.#items;
    const items: Data[] = [];
    // Indexes are read as own data properties: no getter or overridden iterator runs.
    for (let i = 0; i < this.source.length; i++) items.push(toData(ownValue(this.source, `${i}`)));
    return this.#items = items;
  }

  override add(): void {
    throw new TypeError("A JSON array of an expression cannot change");
  }
}

/**
 * A plain object seen as a dictionary of `@actions/expressions`: keys are matched without
 * regard to case, the first of several keys that differ only in case wins (as GitHub's own
 * dictionaries keep the first), and values are converted on first use.
 *
 * A key the object does not list (a `Proxy` that looks values up on demand, such as the
 * `secrets` of a task) is asked for as written.
 */
class JsonObject extends data.Dictionary {
  readonly source: object;
  #index?: Map<string, string>;
  #values = new Map<string, Data>();

  constructor(source: object) {
    super();
    this.source = source;
  }

  #keys(): Map<string, string> {
    if (this.#index) return this.#index;
    const index = new Map<string, string>();
    for (const key of Object.keys(this.source)) {
      if (ownValue(this.source, key) === undefined) continue;
      const lower = key.toLowerCase();
      if (!index.has(lower)) index.set(lower, key);
    }
    return this.#index = index;
  }

  #value(key: string): Data {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = toData(ownValue(this.source, key));
      this.#values.set(key, value);
    }
    return value;
  }

  override get(key: string): Data | undefined {
    const found = this.#keys().get(key.toLowerCase());
    if (found !== undefined) return this.#value(found);
    // Not listed: asked for as written, once.
    const known = this.#values.get(key);
    if (known !== undefined) return known;
    const value = ownValue(this.source, key);
    if (value === undefined) return undefined;
    const d = toData(value);
    this.#values.set(key, d);
    return d;
  }

  override values(): Data[] {
    return this.pairs().map((p) => p.value);
  }

  override pairs(): { key: string; value: Data }[] {
    return [...this.#keys().values()].map((key) => ({ key, value: this.#value(key) }));
  }

  override add(): void {
    throw new TypeError("A JSON object of an expression cannot change");
  }
}

/**
 * A value of a flow as a value of `@actions/expressions`. Arrays and plain objects are wrapped,
 * not copied: their members are converted when they are read.
 *
 * @throws {ValueError} when the value is not JSON (a function, a `Date`, a `bigint`…).
 *
 * @example
 * ```ts
 * import { toData } from "./values.ts";
 * const d = toData({ Name: "x" });
 * console.assert(d.kind === 2 && d.coerceString() === "Object");
 * ```
 */
export function toData(value: unknown): Data {
  if (value === null || value === undefined) return NULL;
  switch (typeof value) {
    case "boolean":
      return new data.BooleanData(value);
    case "number":
      return new data.NumberData(value);
    case "string":
      return new data.StringData(value);
  }
  if (Array.isArray(value)) return new JsonArray(value);
  if (isPlainObject(value)) return new JsonObject(value);
  if (isData(value)) return value;
  throw new ValueError(
    `A ${typeName(value)} is not a JSON value`,
    "expressions work on JSON values only: null, booleans, numbers, strings, arrays and objects",
  );
}

/**
 * A value of `@actions/expressions` as a plain JSON value. A wrapped flow value that was not
 * changed is given back as it came (not copied); computed arrays and objects are copied.
 *
 * @throws {ValueError} for data nested deeper than {@linkcode MAX_VALUE_DEPTH}.
 *
 * @example
 * ```ts
 * import { fromData, toData } from "./values.ts";
 * const rows = [{ a: 1 }];
 * console.assert(fromData(toData(rows)) === rows);
 * ```
 */
export function fromData(value: Data, depth = 0): unknown {
  if (value instanceof JsonArray || value instanceof JsonObject) return value.source;
  if (depth > MAX_VALUE_DEPTH) throw tooDeep();
  switch (value.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.Number:
    case data.Kind.String:
      return (value as data.BooleanData | data.NumberData | data.StringData).value;
    case data.Kind.Array:
      return (value as data.Array).values().map((v) => fromData(v, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const { key, value: v } of (value as data.Dictionary).pairs()) {
    // defineProperty keeps a key such as "__proto__" an ordinary own property.
    Object.defineProperty(out, key, {
      value: fromData(v, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function tooDeep(): ValueError {
  return new ValueError(
    `Value is nested more than ${MAX_VALUE_DEPTH} levels deep (or contains itself)`,
  );
}

/**
 * The text of a value, as GitHub turns values into text (in `format()`, `join()`, and where a
 * `${{ }}` is part of a longer text): strings as they are, `null` as `""`, booleans as `true`
 * and `false`, numbers rounded to 15 decimals in their shortest form (`-0` is `0`, and `NaN`,
 * `Infinity` are written so), arrays as `Array` and objects as `Object` (use `toJSON()` for
 * their content).
 *
 * @throws {ValueError} for values that are not JSON.
 *
 * @example
 * ```ts
 * import { toText } from "./values.ts";
 * console.assert(toText("a") === "a" && toText(null) === "" && toText(0.1 + 0.2) === "0.3");
 * console.assert(toText([1]) === "Array" && toText({ a: 1 }) === "Object");
 * ```
 */
export function toText(value: unknown): string {
  return toData(value).coerceString();
}

/**
 * JSON text of a value in the layout of GitHub's `toJSON()`: two spaces of indent, `[]` and
 * `{}` when empty, keys in their order (the first of keys that differ only in case), non-finite
 * numbers as `null`.
 *
 * @throws {ValueError} for values that are not JSON, and for circular or too deep data.
 *
 * @example
 * ```ts
 * import { toData, toJsonText } from "./values.ts";
 * console.assert(toJsonText(toData({ a: [1] })) === '{\n  "a": [\n    1\n  ]\n}');
 * console.assert(toJsonText(toData([])) === "[]");
 * ```
 */
export function toJsonText(value: Data): string {
  return write(value, "", 0);
}

function write(value: Data, indent: string, depth: number): string {
  switch (value.kind) {
    case data.Kind.Null:
      return "null";
    case data.Kind.Boolean:
      return (value as data.BooleanData).value ? "true" : "false";
    case data.Kind.Number: {
      const n = (value as data.NumberData).value;
      return Number.isFinite(n) ? JSON.stringify(n) : "null";
    }
    case data.Kind.String:
      return JSON.stringify((value as data.StringData).value);
  }
  if (depth >= MAX_VALUE_DEPTH) throw tooDeep();
  const inner = indent + "  ";
  if (value.kind === data.Kind.Array) {
    const items = (value as data.Array).values();
    if (items.length === 0) return "[]";
    const parts = items.map((v) => inner + write(v, inner, depth + 1));
    return `[\n${parts.join(",\n")}\n${indent}]`;
  }
  const pairs = (value as data.Dictionary).pairs();
  if (pairs.length === 0) return "{}";
  const parts = pairs.map((p) =>
    `${inner}${JSON.stringify(p.key)}: ${write(p.value, inner, depth + 1)}`
  );
  return `{\n${parts.join(",\n")}\n${indent}}`;
}

/**
 * Checks that values can cross a boundary as JSON: task inputs and outputs are journaled and
 * sent to workers, so anything else must fail early with the path of the offending value.
 *
 * @module
 */

/** What is wrong with a value, and how to fix it. */
export interface JsonProblem {
  /** Path of the offending value, e.g. `result.rows[2].when`. */
  path: string;
  /** What it is, e.g. `a Date`. */
  what: string;
  /** How to make it JSON-compatible. */
  hint: string;
}

function describe(value: unknown): JsonProblem | undefined {
  switch (typeof value) {
    case "function":
      return { path: "", what: "a function", hint: "pass data, not functions" };
    case "bigint":
      return { path: "", what: "a bigint", hint: "convert it with String() or Number()" };
    case "symbol":
      return { path: "", what: "a symbol", hint: "use a string instead" };
    case "number":
      return Number.isFinite(value)
        ? undefined
        : { path: "", what: String(value), hint: "use null or a finite number" };
  }
  return undefined;
}

function key(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

// The objects on the path from the root to the value being scanned: a value that contains
// itself is reported instead of recursing until the stack overflows. One array for every call,
// so scanning allocates nothing for it.
const ancestors: object[] = [];

/**
 * Returns the first part of `value` that is not JSON-compatible, or `undefined`.
 * `onRef` is called for every value that `isRef` recognises; such values are allowed.
 * `undefined` is allowed at the top level and as an object property (JSON drops it).
 *
 * @example
 * ```ts
 * import { findNonJson } from "./json.ts";
 * console.assert(findNonJson({ a: [1, "x", null] }, "result") === undefined);
 * console.assert(findNonJson({ when: new Date() }, "result")?.path === "result.when");
 * ```
 */
export function findNonJson(
  value: unknown,
  path: string,
  isRef?: (v: object) => boolean,
  onRef?: (v: object) => void,
): JsonProblem | undefined {
  const depth = ancestors.length;
  try {
    return scan(value, path, isRef, onRef);
  } finally {
    ancestors.length = depth;
  }
}

function scan(
  value: unknown,
  path: string,
  isRef?: (v: object) => boolean,
  onRef?: (v: object) => void,
): JsonProblem | undefined {
  if (value === null || value === undefined) return undefined;
  const t = typeof value;
  if (t === "string" || t === "boolean") return undefined;
  if (t !== "object") {
    const p = describe(value);
    if (p) p.path = path;
    return p;
  }
  const obj = value as object;
  if (isRef !== undefined && isRef(obj)) {
    onRef?.(obj);
    return undefined;
  }
  if (ancestors.includes(obj)) {
    return {
      path,
      what: "a circular reference",
      hint: "pass a tree of plain values; remove the reference back to the containing value",
    };
  }
  ancestors.push(obj);
  const p = scanObject(obj, path, isRef, onRef);
  ancestors.pop();
  return p;
}

function scanObject(
  obj: object,
  path: string,
  isRef?: (v: object) => boolean,
  onRef?: (v: object) => void,
): JsonProblem | undefined {
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const item = obj[i];
      if (item === undefined) {
        return { path: `${path}[${i}]`, what: "undefined", hint: "use null in arrays" };
      }
      if (item === null || typeof item === "string" || typeof item === "boolean") continue;
      const p = scan(item, `${path}[${i}]`, isRef, onRef);
      if (p) return p;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    const name = (obj.constructor as { name?: string } | undefined)?.name ?? "object";
    if (obj instanceof Date) {
      return { path, what: "a Date", hint: "convert it with .toISOString()" };
    }
    if (obj instanceof Map) {
      return { path, what: "a Map", hint: "convert it with Object.fromEntries()" };
    }
    if (obj instanceof Set) return { path, what: "a Set", hint: "convert it with Array.from()" };
    if (typeof (obj as { then?: unknown }).then === "function") {
      return {
        path,
        what: "a promise",
        hint: "await it first, or pass the task reference itself",
      };
    }
    return {
      path,
      what: `an instance of ${name}`,
      hint: "pass a plain object or array with the data you need",
    };
  }
  for (const k in obj) {
    const item = (obj as Record<string, unknown>)[k];
    if (item === null || item === undefined || typeof item === "string") continue;
    const p = scan(item, key(path, k), isRef, onRef);
    if (p) return p;
  }
  return undefined;
}

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

function key(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}

// Paths are built only for a problem, on the way back up (`segments` holds them innermost
// first): scanning a list of 10,000 references makes no string.
interface Found extends JsonProblem {
  segments: string[];
}

function found(p: JsonProblem, segment: string): Found {
  const f = p as Found;
  (f.segments ??= []).push(segment);
  return f;
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
  let p: Found | undefined;
  try {
    p = scan(value, isRef, onRef);
  } finally {
    ancestors.length = depth;
  }
  if (p === undefined) return undefined;
  const segments = p.segments;
  return {
    path: segments === undefined ? path : path + segments.reverse().join(""),
    what: p.what,
    hint: p.hint,
  };
}

function scan(
  value: unknown,
  isRef?: (v: object) => boolean,
  onRef?: (v: object) => void,
): Found | undefined {
  if (value === null || value === undefined) return undefined;
  const t = typeof value;
  if (t === "string" || t === "boolean") return undefined;
  if (t !== "object") return describe(value) as Found | undefined;
  const obj = value as object;
  if (isRef !== undefined && isRef(obj)) {
    onRef?.(obj);
    return undefined;
  }
  if (ancestors.includes(obj)) {
    return {
      path: "",
      what: "a circular reference",
      hint: "pass a tree of plain values; remove the reference back to the containing value",
    } as Found;
  }
  ancestors.push(obj);
  const p = scanObject(obj, isRef, onRef);
  ancestors.pop();
  return p;
}

function scanObject(
  obj: object,
  isRef?: (v: object) => boolean,
  onRef?: (v: object) => void,
): Found | undefined {
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      const item = obj[i];
      if (item === undefined) {
        return found({ path: "", what: "undefined", hint: "use null in arrays" }, `[${i}]`);
      }
      if (item === null || typeof item === "string" || typeof item === "boolean") continue;
      const p = scan(item, isRef, onRef);
      if (p) return found(p, `[${i}]`);
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    const name = (obj.constructor as { name?: string } | undefined)?.name ?? "object";
    if (obj instanceof Date) {
      return { path: "", what: "a Date", hint: "convert it with .toISOString()" } as Found;
    }
    if (obj instanceof Map) {
      return { path: "", what: "a Map", hint: "convert it with Object.fromEntries()" } as Found;
    }
    if (obj instanceof Set) {
      return { path: "", what: "a Set", hint: "convert it with Array.from()" } as Found;
    }
    if (typeof (obj as { then?: unknown }).then === "function") {
      return {
        path: "",
        what: "a promise",
        hint: "await it first, or pass the task reference itself",
      } as Found;
    }
    return {
      path: "",
      what: `an instance of ${name}`,
      hint: "pass a plain object or array with the data you need",
    } as Found;
  }
  for (const k in obj) {
    const item = (obj as Record<string, unknown>)[k];
    if (item === null || item === undefined || typeof item === "string") continue;
    const p = scan(item, isRef, onRef);
    if (p) return found(p, key(k));
  }
  return undefined;
}

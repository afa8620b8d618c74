/**
 * The built-in functions of the expression language. They are pure: they read their
 * arguments, never mutate them, and return new values.
 *
 * A `null` argument (a missing value) counts as empty where a container or a text is expected:
 * `contains`, `startsWith` and `endsWith` of `null` are `false`; `length(null)` is `0`;
 * `join`, `lower`, `upper` and `trim` of `null` give `""`; `keys`/`values` of `null` give `[]`;
 * `sum(null)` is `0`; `min`/`max` of nothing are `null`.
 *
 * | Function | Result |
 * | --- | --- |
 * | `contains(haystack, needle)` | a string contains a string (case-sensitive), or an array contains a value (deep equality) |
 * | `startsWith(text, prefix)`, `endsWith(text, suffix)` | case-sensitive test |
 * | `join(array, separator = ",")` | items as text (see interpolation) joined; a string is returned as is |
 * | `toJSON(value, indent = 0)` | compact JSON, or indented by 1–10 spaces |
 * | `fromJSON(text)` | the parsed value |
 * | `length(value)` | characters (code points) of a string, items of an array, keys of an object |
 * | `format(template, ...values)` | `{0}`, `{1}`… replaced by the values as text; `{{` and `}}` are literal braces |
 * | `lower(text)`, `upper(text)`, `trim(text)` | the changed string |
 * | `keys(object)`, `values(object)` | arrays of the object's keys or values |
 * | `min(...)`, `max(...)` | the least or greatest of several numbers or of one array of numbers |
 * | `sum(numbers)` | the total of an array of numbers |
 * | `round(number, digits = 0)` | rounded half away from zero to 0–15 decimals |
 *
 * @module
 */

import {
  deepEqual,
  entriesOf,
  isPlainObject,
  itemsOf,
  toJsonText,
  toText,
  typeName,
  ValueError,
} from "./values.ts";

/** One built-in function. */
export interface Builtin {
  /** How it is called, for messages: `contains(haystack, needle)`. */
  signature: string;
  /** The fewest arguments it takes. */
  min: number;
  /** The most arguments it takes (`Infinity` for any number). */
  max: number;
  /** Computes the result from evaluated arguments; throws `ValueError` on bad arguments. */
  call: (args: unknown[]) => unknown;
}

const ORDINALS = ["first", "second", "third"];

function bad(fn: string, index: number, wanted: string, got: unknown, hint?: string): ValueError {
  const which = ORDINALS[index] ?? `argument ${index + 1} as its`;
  return new ValueError(
    `${fn}() needs ${wanted} as its ${which} argument, got ${typeName(got)}`,
    hint,
  );
}

function show(value: unknown): string {
  return typeof value === "number" ? String(value) : typeName(value);
}

function text(fn: string, index: number, value: unknown): string {
  if (typeof value !== "string") throw bad(fn, index, "a string", value);
  return value;
}

function numbersOf(fn: string, args: unknown[]): number[] {
  const list = args.length === 1 && (Array.isArray(args[0]) || args[0] === null)
    ? itemsOf((args[0] ?? []) as unknown[])
    : args;
  return list.map((v) => {
    if (typeof v !== "number") {
      throw new ValueError(`${fn}() works on numbers, got ${typeName(v)}`);
    }
    return v;
  });
}

function finite(fn: string, value: number): number {
  if (!Number.isFinite(value)) throw new ValueError(`${fn}() gave ${value}, which is no number`);
  return value;
}

function affix(fn: string, args: unknown[], test: (s: string, a: string) => boolean): boolean {
  const [subject, part] = args;
  const a = text(fn, 1, part);
  if (subject === null) return false;
  return test(text(fn, 0, subject), a);
}

function format(args: unknown[]): string {
  const template = text("format", 0, args[0]);
  const values = args.slice(1);
  const placeholder = /\{(\d+)\}/y;
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if ((c === "{" || c === "}") && template[i + 1] === c) {
      out += c;
      i += 2;
    } else if (c === "{") {
      placeholder.lastIndex = i;
      const m = placeholder.exec(template);
      if (m === null) {
        throw new ValueError(
          `format() found an invalid "{" at position ${i} of its template`,
          "placeholders are {0}, {1}…; write {{ for a literal {",
        );
      }
      const n = Number(m[1]);
      if (n >= values.length) {
        throw new ValueError(
          `format() has no value for {${m[1]}}: it was given ${values.length}`,
          `pass at least ${n + 1} values after the template`,
        );
      }
      out += toText(values[n]);
      i += m[0].length;
    } else if (c === "}") {
      throw new ValueError(
        `format() found an unmatched "}" at position ${i} of its template`,
        "write }} for a literal }",
      );
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function round(args: unknown[]): number {
  const [x, digits = 0] = args;
  if (typeof x !== "number") throw bad("round", 0, "a number", x);
  if (typeof digits !== "number" || !Number.isInteger(digits) || digits < 0 || digits > 15) {
    throw new ValueError(
      `round() needs a whole number of digits from 0 to 15, got ${show(digits)}`,
    );
  }
  if (Number.isInteger(x)) return x || 0;
  const abs = Math.abs(x);
  // Shifting through the decimal exponent avoids binary artefacts: round(1.005, 2) is 1.01.
  let r = Number(`${Math.round(Number(`${abs}e${digits}`))}e-${digits}`);
  if (!Number.isFinite(r)) r = Math.round(abs * 10 ** digits) / 10 ** digits;
  return finite("round", (x < 0 ? -r : r) || 0);
}

function builtin(
  signature: string,
  min: number,
  max: number,
  call: (args: unknown[]) => unknown,
): Builtin {
  return { signature, min, max, call };
}

const TABLE: Record<string, Builtin> = {
  contains: builtin("contains(haystack, needle)", 2, 2, ([haystack, needle]) => {
    if (haystack === null) return false;
    if (typeof haystack === "string") return haystack.includes(text("contains", 1, needle));
    if (Array.isArray(haystack)) {
      return itemsOf(haystack).some((item) => deepEqual(item, needle));
    }
    throw bad("contains", 0, "a string or an array", haystack, "use keys() to test an object");
  }),
  startsWith: builtin("startsWith(text, prefix)", 2, 2, (args) => {
    return affix("startsWith", args, (s, a) => s.startsWith(a));
  }),
  endsWith: builtin("endsWith(text, suffix)", 2, 2, (args) => {
    return affix("endsWith", args, (s, a) => s.endsWith(a));
  }),
  join: builtin("join(array, separator)", 1, 2, ([list, separator = ","]) => {
    const sep = text("join", 1, separator);
    if (list === null) return "";
    if (typeof list === "string") return list;
    if (!Array.isArray(list)) throw bad("join", 0, "an array", list);
    return itemsOf(list).map((v) => toText(v)).join(sep);
  }),
  toJSON: builtin("toJSON(value, indent)", 1, 2, ([value, indent = 0]) => {
    if (typeof indent !== "number" || !Number.isInteger(indent) || indent < 0 || indent > 10) {
      throw new ValueError(`toJSON() needs an indent from 0 to 10, got ${show(indent)}`);
    }
    return toJsonText(value, indent);
  }),
  fromJSON: builtin("fromJSON(text)", 1, 1, ([value]) => {
    const source = text("fromJSON", 0, value);
    try {
      return JSON.parse(source);
    } catch (e) {
      throw new ValueError(
        `fromJSON() could not parse its argument: ${(e as Error).message}`,
        "pass JSON text, e.g. fromJSON('{\"a\": 1}')",
      );
    }
  }),
  length: builtin("length(value)", 1, 1, ([value]) => {
    if (value === null) return 0;
    if (typeof value === "string") return Array.from(value).length;
    if (Array.isArray(value)) return value.length;
    if (isPlainObject(value)) return entriesOf(value).length;
    throw bad("length", 0, "a string, an array or an object", value);
  }),
  format: builtin("format(template, ...values)", 1, Infinity, format),
  lower: builtin("lower(text)", 1, 1, ([v]) => v === null ? "" : text("lower", 0, v).toLowerCase()),
  upper: builtin("upper(text)", 1, 1, ([v]) => v === null ? "" : text("upper", 0, v).toUpperCase()),
  trim: builtin("trim(text)", 1, 1, ([v]) => v === null ? "" : text("trim", 0, v).trim()),
  keys: builtin("keys(object)", 1, 1, ([v]) => {
    if (v === null) return [];
    if (!isPlainObject(v)) throw bad("keys", 0, "an object", v);
    return entriesOf(v).map(([k]) => k);
  }),
  values: builtin("values(object)", 1, 1, ([v]) => {
    if (v === null) return [];
    if (!isPlainObject(v)) throw bad("values", 0, "an object", v);
    return entriesOf(v).map(([, x]) => x);
  }),
  min: builtin("min(numbers...)", 1, Infinity, (args) => {
    const xs = numbersOf("min", args);
    return xs.length === 0 ? null : xs.reduce((a, b) => (b < a ? b : a));
  }),
  max: builtin("max(numbers...)", 1, Infinity, (args) => {
    const xs = numbersOf("max", args);
    return xs.length === 0 ? null : xs.reduce((a, b) => (b > a ? b : a));
  }),
  sum: builtin("sum(numbers)", 1, 1, ([list]) => {
    if (list !== null && !Array.isArray(list)) throw bad("sum", 0, "an array", list);
    return finite("sum", numbersOf("sum", [list ?? []]).reduce((a, b) => a + b, 0));
  }),
  round: builtin("round(number, digits)", 1, 2, round),
};

/**
 * The built-in functions by name. A null-prototype object: look names up with `Object.hasOwn`.
 */
export const BUILTINS: Readonly<Record<string, Builtin>> = Object.freeze(
  Object.assign(Object.create(null), TABLE),
);

/**
 * The names of the built-in functions. Names are case-sensitive.
 *
 * @example
 * ```ts
 * import { BUILTIN_FUNCTIONS } from "./functions.ts";
 * console.assert(BUILTIN_FUNCTIONS.includes("contains") && BUILTIN_FUNCTIONS.includes("toJSON"));
 * ```
 */
export const BUILTIN_FUNCTIONS: readonly string[] = Object.freeze(Object.keys(TABLE));

/**
 * The status functions of a task's `if:` condition. They are not built in: the loader passes
 * them in `EvalContext.functions`. Each takes no arguments.
 *
 * @example
 * ```ts
 * import { STATUS_FUNCTIONS } from "./functions.ts";
 * console.assert(STATUS_FUNCTIONS.join() === "success,failure,always,cancelled");
 * ```
 */
export const STATUS_FUNCTIONS = ["success", "failure", "always", "cancelled"] as const;

/**
 * How many arguments a function takes, in words: `1 argument`, `1 or 2 arguments`,
 * `at least 1 argument`, `no arguments`.
 *
 * @example
 * ```ts
 * import { arityText } from "./functions.ts";
 * console.assert(arityText(1, 2) === "1 or 2 arguments" && arityText(0, 0) === "no arguments");
 * ```
 */
export function arityText(min: number, max: number): string {
  const unit = (n: number) => (n === 1 ? "argument" : "arguments");
  if (max === 0) return "no arguments";
  if (min === max) return `${min} ${unit(min)}`;
  if (max === Infinity) return `at least ${min} ${unit(min)}`;
  if (max === min + 1) return `${min} or ${max} arguments`;
  return `${min} to ${max} arguments`;
}

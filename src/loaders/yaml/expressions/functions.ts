/**
 * The functions of the expression language. GitHub's functions — `contains`, `startsWith`,
 * `endsWith`, `format`, `join`, `toJSON`, `fromJSON`, `case` — are `@actions/expressions`'
 * own, with their coercions and case-insensitivity. Orchestra adds a few that GitHub does not
 * have (GitHub rejects an unknown function, so they change nothing a GitHub expression means):
 *
 * | Function | Result |
 * | --- | --- |
 * | `length(value)` | characters (code points) of a string, items of an array, keys of an object; `null` is 0 |
 * | `lower(text)`, `upper(text)`, `trim(text)` | the changed text (numbers and booleans as text, `null` as `""`) |
 * | `keys(object)`, `values(object)` | arrays of the object's keys or values; `null` gives `[]` |
 * | `min(...)`, `max(...)` | the least or greatest of several numbers or of one array of numbers |
 * | `sum(numbers)` | the total of an array of numbers |
 * | `round(number, digits = 0)` | rounded half away from zero to 0–15 decimals |
 *
 * Names are case-insensitive (`toJson`, `TOJSON`), as on GitHub.
 *
 * @module
 */

import { data, wellKnownFunctions } from "@actions/expressions";
import type { FunctionDefinition, FunctionInfo } from "@actions/expressions/funcs/info";
import { type Data, toData, toJsonText, ValueError } from "./values.ts";

/** GitHub's functions, as GitHub writes their names. */
export const GITHUB_FUNCTIONS: readonly string[] = Object.freeze([
  "contains",
  "startsWith",
  "endsWith",
  "format",
  "join",
  "toJSON",
  "fromJSON",
  "case",
]);

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

const SIGNATURES: Record<string, string> = {
  contains: "contains(search, item)",
  startswith: "startsWith(text, prefix)",
  endswith: "endsWith(text, suffix)",
  format: "format(template, value0, value1, …)",
  join: "join(array, separator)",
  tojson: "toJSON(value)",
  fromjson: "fromJSON(text)",
  case: "case(condition1, value1, condition2, value2, …, default)",
  length: "length(value)",
  lower: "lower(text)",
  upper: "upper(text)",
  trim: "trim(text)",
  keys: "keys(object)",
  values: "values(object)",
  min: "min(numbers...)",
  max: "max(numbers...)",
  sum: "sum(numbers)",
  round: "round(number, digits)",
  success: "success()",
  failure: "failure()",
  always: "always()",
  cancelled: "cancelled()",
};

const ANY = Number.MAX_SAFE_INTEGER;

function kindName(d: Data): string {
  switch (d.kind) {
    case data.Kind.Null:
      return "null";
    case data.Kind.Boolean:
      return "boolean";
    case data.Kind.Number:
      return "number";
    case data.Kind.String:
      return "string";
    case data.Kind.Array:
      return "array";
  }
  return "object";
}

function text(fn: string, d: Data): string {
  if (!d.primitive) throw new ValueError(`${fn}() needs text, got ${kindName(d)}`);
  return d.coerceString();
}

function numbers(fn: string, args: Data[]): number[] {
  const list =
    args.length === 1 && (args[0].kind === data.Kind.Array || args[0].kind === data.Kind.Null)
      ? args[0].kind === data.Kind.Null ? [] : (args[0] as data.Array).values()
      : args;
  return list.map((d) => {
    if (d.kind !== data.Kind.Number) {
      throw new ValueError(`${fn}() works on numbers, got ${kindName(d)}`);
    }
    return (d as data.NumberData).value;
  });
}

function finite(fn: string, value: number): Data {
  if (!Number.isFinite(value)) throw new ValueError(`${fn}() gave ${value}, which is no number`);
  return new data.NumberData(value);
}

function round([x, digits]: Data[]): Data {
  if (x.kind !== data.Kind.Number) {
    throw new ValueError(`round() needs a number, got ${kindName(x)}`);
  }
  const n = (x as data.NumberData).value;
  const d = digits === undefined
    ? 0
    : digits.kind === data.Kind.Number
    ? (digits as data.NumberData).value
    : NaN;
  if (!Number.isInteger(d) || d < 0 || d > 15) {
    throw new ValueError("round() needs a whole number of digits from 0 to 15");
  }
  if (Number.isInteger(n)) return new data.NumberData(n || 0);
  const abs = Math.abs(n);
  // Shifting through the decimal exponent avoids binary artefacts: round(1.005, 2) is 1.01.
  let r = Number(`${Math.round(Number(`${abs}e${d}`))}e-${d}`);
  if (!Number.isFinite(r)) r = Math.round(abs * 10 ** d) / 10 ** d;
  return finite("round", (n < 0 ? -r : r) || 0);
}

function dictionary(fn: string, d: Data): data.Dictionary | undefined {
  if (d.kind === data.Kind.Null) return undefined;
  if (d.kind !== data.Kind.Dictionary) {
    throw new ValueError(`${fn}() needs an object, got ${kindName(d)}`);
  }
  return d as data.Dictionary;
}

function define(
  name: string,
  minArgs: number,
  maxArgs: number,
  call: (args: Data[]) => Data,
): FunctionDefinition {
  return { name, minArgs, maxArgs, call: (...args: Data[]) => call(args) };
}

/** Orchestra's functions (see the module's table), by lower-case name. */
const EXTENSIONS: ReadonlyMap<string, FunctionDefinition> = new Map([
  define("length", 1, 1, ([v]) => {
    switch (v.kind) {
      case data.Kind.Null:
        return new data.NumberData(0);
      case data.Kind.String:
        return new data.NumberData(Array.from((v as data.StringData).value).length);
      case data.Kind.Array:
        return new data.NumberData((v as data.Array).values().length);
      case data.Kind.Dictionary:
        return new data.NumberData((v as data.Dictionary).pairs().length);
    }
    throw new ValueError(`length() needs a string, an array or an object, got ${kindName(v)}`);
  }),
  define("lower", 1, 1, ([v]) => new data.StringData(text("lower", v).toLowerCase())),
  define("upper", 1, 1, ([v]) => new data.StringData(text("upper", v).toUpperCase())),
  define("trim", 1, 1, ([v]) => new data.StringData(text("trim", v).trim())),
  define("keys", 1, 1, ([v]) => {
    const d = dictionary("keys", v);
    return new data.Array(...(d?.pairs() ?? []).map((p) => new data.StringData(p.key)));
  }),
  define("values", 1, 1, ([v]) => new data.Array(...(dictionary("values", v)?.values() ?? []))),
  define("min", 1, ANY, (args) => {
    const xs = numbers("min", args);
    return xs.length ? new data.NumberData(xs.reduce((a, b) => (b < a ? b : a))) : new data.Null();
  }),
  define("max", 1, ANY, (args) => {
    const xs = numbers("max", args);
    return xs.length ? new data.NumberData(xs.reduce((a, b) => (b > a ? b : a))) : new data.Null();
  }),
  define("sum", 1, 1, ([v]) => {
    if (v.kind !== data.Kind.Array && v.kind !== data.Kind.Null) {
      throw new ValueError(`sum() needs an array, got ${kindName(v)}`);
    }
    return finite("sum", numbers("sum", [v]).reduce((a, b) => a + b, 0));
  }),
  define("round", 1, 2, round),
].map((f) => [f.name, f]));

/**
 * GitHub's `fromJSON` and `toJSON`, over values that keep every key: the library's own
 * dictionaries drop a key that is also the name of an `Object.prototype` member (`constructor`,
 * `toString`, `__proto__`…), which GitHub's runner keeps.
 */
const REPLACEMENTS: ReadonlyMap<string, FunctionDefinition> = new Map([
  define("fromjson", 1, 1, ([v]) => {
    const source = v.coerceString();
    if (source.trim() === "") {
      throw new ValueError(
        "fromJSON() needs JSON text, got an empty text",
        "pass JSON, e.g. fromJSON('[1, 2]')",
      );
    }
    try {
      return toData(JSON.parse(source));
    } catch (e) {
      throw new ValueError(
        `fromJSON() could not parse its argument: ${(e as Error).message}`,
        "pass JSON text, e.g. fromJSON('{\"a\": 1}')",
      );
    }
  }),
  define("tojson", 1, 1, ([v]) => new data.StringData(toJsonText(v))),
].map((f) => [f.name, f]));

/**
 * Every function an expression may call, as written in messages: GitHub's, Orchestra's and the
 * status functions (which only `if:` may call).
 *
 * @example
 * ```ts
 * import { KNOWN_FUNCTIONS } from "./functions.ts";
 * console.assert(KNOWN_FUNCTIONS.includes("toJSON") && KNOWN_FUNCTIONS.includes("length"));
 * ```
 */
export const KNOWN_FUNCTIONS: readonly string[] = Object.freeze([
  ...GITHUB_FUNCTIONS,
  ...EXTENSIONS.keys(),
  ...STATUS_FUNCTIONS,
]);

/** The arity of a known function (any case), or `undefined`. */
export function functionInfo(name: string): FunctionInfo | undefined {
  const lower = name.toLowerCase();
  const github = (wellKnownFunctions as Record<string, FunctionInfo>)[lower];
  if (github && Object.hasOwn(wellKnownFunctions, lower)) return github;
  const ours = EXTENSIONS.get(lower);
  if (ours) return ours;
  if ((STATUS_FUNCTIONS as readonly string[]).includes(lower)) {
    return { name: lower, minArgs: 0, maxArgs: 0 };
  }
  return undefined;
}

/**
 * How a function is called, for messages: `join(array, separator)`.
 *
 * @example
 * ```ts
 * import { signatureOf } from "./functions.ts";
 * console.assert(signatureOf("JOIN") === "join(array, separator)");
 * ```
 */
export function signatureOf(name: string): string {
  return SIGNATURES[name.toLowerCase()] ?? `${name}(…)`;
}

/**
 * The implementations evaluation uses besides the library's own, by lower-case name:
 * Orchestra's functions and the replaced `fromJSON`/`toJSON`.
 */
export function implementations(): Map<string, FunctionDefinition> {
  return new Map([...EXTENSIONS, ...REPLACEMENTS]);
}

/**
 * Masking secret values in what leaves a task: log lines, error messages, events and the run
 * record. Values are searched for literally (never compiled into a pattern, so no value can be
 * a syntax error), and JSON values are masked by walking them (string leaves and keys), never by
 * rewriting their serialised text, so a value such as `:` or `{` cannot break a document.
 *
 * How a value is found:
 *
 * - A whole string equal to a value is always masked (`"1"` → `"***"`).
 * - Inside longer text, a value of {@linkcode SHORT_SECRET_LENGTH} characters or more is masked
 *   wherever it occurs; a shorter one only where it stands as a whole token: not preceded or
 *   followed by a letter, digit or `_` (`"pin 42"` → `"pin ***"`, but `"e"` leaves `"Bearer"`
 *   alone). Masking every `e` or `1` would make output unreadable and hide nothing.
 * - Besides the value itself, its JSON-escaped form (as it appears inside JSON text a task
 *   logs) and, for a multi-line value, each of its lines of four or more characters.
 * - Numbers and booleans are not masked: a secret is a string, and the record's own counts and
 *   times must keep their types.
 *
 * @module
 */

/** The string masked values are replaced with. */
export const MASK = "***";

/**
 * Values shorter than this are masked inside longer text only where they stand as a whole
 * token (they are always masked when they are the whole string).
 */
export const SHORT_SECRET_LENGTH = 4;

/** Replaces secret values in a text with {@linkcode MASK}. */
export type Masker = (text: string) => string;

const WORD = /[\p{L}\p{N}_]/u;

function isWordAt(text: string, i: number): boolean {
  return i >= 0 && i < text.length && WORD.test(text[i]);
}

/** The texts to look for: each value, its JSON-escaped form and the lines of a multi-line one. */
function needlesOf(values: Iterable<string>): string[] {
  const needles = new Set<string>();
  for (const v of values) {
    if (typeof v !== "string" || v === "") continue;
    needles.add(v);
    needles.add(JSON.stringify(v).slice(1, -1));
    if (/[\r\n]/.test(v)) {
      for (const line of v.split(/\r?\n/)) if (line.trim().length >= 4) needles.add(line);
    }
  }
  // Longest first, so a value containing another is masked whole.
  return [...needles].sort((a, b) => b.length - a.length);
}

/** Every place a needle may be masked, as [start, end) pairs. */
function occurrences(text: string, needles: readonly string[]): [number, number][] {
  const found: [number, number][] = [];
  // What is masked already stays as it is, so masking twice changes nothing (a value "*").
  const masked: number[] = [];
  for (let at = text.indexOf(MASK); at >= 0; at = text.indexOf(MASK, at + MASK.length)) {
    masked.push(at);
  }
  const inMask = (start: number, end: number) =>
    masked.some((m) => start < m + MASK.length && end > m);
  for (const n of needles) {
    const short = n.length < SHORT_SECRET_LENGTH;
    for (let at = text.indexOf(n); at >= 0; at = text.indexOf(n, at + 1)) {
      const end = at + n.length;
      // A short value inside a word is a letter of that word, not the secret.
      if (short && (isWordAt(text, at - 1) || isWordAt(text, end))) continue;
      if (masked.length && inMask(at, end)) continue;
      found.push([at, end]);
    }
  }
  // The earliest first; at one place, the longest.
  return found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
}

/**
 * A function that replaces every secret value in a text with `***` (see the module
 * documentation for how short values and JSON-escaped forms are found). It never builds a
 * regular expression from the values.
 *
 * @example
 * ```ts
 * import { secretMasker } from "./masking.ts";
 * const mask = secretMasker(["hunter2", "e", ":"]);
 * console.assert(mask("password=hunter2") === "password=***");
 * console.assert(mask("Bearer e") === "Bearer ***");
 * console.assert(mask("a:b") === "a:b" && mask(":") === "***");
 * ```
 */
export function secretMasker(values: Iterable<string>): Masker {
  const needles = needlesOf(values);
  if (needles.length === 0) return (text) => text;
  const whole = new Set(needles);
  return (text) => {
    if (typeof text !== "string" || text === "") return text;
    if (whole.has(text)) return MASK;
    const found = occurrences(text, needles);
    if (found.length === 0) return text;
    let out = "";
    let from = 0;
    for (const [start, end] of found) {
      if (start < from) continue; // inside what is already masked
      out += text.slice(from, start) + MASK;
      from = end;
    }
    return out + text.slice(from);
  };
}

/**
 * Replaces every secret value in `text` with `***` (see {@linkcode secretMasker}, which is
 * faster for masking many texts with the same values).
 *
 * @example
 * ```ts
 * import { maskSecrets } from "./masking.ts";
 * console.assert(maskSecrets("token t0k3n sent", ["t0k3n"]) === "token *** sent");
 * ```
 */
export function maskSecrets(text: string, values: Iterable<string>): string {
  return secretMasker(values)(text);
}

/**
 * A copy of a JSON value with every string leaf and every key masked by `mask`. Whatever
 * `JSON.stringify` would do to the value, this does too (`toJSON()` is called, `undefined` and
 * functions are left out of objects and become `null` in arrays), so the copy is what the
 * serialised record would have held; a cycle becomes `"[Circular]"` instead of an error.
 *
 * @example
 * ```ts
 * import { maskValue, secretMasker } from "./masking.ts";
 * const mask = secretMasker(["{", "s3cr3t"]);
 * const out = maskValue({ attempts: 1, text: "{", note: "key s3cr3t", s3cr3t: true }, mask);
 * console.assert(JSON.stringify(out) === '{"attempts":1,"text":"***","note":"key ***","***":true}');
 * ```
 */
export function maskValue<T>(value: T, mask: Masker): T {
  return walk(value, mask, new Set()) as T;
}

function walk(value: unknown, mask: Masker, open: Set<object>): unknown {
  if (typeof value === "string") return mask(value);
  if (value === null || typeof value !== "object") return value;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === "function") return walk(json.call(value), mask, open);
  if (open.has(value)) return "[Circular]";
  open.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((v) => {
        const out = walk(v, mask, open);
        return out === undefined || typeof out === "function" || typeof out === "symbol"
          ? null
          : out;
      });
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const masked = walk(v, mask, open);
      if (masked === undefined || typeof masked === "function" || typeof masked === "symbol") {
        continue;
      }
      out[mask(k)] = masked;
    }
    return out;
  } finally {
    open.delete(value);
  }
}

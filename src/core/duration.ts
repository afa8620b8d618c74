/**
 * Durations as users write them: `"500ms"`, `"30s"`, `"10m"`, `"1h30m"`, or milliseconds.
 *
 * @module
 */

/** A duration: milliseconds, or a string such as `"500ms"`, `"30s"`, `"10m"`, `"1h30m"`. */
export type Duration = number | string;

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses a duration into milliseconds.
 *
 * @throws {RangeError} when the value is negative, not finite or not a duration.
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.assert(parseDuration("1m30s") === 90_000);
 * console.assert(parseDuration(250) === 250);
 * ```
 */
export function parseDuration(value: Duration): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Invalid duration ${value}: use a non-negative number of milliseconds`);
    }
    return value;
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Invalid duration ${JSON.stringify(value)}: use milliseconds or a string like "30s"`,
    );
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) break;
    total += Number(m[1]) * UNITS[m[2]];
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new RangeError(
      `Invalid duration "${value}": use a number with a unit, like "500ms", "30s", "10m", "1h" or "1h30m"`,
    );
  }
  return total;
}

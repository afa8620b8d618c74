/**
 * JSON with object keys in sorted order, so equal values give equal text (cache identities).
 *
 * @module
 */

/**
 * `value` as JSON, its objects' keys sorted.
 *
 * @example
 * ```ts
 * import { stableJson } from "./stable_json.ts";
 * console.assert(stableJson({ b: 1, a: [2, { d: 3, c: 4 }] }) === '{"a":[2,{"c":4,"d":3}],"b":1}');
 * ```
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
        : v,
  );
}

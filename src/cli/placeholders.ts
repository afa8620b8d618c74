/**
 * Placeholder values for a flow's required params, so that `validate`, `describe` and `graph`
 * can plan a flow whose params nobody has chosen yet.
 *
 * @module
 */

import { type ParamSpec, paramSpec, type ParamsSchema } from "../core/params.ts";

/** A value of the param's type: its first allowed value, else `<name>`, 0, false, [] or {}. */
function placeholder(name: string, spec: ParamSpec): unknown {
  if (spec.enum?.length) return spec.enum[0];
  switch (spec.type) {
    case "string":
      return `<${name}>`;
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
  }
}

/**
 * The params to plan with: `input`, plus a placeholder for each required param it lacks; and
 * the names of those.
 *
 * @example
 * ```ts
 * import { withPlaceholders } from "./placeholders.ts";
 * const { params, filled } = withPlaceholders(
 *   { region: { type: "string", required: true, enum: ["eu", "us"] }, n: { type: "integer", required: true } },
 *   { n: "3" },
 * );
 * console.assert(params.region === "eu" && params.n === "3" && filled.join() === "region");
 * ```
 */
export function withPlaceholders(
  schema: ParamsSchema | undefined,
  input: Record<string, unknown>,
): { params: Record<string, unknown>; filled: string[] } {
  const params = { ...input };
  const filled: string[] = [];
  for (const [name, raw] of Object.entries(schema ?? {})) {
    const spec = paramSpec(raw);
    if (!spec.required || spec.default !== undefined || params[name] !== undefined) continue;
    params[name] = placeholder(name, spec);
    filled.push(name);
  }
  return { params, filled };
}

/** The note that says which params were planned with placeholders. */
export function placeholderNote(filled: readonly string[]): string {
  const list = filled.map((n) => `"${n}"`).join(", ");
  const how = filled.map((n) => `-p ${n}=VALUE`).join(" ");
  return `Note: planned with placeholder values for the required param${
    filled.length === 1 ? "" : "s"
  } ${list}; pass ${how} to plan with your own.`;
}

/**
 * `orchestra schema [flow|config|policy]`: the JSON Schema of YAML flow files (generated from
 * the schema the loader validates with), of `orchestra.yaml`, or of `orchestra.policy.yaml`.
 *
 * @module
 */

import {
  configJsonSchema,
  flowJsonSchema,
  policyJsonSchema,
} from "../../loaders/yaml/json_schema.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";

/** Options of `schema`. */
export const SCHEMA_OPTIONS = { output: { type: "string", short: "o" } } as const;

const SCHEMAS: Record<string, () => Record<string, unknown>> = {
  flow: flowJsonSchema,
  config: configJsonSchema,
  policy: policyJsonSchema,
};

/** A schema (`flow`, `config` or `policy`) as the text `orchestra schema` prints. */
export function schemaText(which = "flow"): string {
  return JSON.stringify(SCHEMAS[which](), null, 2) + "\n";
}

/** Runs `orchestra schema`. */
export async function schemaCommand(parsed: Parsed, io: Io): Promise<number> {
  const which = parsed.positionals[0] ?? "flow";
  if (!Object.hasOwn(SCHEMAS, which) || parsed.positionals.length > 1) {
    throw new UsageError(
      "schema",
      `expected flow, config or policy, got "${parsed.positionals.join(" ")}"`,
    );
  }
  const out = parsed.values.output as string | undefined;
  if (out === undefined) {
    io.stdout(schemaText(which));
    return 0;
  }
  const path = out.startsWith("/") ? out : `${io.cwd}/${out}`;
  await Deno.writeTextFile(path, schemaText(which));
  io.stderr(`wrote ${out}\n`);
  return 0;
}

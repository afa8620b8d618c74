/**
 * `orchestra schema`: the JSON Schema of YAML flow files, generated from the schema the loader
 * validates with.
 *
 * @module
 */

import { flowJsonSchema } from "../../loaders/yaml/json_schema.ts";
import type { Parsed } from "../args.ts";
import type { Io } from "../io.ts";

/** Options of `schema`. */
export const SCHEMA_OPTIONS = { output: { type: "string", short: "o" } } as const;

/** The schema as the text `orchestra schema` prints. */
export function schemaText(): string {
  return JSON.stringify(flowJsonSchema(), null, 2) + "\n";
}

/** Runs `orchestra schema`. */
export async function schemaCommand(parsed: Parsed, io: Io): Promise<number> {
  const out = parsed.values.output as string | undefined;
  if (out === undefined) {
    io.stdout(schemaText());
    return 0;
  }
  const path = out.startsWith("/") ? out : `${io.cwd}/${out}`;
  await Deno.writeTextFile(path, schemaText());
  io.stderr(`wrote ${out}\n`);
  return 0;
}

/**
 * The JSON Schemas `orchestra schema` prints, generated from the schemas the loader validates
 * with, so editors check exactly what the loader accepts.
 *
 * @module
 */

import { z } from "zod";
import { workflowSchema } from "./github_schema.ts";
import { chestraSchema, flowSchema } from "./schema.ts";

/** The JSON Schema of flow files (the three forms), for editors. */
export function flowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(z.union([flowSchema, workflowSchema, chestraSchema]), {
    target: "draft-2020-12",
    unrepresentable: "any",
    io: "input",
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: "Orchestra flow",
    description: "A workflow for Orchestra: tasks in GitHub Actions' vocabulary, a GitHub " +
      "Actions workflow of `run:` steps, or Chestra's `workflow:` form.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

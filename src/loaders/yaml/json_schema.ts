/**
 * The JSON Schemas `orchestra schema` prints, so editors complete and check what Orchestra
 * reads: flow files (generated from the schemas the loader validates with, plus the rules
 * between keys the loader checks: `run` xor `uses` xor `steps`, `with` only with `uses`,
 * `concurrency` only with `foreach`, an id on every list entry, param defaults of their type,
 * and each built-in plugin's `with:` under `if`/`then` on `uses`), `orchestra.yaml` and
 * `orchestra.policy.yaml`. No `$id`: the schemas are files, referenced by path.
 *
 * @module
 */

import { z } from "zod";
import { PERMISSION_NAMES } from "../../core/permissions.ts";
import { SETTING_SPECS } from "../../config/settings.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import { pluginManifest } from "../../plugins/contract.ts";
import { workflowSchema } from "./github_schema.ts";
import { chestraSchema, DURATION_PATTERN, flowSchema } from "./schema.ts";

type Json = Record<string, unknown>;

const DRAFT = "https://json-schema.org/draft/2020-12/schema";

/** The JSON Schema of flow files (the three forms), for editors. */
export function flowJsonSchema(): Json {
  const schema = z.toJSONSchema(z.union([flowSchema, workflowSchema, chestraSchema]), {
    target: "draft-2020-12",
    unrepresentable: "any",
    io: "input",
  }) as Json;
  refine(schema);
  walk(schema, durationMessages);
  return {
    $schema: DRAFT,
    title: "Orchestra flow",
    description: "A flow for Orchestra: tasks in GitHub Actions' vocabulary, a GitHub " +
      "Actions workflow of `run:` steps, or Chestra's `workflow:` form.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

function walk(node: unknown, visit: (n: Json) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node !== null && typeof node === "object") {
    visit(node as Json);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

// Editors show a schema's own message for a value that does not fit (yaml-language-server
// reads errorMessage and patternErrorMessage): the loader's words, not "Value must be 0".
function durationMessages(n: Json): void {
  const branches = n.anyOf as Json[] | undefined;
  if (branches?.length !== 2 || branches[1].pattern !== DURATION_PATTERN) return;
  branches[0].errorMessage = 'a bare number has no unit: write "5m" for minutes or "5ms" for ' +
    "milliseconds (or use timeout-minutes)";
  branches[1].patternErrorMessage = 'expected a duration with its unit, such as "500ms", ' +
    '"30s", "10m" or "1h30m"';
}

// The rules between keys, added where the loader checks them: in the tasks of a flow, in
// the jobs of a workflow, in params.
function refine(schema: Json): void {
  const [flow, workflow] = schema.anyOf as Json[];
  const f = flow.properties as Json;
  for (const branch of (f.tasks as Json).anyOf as Json[]) {
    if (branch.type === "array") {
      // A copy: the generator may share one object between the two forms.
      const items = branch.items = structuredClone(branch.items) as Json;
      taskRules(items);
      items.anyOf = [{ required: ["id"] }, { required: ["name"] }];
      items.description = "A task; in a list it needs an `id` (or a `name`, its id then)";
    } else taskRules(branch.additionalProperties as Json);
  }
  for (const spec of ((f.params as Json).additionalProperties as Json).anyOf as Json[]) {
    if (spec.type === "object") paramRules(spec);
  }
  const job = ((workflow.properties as Json).jobs as Json).additionalProperties as Json;
  job.not = { required: ["uses", "steps"], description: "A reusable workflow has no steps" };
}

function taskRules(task: Json): void {
  task.allOf = [
    {
      not: {
        anyOf: [["run", "uses"], ["run", "steps"], ["uses", "steps"]].map((r) => ({
          required: r,
        })),
      },
      description: "A task runs a command (`run`), runs `steps`, or uses a plugin (`uses`)",
    },
    ...pluginRules(),
  ];
  task.dependentRequired = { with: ["uses"], concurrency: ["foreach"] };
}

const TYPES: Record<string, Json> = {
  string: { type: "string" },
  integer: { type: "integer" },
  number: { type: "number" },
  boolean: { type: "boolean" },
  array: { type: "array" },
  object: { type: "object" },
};

// A param's default (and enum values) must be of its type.
function paramRules(param: Json): void {
  param.allOf = Object.entries(TYPES).map(([type, schema]) => ({
    if: { properties: { type: { const: type } }, required: ["type"] },
    then: { properties: { default: schema, enum: { items: schema } } },
  }));
}

/** Each built-in plugin's params as the schema of `with:`, when `uses` names it. */
function pluginRules(): Json[] {
  return [...BUILTIN_PLUGINS.values()].map((def) => {
    const m = pluginManifest(def);
    const params = { ...m.params } as Json;
    delete params.$schema;
    params.description = `The params of the ${m.name} plugin: ${m.description}`;
    return {
      if: {
        properties: { uses: { pattern: `^${m.name}(@.*)?$` } },
        required: ["uses"],
      },
      then: { properties: { with: params } },
    };
  });
}

const PERMISSION_PATTERNS: Json = {
  type: "object",
  additionalProperties: false,
  description: "Deno permissions, as for the --allow-* flags, with * patterns",
  properties: Object.fromEntries(PERMISSION_NAMES.map((n) => [n, {
    description: `--allow-${n}: true, or a list of values (patterns with *)`,
    anyOf: [{ type: "boolean" }, { type: "array", items: { type: "string" } }],
  }])),
};

const DURATION = {
  description: 'A duration: "500ms", "5s", "1m"',
  anyOf: [{ type: "string" }, { type: "number", minimum: 0 }],
};

/** The JSON Schema of `orchestra.policy.yaml`. */
export function policyJsonSchema(): Json {
  const pattern = (what: string) => ({
    description: `${what}: a name, a * pattern, or a list of them; leave out for every ${what}`,
    anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
  });
  const rule = {
    type: "object",
    additionalProperties: false,
    description: "A rule: which flows, tasks and plugins it is about, and what it allows or denies",
    properties: {
      flow: pattern("flow"),
      task: pattern("task"),
      plugin: pattern("plugin"),
      permissions: PERMISSION_PATTERNS,
      reason: { type: "string", description: "Why, shown when the rule denies something" },
    },
  };
  return {
    $schema: DRAFT,
    title: "Orchestra policy",
    description: "orchestra.policy.yaml: what tasks on this host may be granted",
    type: "object",
    additionalProperties: false,
    properties: {
      default: {
        enum: ["allow", "deny"],
        description: "What no rule decides: allow (the default) or deny",
      },
      allow: { type: "array", items: rule, description: "Rules that allow" },
      deny: { type: "array", items: rule, description: "Rules that deny (they win)" },
      authorization: {
        type: "object",
        additionalProperties: false,
        required: ["url"],
        description: "A service asked about each task's grant",
        properties: {
          url: { type: "string", pattern: "^https?://", description: "Where to ask" },
          timeout: { ...DURATION, description: "How long to wait for an answer" },
          cacheTtl: { ...DURATION, description: "How long an answer is kept" },
          onError: {
            enum: ["deny", "allow"],
            description: "What to decide when the service cannot answer (default deny)",
          },
        },
      },
    },
  };
}

/** The JSON Schema of `orchestra.yaml`: every setting, under its name or its kebab-case key. */
export function configJsonSchema(): Json {
  const properties: Json = {};
  for (const s of SETTING_SPECS) {
    const schema: Json = { description: `${s.description} (also ${s.env}, ${s.flag})` };
    if (s.kind === "paths") schema.type = "array", schema.items = { type: "string" };
    else if (s.kind === "count") schema.type = "integer", schema.minimum = 1;
    else if (s.kind === "choice") schema.enum = [...s.choices ?? []];
    else schema.type = "string";
    properties[s.key] = schema;
    if (s.kebab !== s.key) properties[s.kebab] = { ...schema };
  }
  return {
    $schema: DRAFT,
    title: "Orchestra configuration",
    description: "orchestra.yaml: settings; environment variables and flags override them",
    type: "object",
    additionalProperties: false,
    properties,
  };
}

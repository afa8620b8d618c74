/**
 * The YAML flow format, defined once: the loader validates with these schemas and
 * `orchestra schema` prints the JSON Schema generated from them, so editors check exactly
 * what the loader accepts.
 *
 * @module
 */

import { z } from "zod";
import { EXECUTOR_KINDS } from "../../core/model.ts";
import { PERMISSION_NAMES } from "../../core/permissions.ts";

const PARAM_TYPES = ["string", "integer", "number", "boolean", "array", "object"] as const;

const duration = z.union([z.number().nonnegative(), z.string()], {
  error: 'expected a duration such as "500ms", "30s", "10m", "1h" or a number of milliseconds',
}).describe('A duration: "500ms", "30s", "10m", "1h30m", or milliseconds');

const expression = z.string().describe("Text that may contain ${{ … }} expressions");

const stringList = z.union([z.string(), z.array(z.string())], {
  error: "expected a task id or a list of task ids",
});

const permissionValue = z.union([z.boolean(), z.array(z.string())], {
  error: "expected true, false or a list of values as for Deno's --allow-* flags",
});

/** Deno permissions, as for the `--allow-*` flags. */
export const permissionsSchema = z.strictObject(
  Object.fromEntries(PERMISSION_NAMES.map((n) => [n, permissionValue.optional()])) as Record<
    typeof PERMISSION_NAMES[number],
    z.ZodOptional<typeof permissionValue>
  >,
).describe("Deno permissions: read, write, net, env, run, ffi, sys, import");

const retries = z.union([
  z.number().int().min(0).describe("Extra attempts after the first"),
  z.strictObject({
    attempts: z.number().int().min(1).optional().describe("Total attempts, including the first"),
    delay: duration.optional().describe("Delay before the first retry (default 1s)"),
    backoff: z.number().min(1).optional().describe("Growth factor of the delay (default 2)"),
    maxDelay: duration.optional().describe("Upper bound of a delay (default 5m)"),
    jitter: z.number().min(0).max(1).optional().describe("Random spread, 0..1 (default 0)"),
  }),
], {
  error: "expected a number of extra attempts or { attempts, delay, backoff, maxDelay, jitter }",
});

const cache = z.union([
  z.boolean(),
  z.strictObject({
    ttl: duration.optional().describe("How long a result stays valid (default 1h)"),
    key: expression.optional().describe("An expression giving the cache key"),
  }),
], { error: "expected true or { ttl, key }" });

const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: "expected a string, number or boolean",
});

/** Settings shared by tasks and `defaults`. */
const settings = {
  timeout: duration.optional().describe("Per-attempt time limit"),
  retries: retries.optional(),
  priority: z.number().optional().describe("Higher starts first among ready tasks"),
  executor: z.enum(EXECUTOR_KINDS).optional().describe("Where the task runs"),
  permissions: permissionsSchema.optional(),
  cache: cache.optional().describe("Cache results by task and inputs"),
  "continue-on-error": z.boolean().optional().describe(
    "Downstream tasks run and the flow does not fail when this task fails",
  ),
};

/** One task, in GitHub Actions' vocabulary. */
export const taskFields = {
  id: z.string().optional().describe("The task's id (in a list of tasks)"),
  name: z.string().optional().describe("The task's id, when `id` is not given"),
  description: z.string().optional(),
  extends: z.string().optional().describe("A template (from `templates:`) this task builds on"),
  needs: stringList.optional().describe("Tasks that must finish first"),
  if: z.union([expression, z.boolean()], { error: "expected an expression or a boolean" })
    .optional().describe("Run only when this is true; success(), failure(), always(), cancelled()"),
  run: expression.optional().describe("A shell command (sh -c); its stdout is the result"),
  uses: z.string().optional().describe(
    "A plugin: NAME or NAME@range (plugin folders, then built-ins), a path relative to the " +
      "flow file, a pinned https: URL, or a jsr:/npm: specifier with a version",
  ),
  with: z.record(z.string(), z.unknown()).optional().describe("The plugin's params"),
  env: z.record(z.string(), scalar).optional().describe("Environment variables of the command"),
  "working-directory": z.string().optional().describe(
    "Where the command runs, relative to the flow file",
  ),
  foreach: z.union([expression, z.array(z.unknown())], {
    error: "expected an expression or a list",
  }).optional().describe("Run once per item; `item` and `index` inside"),
  concurrency: z.number().int().min(1).optional().describe("With foreach: items at once"),
  outputs: z.record(z.string(), expression).optional().describe(
    "Named outputs, computed from `result`",
  ),
  ...settings,
};

/** A task. */
export const taskSchema = z.strictObject(taskFields).describe("A task");

/** A template: a task shape other tasks extend. */
export const templateSchema = z.strictObject(taskFields).partial().describe("A task template");

const paramSpec = z.union([
  z.enum(PARAM_TYPES),
  z.strictObject({
    type: z.enum(PARAM_TYPES),
    default: z.unknown().optional(),
    description: z.string().optional(),
    enum: z.array(z.unknown()).optional(),
    required: z.boolean().optional(),
  }),
], {
  error: `expected a type (${
    PARAM_TYPES.join(", ")
  }) or { type, default, description, enum, required }`,
});

/** One entry of `schedule:` (src/core/schedule.ts checks the cron and the time zone). */
const scheduleEntry = z.strictObject({
  cron: z.string().describe(
    'When: five fields, minute hour day-of-month month day-of-week ("30 5 * * 1-5"), or @daily…',
  ),
  timezone: z.string().optional().describe('The IANA time zone of `cron` (default "UTC")'),
  params: z.record(z.string(), z.unknown()).optional().describe("Params of the runs it starts"),
  catchup: z.strictObject({
    window: duration.optional().describe("How far back missed ticks count (default 1h)"),
    policy: z.enum(["skip", "latest", "all"]).optional().describe(
      "Which missed ticks run after a restart: none (default), the last one, or each",
    ),
  }).optional(),
  overlap: z.enum(["skip", "buffer-one", "allow", "cancel-other"]).optional().describe(
    "A tick while the last run goes on: skip it (default), keep one, run both, or cancel the last",
  ),
}).describe("A schedule entry: `orchestra serve` runs the flow at these times");

/** The top level of a flow file, in GitHub Actions' vocabulary. */
export const flowFields = {
  $schema: z.string().optional(),
  name: z.string().optional().describe("The flow's name (default: the file name)"),
  description: z.string().optional(),
  params: z.record(z.string(), paramSpec).optional().describe("The flow's params"),
  env: z.record(z.string(), scalar).optional().describe("Environment of every task"),
  permissions: permissionsSchema.optional().describe("The ceiling no task may exceed"),
  defaults: z.strictObject(settings).optional().describe("Settings every task gets"),
  concurrency: z.number().int().min(1).optional().describe("The most tasks running at once"),
  schedule: z.array(scheduleEntry).optional().describe("When `orchestra serve` runs the flow"),
  on: z.looseObject({
    schedule: z.array(scheduleEntry).optional().describe("GitHub's form of `schedule:`"),
  }).optional().describe("GitHub's triggers: `schedule` is read, the others are ignored"),
  handlers: z.strictObject({
    failure: taskSchema.optional().describe("A task that runs when a task of the flow failed"),
    success: taskSchema.optional().describe("A task that runs when every task succeeded"),
    exit: taskSchema.optional().describe("A task that runs last, whatever happened"),
  }).optional().describe("Tasks that run when the flow has ended: e.g. `uses: notify`"),
  templates: z.record(z.string(), templateSchema).optional(),
  include: stringList.optional().describe("Other files whose templates and tasks join this one"),
  tasks: z.union([
    z.record(z.string(), taskSchema),
    z.array(taskSchema),
  ], { error: "expected a mapping of id → task, or a list of tasks with `id` or `name`" })
    .optional(),
};

/** The top level of a flow file, strictly. */
export const flowSchema = z.strictObject(flowFields);

/** Chestra's format: `workflow:` with a list of tasks joined by signal names. */
export const chestraSchema = z.strictObject({
  $schema: z.string().optional(),
  workflow: z.strictObject({
    name: z.string().describe("The workflow's name"),
    description: z.string().optional(),
    tasks: z.array(z.strictObject({
      name: z.string().describe("The task's name (its id)"),
      plugin: z.string().describe("The plugin that does the work"),
      inputs: z.array(z.string()).optional().describe("Signals to wait for"),
      outputs: z.array(z.string()).optional().describe("Signals emitted on success"),
      params: z.record(z.string(), z.unknown()).optional().describe("The plugin's params"),
    })),
  }),
});

/** The JSON Schema of flow files (both forms), for editors. */
export function flowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(z.union([flowSchema, chestraSchema]), {
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: "https://orchestra.dev/schema/flow.schema.json",
    title: "Orchestra flow",
    description: "A workflow for Orchestra: tasks in GitHub Actions' vocabulary, or Chestra's " +
      "`workflow:` form.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

/** The key names a mapping accepts, for "did you mean". */
export const TASK_KEYS: readonly string[] = Object.keys(taskFields);
/** Top-level keys. */
export const FLOW_KEYS: readonly string[] = Object.keys(flowFields);
/** Keys of `defaults`. */
export const DEFAULT_KEYS: readonly string[] = Object.keys(settings);

export { z };

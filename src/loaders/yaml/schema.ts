/**
 * The YAML flow format, defined once: the loader validates with these schemas and
 * `orchestra schema` prints the JSON Schema generated from them (see `json_schema.ts`), so
 * editors check exactly what the loader accepts and show the same descriptions.
 *
 * @module
 */

import { z } from "zod";
import { EXECUTOR_KINDS } from "../../core/model.ts";
import { PERMISSION_NAMES } from "../../core/permissions.ts";

const PARAM_TYPES = ["string", "integer", "number", "boolean", "array", "object"] as const;

/** A duration with its unit: `500ms`, `30s`, `10m`, `1h30m`, `2d`. */
export const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?(ms|s|m|h|d))+\\s*$";

const DURATION_HELP = 'a duration with its unit, such as "500ms", "30s", "10m" or "1h30m"';

// A bare number is refused: GitHub's `timeout-minutes: 5` means minutes and a TypeScript
// `timeout: 5` means milliseconds, so a unit-less 5 would mean different things to different
// readers. Zero needs no unit.
const duration = z.union([
  z.literal(0),
  z.string().regex(new RegExp(DURATION_PATTERN), { error: `expected ${DURATION_HELP}` }),
], {
  error: (issue) =>
    typeof issue.input === "number"
      ? `a bare number has no unit: write "${issue.input}m" for minutes or "${issue.input}ms" ` +
        `for milliseconds (or use timeout-minutes: ${issue.input})`
      : `expected ${DURATION_HELP}`,
}).describe(
  `A duration with its unit: "500ms", "30s", "10m", "1h30m", "2d". A bare number is refused ` +
    "(write the unit; `timeout-minutes:` takes minutes), except 0",
);

const expression = z.string().describe("Text that may contain ${{ … }} expressions");

// YAML reads `needs: 1` and `id: 2` as numbers: task ids may be numbers, kept as text.
const id = z.union([z.string(), z.number()], { error: "expected a task id" }).transform(String);

const stringList = z.union([id, z.array(id)], {
  error: "expected a task id or a list of task ids",
});

const permissionValue = z.union([z.boolean(), z.array(z.string())], {
  error: "expected true, false or a list of values as for Deno's --allow-* flags",
});

const PERMISSION_HELP: Record<string, string> = {
  read: "Paths the task may read (relative to the flow file), or true for all",
  write: "Paths the task may write (relative to the flow file), or true for all",
  net: "Hosts (host[:port], *.example.com) the task may reach, or true for all",
  env: "Environment variables the task may read (PREFIX_* allowed), or true for all",
  run: "Programs the task may start, or true for all (leaves Deno's sandbox)",
  ffi: "Native libraries the task may load, or true for all",
  sys: "Kinds of system information (hostname, osRelease, …) the task may read, or true",
  import: "Hosts the task may import remote modules from, or true for all",
};

/** Deno permissions, as for the `--allow-*` flags. */
export const permissionsSchema = z.strictObject(
  Object.fromEntries(
    PERMISSION_NAMES.map((n) => [n, permissionValue.optional().describe(PERMISSION_HELP[n])]),
  ) as Record<typeof PERMISSION_NAMES[number], z.ZodOptional<typeof permissionValue>>,
).describe(
  "Deno permissions, in the vocabulary of the --allow-* flags: read, write, net, env, run, " +
    "ffi, sys, import",
);

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

const booleanOrExpression = z.union([
  z.boolean(),
  z.string().regex(/\$\{\{/, { error: "expected true, false or a ${{ … }} expression" }),
], {
  error: "expected true, false or a ${{ … }} expression",
}).describe("true, false, or a ${{ … }} expression");

const condition = z.union([z.boolean(), expression], {
  error: "expected an expression or a boolean",
});

/** Settings shared by tasks and `defaults`. */
const settings = {
  timeout: duration.optional().describe(
    'Per-attempt time limit, with its unit ("30s", "10m"); a bare number is refused',
  ),
  "timeout-minutes": z.number().positive().optional().describe(
    "Per-attempt time limit in minutes, as in GitHub Actions (may be fractional)",
  ),
  retries: retries.optional().describe(
    "Extra attempts after a failure: a number, or { attempts, delay, backoff, maxDelay, jitter }",
  ),
  priority: z.number().optional().describe("Higher starts first among ready tasks (default 0)"),
  executor: z.enum(EXECUTOR_KINDS).optional().describe(
    "Where the task runs: inline, worker or process (commands always run as processes)",
  ),
  permissions: permissionsSchema.optional(),
  cache: cache.optional().describe("Cache results by task and inputs: true, or { ttl, key }"),
  "continue-on-error": booleanOrExpression.optional().describe(
    "When true, a failure of this task does not fail the flow and its dependents still run; " +
      "an expression may read matrix values",
  ),
};

const shell = z.string().min(1).describe(
  "The shell that runs `run:`: sh (sh -e), bash (bash --noprofile --norc -eo pipefail), " +
    "python, or a command with {0} for the script file. Without it a task runs sh -c and a " +
    "GitHub job's step runs bash -e",
);

/** `defaults.run` of GitHub Actions: how `run:` steps run unless they say otherwise. */
export const runDefaults = z.strictObject({
  shell: shell.optional(),
  "working-directory": z.string().optional().describe(
    "Where commands run, relative to the flow file",
  ),
}).describe("How `run:` commands run unless a task or step says otherwise");

/** One step of a task (or a GitHub job): a command, run after the previous step. */
export const stepSchema = z.strictObject({
  id: z.string().optional().describe("The step's id, for steps.<id>.outputs and .outcome"),
  name: z.string().optional().describe("The step's display name"),
  if: condition.optional().describe(
    "Run the step only when this is true; success() (the default), failure(), always(), " +
      "cancelled() look at the previous steps",
  ),
  run: expression.optional().describe("The command; its output goes to the task's log"),
  uses: z.string().optional().describe(
    "A GitHub action: not supported here (a clear error says what to use instead)",
  ),
  with: z.record(z.string(), z.unknown()).optional().describe("The action's inputs (with uses)"),
  env: z.record(z.string(), scalar).optional().describe("Environment variables of the step"),
  shell: shell.optional(),
  "working-directory": z.string().optional().describe(
    "Where the command runs, relative to the flow file",
  ),
  "continue-on-error": booleanOrExpression.optional().describe(
    "When true, a failure of this step does not fail the task (its outcome is failure, its " +
      "conclusion success)",
  ),
  "timeout-minutes": z.number().positive().optional().describe("Time limit of the step"),
}).describe("A step: a `run:` command, with its id, name, env, if, shell and directory");

const matrix = z.union([
  z.record(z.string(), z.unknown()).describe(
    "Each key a list of values (every combination is a leg), plus `include` and `exclude`",
  ),
  expression,
], { error: "expected a mapping of lists (with include and exclude), or an expression" });

/** `strategy:` of GitHub Actions. */
export const strategySchema = z.strictObject({
  matrix: matrix.describe(
    "Run the task once per combination (a leg, id task[key=value,…]); `include` adds or " +
      "extends legs, `exclude` removes them; read values as ${{ matrix.key }}",
  ),
  "fail-fast": booleanOrExpression.optional().describe(
    "When a leg fails, stop the other legs (default true)",
  ),
  "max-parallel": z.number().int().min(1).optional().describe(
    "The most legs running at once (default: all)",
  ),
}).describe("A matrix of legs, as GitHub's strategy");

/** One task, in GitHub Actions' vocabulary. */
export const taskFields = {
  id: id.optional().describe("The task's id (in a list of tasks)"),
  name: z.string().optional().describe(
    "The task's display name, shown in the view; in a list without `id`, also its id",
  ),
  description: z.string().optional().describe("One line on what the task does"),
  extends: z.string().optional().describe("A template (from `templates:`) this task builds on"),
  needs: stringList.optional().describe("Tasks that must finish first: an id or a list"),
  if: condition.optional().describe(
    "Run only when this is true; success(), failure(), always(), cancelled() look at every " +
      "task upstream",
  ),
  run: expression.optional().describe(
    "A shell command; its output (text, or JSON with `output: json`) is the result. Values " +
      "of ${{ }} reach it as data, never as shell code",
  ),
  shell: shell.optional(),
  output: z.enum(["text", "json"]).optional().describe(
    "How the command's output becomes the result: text (trimmed, the default) or json",
  ),
  steps: z.array(stepSchema).optional().describe(
    "Commands run one after the other in this task, like a GitHub job's steps",
  ),
  uses: z.string().optional().describe(
    "A plugin: NAME or NAME@range (plugin folders, then built-ins), a path relative to the " +
      "flow file, a pinned https: URL, or a jsr:/npm: specifier with a version",
  ),
  with: z.record(z.string(), z.unknown()).optional().describe("The plugin's params (with uses)"),
  env: z.record(z.string(), scalar).optional().describe("Environment variables of the command"),
  "working-directory": z.string().optional().describe(
    "Where the command runs, relative to the flow file",
  ),
  foreach: z.union([expression, z.array(z.unknown())], {
    error: "expected an expression or a list",
  }).optional().describe("Run once per item of a list; read ${{ item }} and ${{ index }}"),
  concurrency: z.number().int().min(1).optional().describe(
    "With foreach: the most items running at once",
  ),
  strategy: strategySchema.optional(),
  outputs: z.record(z.string(), expression).optional().describe(
    "Named outputs, computed from `result` (and `steps`); read as tasks.<id>.outputs.<name>",
  ),
  ...settings,
};

/** A task. */
export const taskSchema = z.strictObject(taskFields).describe("A task");

/** A template: a task shape other tasks extend. */
export const templateSchema = z.strictObject(taskFields).partial().describe(
  "A task template: the settings tasks that `extends:` it start from",
);

/** A param's declaration. */
export const paramSpecSchema = z.union([
  z.enum(PARAM_TYPES).describe("The param's type"),
  z.strictObject({
    type: z.enum(PARAM_TYPES).describe(
      "The param's type: string, integer, number, boolean, array or object",
    ),
    default: z.unknown().optional().describe("The value when none is given (of the type)"),
    description: z.string().optional().describe("What the param is for"),
    enum: z.array(z.unknown()).optional().describe("The values allowed"),
    required: z.boolean().optional().describe("Whether a run must give it"),
  }),
], {
  error: `expected a type (${
    PARAM_TYPES.join(", ")
  }) or { type, default, description, enum, required }`,
});

/** `defaults:`: settings every task gets, and how commands run. */
export const defaultsSchema = z.strictObject({
  ...settings,
  run: runDefaults.optional(),
}).describe("Settings every task gets unless it sets its own");

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
  }).optional().describe("What runs for ticks missed while no server ran"),
  overlap: z.enum(["skip", "buffer-one", "allow", "cancel-other"]).optional().describe(
    "A tick while the last run goes on: skip it (default), keep one, run both, or cancel the last",
  ),
}).describe("A schedule entry: `orchestra serve` runs the flow at these times");

/** The top level of a flow file, in GitHub Actions' vocabulary. */
export const flowFields = {
  $schema: z.string().optional().describe("The JSON Schema of this file, for editors"),
  name: z.string().optional().describe("The flow's name (default: the file name)"),
  description: z.string().optional().describe("What the flow does"),
  params: z.record(z.string(), paramSpecSchema).optional().describe(
    "The flow's params: name → type, or { type, default, description, enum, required }",
  ),
  env: z.record(z.string(), scalar).optional().describe("Environment of every task"),
  permissions: permissionsSchema.optional().describe(
    "The ceiling no task may exceed, in Deno's vocabulary",
  ),
  defaults: defaultsSchema.optional(),
  concurrency: z.number().int().min(1).optional().describe("The most tasks running at once"),
  schedule: z.array(scheduleEntry).optional().describe("When `orchestra serve` runs the flow"),
  handlers: z.strictObject({
    failure: taskSchema.optional().describe("A task that runs when a task of the flow failed"),
    success: taskSchema.optional().describe("A task that runs when every task succeeded"),
    exit: taskSchema.optional().describe("A task that runs last, whatever happened"),
  }).optional().describe("Tasks that run when the flow has ended: e.g. `uses: notify`"),
  templates: z.record(z.string(), templateSchema).optional().describe(
    "Task shapes that tasks extend",
  ),
  include: z.union([z.string(), z.array(z.string())], {
    error: "expected a path or a list of paths",
  }).optional().describe("Other files whose templates and tasks join this one"),
  tasks: z.union([
    z.record(z.string(), taskSchema),
    z.array(taskSchema),
  ], { error: "expected a mapping of id → task, or a list of tasks with `id` or `name`" })
    .optional().describe("The tasks: a mapping of id → task, or a list with `id` or `name`"),
};

/** The top level of a flow file, strictly. */
export const flowSchema = z.strictObject(flowFields).describe("An Orchestra flow");

/** Chestra's format: `workflow:` with a list of tasks joined by signal names. */
export const chestraSchema = z.strictObject({
  $schema: z.string().optional().describe("The JSON Schema of this file, for editors"),
  workflow: z.strictObject({
    name: z.string().describe("The workflow's name"),
    description: z.string().optional().describe("What the workflow does"),
    tasks: z.array(
      z.strictObject({
        name: z.string().describe("The task's name (its id)"),
        plugin: z.string().describe("The plugin that does the work"),
        inputs: z.array(z.string()).optional().describe("Signals to wait for"),
        outputs: z.array(z.string()).optional().describe("Signals emitted on success"),
        params: z.record(z.string(), z.unknown()).optional().describe("The plugin's params"),
      }).describe("A task of the workflow"),
    ).describe("The workflow's tasks"),
  }).describe("Chestra's workflow: tasks joined by the signals they wait for and emit"),
}).describe("A Chestra workflow");

/** The key names a mapping accepts, for "did you mean". */
export const TASK_KEYS: readonly string[] = Object.keys(taskFields);
/** Top-level keys. */
export const FLOW_KEYS: readonly string[] = Object.keys(flowFields);
/** Keys of `defaults`. */
export const DEFAULT_KEYS: readonly string[] = [...Object.keys(settings), "run"];
/** Keys of a step. */
export const STEP_KEYS: readonly string[] = Object.keys(stepSchema.shape);
/** Keys of `strategy`. */
export const STRATEGY_KEYS: readonly string[] = Object.keys(strategySchema.shape);

export { z };
